"""Load benchmark of a running Rasa server (the `rasa init` moodbot) over its REST channel.

The same approach and table as `bench/load.py`, pointed at a Rasa server that is already running
(this script does not start Rasa; see bench/rasa/README.md).  Each virtual user holds one of the
moodbot's own dialogues at a time ("hi" -> "I am sad" -> "yes" -> "bye", ...), as its own sender,
and checks every answer: an empty answer, an HTTP error or an answer without the moodbot's
expected response counts as an error (and the user starts a new dialogue).  Each dialogue is a
new sender id (`vu-<run>-<level>-<user>-<n>`) so trackers stay short, as for real users; Rasa's
in-memory tracker store would otherwise replay an ever longer history on every turn.

Reported per concurrency level (1, 8, 32 by default): turns per second, latency p50/p95/p99,
errors, turns; with `--pid`, the server's resident memory (VmRSS) and peak (VmHWM) before,
after the warm-up and after the run, read from /proc and summed over the process and its
descendants (so the pid of a wrapper such as `nohup ... &` in a subshell also works).

    # in the moodbot folder, with Rasa's venv:  rasa run --enable-api -p 5105 -i 127.0.0.1
    python bench/rasa_rest.py http://127.0.0.1:5105 [--seconds 30] [--levels 1,8,32] [--pid PID]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from load import (  # bench/load.py: the same results and arithmetic for both servers
    LevelResult,
    cpu_model,
    print_table,
)

WEBHOOK = "/webhooks/rest/webhook"

# The moodbot's responses (domain.yml written by `rasa init`, Rasa 3.6).
GREET = "Hey! How are you?"
CHEER_UP = "Here is something to cheer you up:"
DID_THAT_HELP = "Did that help you?"
HAPPY = "Great, carry on!"
GOODBYE = "Bye"
IAMABOT = "I am a bot, powered by Rasa."

# (message, responses the answer must contain), following the moodbot's stories and rules.
DIALOGUES: list[list[tuple[str, tuple[str, ...]]]] = [
    [("hi", (GREET,)), ("I am sad", (CHEER_UP, DID_THAT_HELP)), ("yes", (HAPPY,)), ("bye", (GOODBYE,))],
    [("hello", (GREET,)), ("I am great", (HAPPY,)), ("are you a bot?", (IAMABOT,)), ("goodbye", (GOODBYE,))],
    [("hey", (GREET,)), ("very sad", (CHEER_UP, DID_THAT_HELP)), ("no", (GOODBYE,))],
    [("good morning", (GREET,)), ("super stoked", (HAPPY,)), ("see you later", (GOODBYE,))],
]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a `nohup`/shell wrapper's pid finds the server under it)."""
    found = [pid]
    for current in found:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            found.extend(int(c) for c in children)
    return found


def proc_memory_mb(pid: int | None) -> dict[str, float] | None:
    """VmRSS and VmHWM summed over ``pid`` and its descendants, and the largest single process's."""
    if pid is None:
        return None
    found: dict[str, float] = {"VmRSS": 0.0, "VmHWM": 0.0, "largest_VmRSS": 0.0, "processes": 0}
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        found["processes"] += 1
        for line in status:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                value = int(line.split()[1]) / 1024
                found[key] = round(found[key] + value, 1)
                if key == "VmRSS":
                    found["largest_VmRSS"] = max(found["largest_VmRSS"], round(value, 1))
    return found if found["processes"] else None


@dataclass
class RasaLevel(LevelResult):
    """bench/load.py's level, counting the moodbot dialogues completed instead of lost tables."""

    dialogues: int = 0

    def row(self) -> dict[str, Any]:
        row = super().row()
        del row["last_table_taken"]
        return {**row, "dialogues_completed": self.dialogues}


