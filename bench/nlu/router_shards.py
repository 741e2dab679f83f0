"""The sharded router (`plaza/nlu/router_shards.py`): what routing costs and gains with many bots.

Part 1, accuracy: the 77 Banking77 training intents stand in for 77 bots (as in
`router_scale.py`), routed by one router and by 2, 4 and 8 shards.  Reported on Banking77's test
messages (routing accuracy; the share the router answers `out_of_scope`, i.e. is unsure of) and
on SNIPS's test messages, which belong to none of these bots (the share it is unsure of: an
unsure router still offers its best bot, whose own model decides).  Nothing here was tuned on
either test set.

Part 2, scale: 1,001 bots, each a Banking77 intent offered by one of 13 invented brands and
named in its messages ("... at Velmora"), 130,000 examples in all, in the default shards
(`--shard-bots N` to change; `--brands N` for N × 77 bots: 26 brands make 2,002 bots, 52 make
4,004, the first 13 always those above and the rest invented from syllables).  Each shard trains in a fresh process (its time and peak memory are its own; changing one bot
retrains one shard); then one process loads every shard and routes test messages that name a
brand: accuracy (brand and intent right), parse p50 / p99 and the process's peak memory.

    python bench/nlu/router_shards.py [--part 1|2] [--shard-bots N] [--brands N]

`PLAZA_BENCH_KEEP=DIR` keeps the trained shards in DIR (to profile the parse), instead of a
temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

DATA = Path("/work/shared/data/nlu")
BRANDS = [
    "Velmora", "Quintor", "Braxley", "Ondrial", "Zephyro", "Calloway", "Mirthen",
    "Tessaly", "Korvane", "Lumeris", "Draxton", "Pellino", "Avenza",
]  # fmt: skip
SYLLABLES = ["ka", "lo", "mi", "ren", "tal", "vo", "zu", "bri", "den", "sa", "qui", "nor", "fe", "gal"]
TEMPLATES = ["{text} at {brand}", "{brand}: {text}", "{text} ({brand})", "hi {brand}, {text}"]

TRAIN_SHARD = """
import json, resource, sys, time
from plaza.nlu.model import IntentEntityModel
from plaza.nlu.types import Example, TrainingData
job = json.loads(sys.stdin.read())
data = TrainingData(examples=[Example(t, label) for t, label in job["examples"]])
start = time.perf_counter()
model = IntentEntityModel.train(data)
seconds = time.perf_counter() - start
model.save(job["directory"])
print(json.dumps({"train_seconds": round(seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""

ROUTE = """
import json, resource, sys, time
from plaza.nlu.model import IntentEntityModel
from plaza.nlu.router_shards import ShardedRouter
from plaza.nlu.types import OUT_OF_SCOPE
job = json.loads(sys.stdin.read())
start = time.perf_counter()
shards = [IntentEntityModel.load(d) for d in job["directories"]]
router = ShardedRouter(shards) if len(shards) > 1 else None
load_seconds = time.perf_counter() - start
def answer(text):
    if router is not None:
        return router.parse(text).intent.name
    return shards[0].parse(text).intent.name
for text, _ in job["test"][:200]:  # warm the caches a long-running server would have warm
    answer(text)
times, right, unsure = [], 0, 0
for text, bot in job["test"]:
    t0 = time.perf_counter()
    name = answer(text)
    times.append((time.perf_counter() - t0) * 1000)
    right += name == bot
    unsure += name == OUT_OF_SCOPE
oos_unsure = sum(answer(text) == OUT_OF_SCOPE for text in job["oos"])
times.sort()
n = len(job["test"])
print(json.dumps({"routing_accuracy": round(right / n, 4), "in_scope_unsure": round(unsure / n, 4),
                  "oos_unsure": round(oos_unsure / max(1, len(job["oos"])), 4),
                  "parse_ms_p50": round(times[n // 2], 3), "parse_ms_p99": round(times[int(n * 0.99)], 3),
                  "load_seconds": round(load_seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def read(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [(row["text"], row["intent"]) for row in map(json.loads, fh)]


def child(script: str, job: object) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(job), capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def route_and_report(
    messages: dict[str, list[str]], shard_bots: int, test: list[tuple[str, str]], oos: list[str]
) -> dict[str, object]:
    from plaza.nlu.router_shards import router_shards

    shards = router_shards(messages, shard_bots)
    trained = []
    with tempfile.TemporaryDirectory(prefix="plaza-shards-") as scratch:
        tmp = os.environ.get("PLAZA_BENCH_KEEP", scratch)
        directories = []
        for shard in shards:
            directory = str(Path(tmp) / shard.name)
            examples = [(e.text, e.intent) for e in shard.training.examples]
            trained.append(child(TRAIN_SHARD, {"examples": examples, "directory": directory}))
            directories.append(directory)
        routed = child(ROUTE, {"directories": directories, "test": test, "oos": oos})
    seconds = sorted(t["train_seconds"] for t in trained)
    return {
        "bots": len(messages),
        "examples": sum(map(len, messages.values())),
        "shards": len(shards),
        "largest_shard_examples": max(len(s.training.examples) for s in shards),
        "shard_train_seconds_median": seconds[len(seconds) // 2],
        "shard_train_seconds_max": seconds[-1],
        "all_shards_train_seconds": round(sum(seconds), 1),
        "shard_peak_rss_mb_max": max(t["peak_rss_mb"] for t in trained),
        **routed,
    }


def part_accuracy() -> None:
    train, test = read(DATA / "banking77/train.jsonl"), read(DATA / "banking77/test.jsonl")
    oos = [text for text, _ in read(DATA / "snips/test.jsonl")]
    messages: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        messages[intent].append(text)
    for shard_bots in (77, 39, 20, 10):
        print(json.dumps({"part": 1, **route_and_report(messages, shard_bots, test, oos)}), flush=True)


def brand_names(n: int) -> list[str]:
    """`n` distinct brand names: the 13 of `BRANDS`, then three-syllable inventions."""
    rng = random.Random(13)
    names = list(BRANDS[:n])
    while len(names) < n:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name not in names:
            names.append(name)
    return names


def branded(rows: list[tuple[str, str]], brands: list[str], rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for text, intent in rows:
        brand = rng.choice(brands)
        out.append((rng.choice(TEMPLATES).format(text=text, brand=brand), f"{intent}@{brand}"))
    return out


def part_scale(shard_bots: int, n_brands: int) -> None:
    rng = random.Random(7)
    brands = brand_names(n_brands)
    train, test = read(DATA / "banking77/train.jsonl"), read(DATA / "banking77/test.jsonl")
    messages: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        for brand in brands:
            messages[f"{intent}@{brand}"].append(rng.choice(TEMPLATES).format(text=text, brand=brand))
    sample = rng.sample(test, 1500)
    oos = [text for text, _ in read(DATA / "snips/test.jsonl")]
    report = route_and_report(messages, shard_bots, branded(sample, brands, rng), oos)
    print(json.dumps({"part": 2, "shard_bots": shard_bots, "brands": n_brands, **report}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, choices=(1, 2))
    parser.add_argument("--shard-bots", type=int, help="part 2's bots per shard (default: Plaza's)")
    parser.add_argument("--brands", type=int, default=len(BRANDS), help="part 2's brands (77 bots each)")
    args = parser.parse_args()
    from plaza.nlu.router_shards import DEFAULT_SHARD_BOTS
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()},"
        f" {platform.processor() or 'cpu'}, {os.cpu_count()} cores; default pipeline, each shard trained"
        " in a fresh process, routing in another"
    )
    if args.part in (None, 1):
        part_accuracy()
    if args.part in (None, 2):
        part_scale(args.shard_bots or DEFAULT_SHARD_BOTS, args.brands)


if __name__ == "__main__":
    main()