def check(expected: tuple[str, ...], answer: Any) -> str | None:
    if not isinstance(answer, list) or not answer:
        return "no reply"
    texts = [str(m.get("text") or "") for m in answer if isinstance(m, dict)]
    if not any(texts) and not any(isinstance(m, dict) and m.get("image") for m in answer):
        return "empty reply"
    missing = [e for e in expected if e not in texts]
    if missing:
        return f"expected {missing!r}, got {texts!r}"
    return None


async def run_level(
    session: aiohttp.ClientSession, url: str, concurrency: int, seconds: float, run_id: str
) -> RasaLevel:
    result = RasaLevel("rasa", concurrency)
    deadline = time.perf_counter() + seconds

    async def user(index: int) -> None:
        dialogue_no = 0
        step = 0
        script = DIALOGUES[index % len(DIALOGUES)]
        sender = f"vu-{run_id}-{concurrency}-{index}-{dialogue_no}"
        while time.perf_counter() < deadline:
            message, expected = script[step]
            started = time.perf_counter()
            problem: str | None
            try:
                async with session.post(url, json={"sender": sender, "message": message}) as response:
                    status = response.status
                    answer = await response.json(content_type=None)
                problem = f"HTTP {status}" if status >= 400 else check(expected, answer)
            except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError) as exc:
                problem = repr(exc)
            else:
                result.latencies.append(time.perf_counter() - started)
                result.turns += 1
            step += 1
            if problem is not None:
                result.errors += 1
                if len(result.error_samples) < 10:
                    result.error_samples.append(f"{sender} {message!r}: {problem}")
            elif step == len(script):
                result.dialogues += 1
            if problem is not None or step == len(script):
                dialogue_no += 1
                step = 0
                script = DIALOGUES[(index + dialogue_no) % len(DIALOGUES)]
                sender = f"vu-{run_id}-{concurrency}-{index}-{dialogue_no}"

    began = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(concurrency)))
    result.seconds = time.perf_counter() - began
    return result


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def conditions(args: argparse.Namespace, server_version: str, load_before: str) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "client_python": platform.python_version(),
        "server": server_version,
        "url": args.url,
        "seconds_per_level": args.seconds,
        "warmup_dialogues": args.warmup,
        "client": "aiohttp, same machine, one process",
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="base URL of the running Rasa server, e.g. http://127.0.0.1:5105")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--warmup", type=int, default=len(DIALOGUES), help="dialogues run before measuring")
    parser.add_argument("--pid", type=int, default=None, help="the server's process id, to report its memory")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    base = args.url.rstrip("/")
    run_id = f"{int(time.time())}"
    load_before = load_average()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        async with session.get(base + "/") as response:
            server_version = (await response.text()).strip()
        memory_before = proc_memory_mb(args.pid)
        warm = RasaLevel("rasa", 0)
        for i in range(args.warmup):
            for message, expected in DIALOGUES[i % len(DIALOGUES)]:
                body = {"sender": f"warmup-{run_id}-{i}", "message": message}
                async with session.post(base + WEBHOOK, json=body) as response:
                    problem = check(expected, await response.json(content_type=None))
                if problem is not None:
                    warm.errors += 1
                    warm.error_samples.append(f"warm-up {message!r}: {problem}")
        memory_warm = proc_memory_mb(args.pid)
        results = [
            await run_level(session, base + WEBHOOK, concurrency, args.seconds, run_id)
            for concurrency in levels
        ]
    memory_after = proc_memory_mb(args.pid)

    report: dict[str, Any] = {
        "conditions": conditions(args, server_version, load_before),
        "server_memory_mb": {"before": memory_before, "after_warmup": memory_warm, "after_run": memory_after},
        "levels": [r.row() for r in results],
        "error_samples": (warm.error_samples + [s for r in results for s in r.error_samples])[:10],
    }
    print(json.dumps(report["conditions"], indent=2))
    if args.pid is not None:
        print(f"server memory MB: {json.dumps(report['server_memory_mb'])}")
    print_table(report["levels"], [("turns", "turns", 7)])
    for sample in report["error_samples"]:
        print("error:", sample)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 1 if warm.errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
