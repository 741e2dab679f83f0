"""How the router's training grows with the number of bots.

The router is one classifier whose labels are the bots, trained on every bot's examples
(`plaza/nlu/project.py`, `router_data`).  Adding or changing a bot retrains that bot's model and
the router; this measures what the router's retraining costs as bots are added.  No app with
many bots ships with Plaza, so each Banking77 and SNIPS training intent stands in for a bot
(its examples are the bot's examples, about 130 and 1,900).  Routing accuracy is measured on the
test messages of the same intents: 20, 40 and 77 Banking77 "bots" (test: banking77/test.jsonl,
never used to tune anything), then all 84 with SNIPS's seven (SNIPS dev for those).  Each size
trains in a fresh process, so its peak memory is its own.

    python bench/nlu/router_scale.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

DATA = Path("/work/shared/data/nlu")

CHILD = """
import json, resource, statistics, sys, time
from plaza.nlu.model import IntentEntityModel
from plaza.nlu.types import Example, TrainingData
rows = json.loads(sys.stdin.read())
train = TrainingData(examples=[Example(t, bot) for t, bot in rows["train"]])
start = time.perf_counter()
router = IntentEntityModel.train(train)
seconds = time.perf_counter() - start
times, right = [], 0
for text, bot in rows["test"]:
    t0 = time.perf_counter()
    out = router.parse(text)
    times.append((time.perf_counter() - t0) * 1000)
    right += out.intent_ranking[0].name == bot
times.sort()
print(json.dumps({"train_seconds": round(seconds, 2),
                  "routing_accuracy": round(right / len(rows["test"]), 4),
                  "parse_ms_p50": round(times[len(times) // 2], 3),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def read(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [(row["text"], row["intent"]) for row in map(json.loads, fh)]


def main() -> None:
    banking_train, banking_test = read(DATA / "banking77/train.jsonl"), read(DATA / "banking77/test.jsonl")
    snips_train, snips_dev = read(DATA / "snips/train.jsonl"), read(DATA / "snips/dev.jsonl")
    intents = sorted({bot for _, bot in banking_train})
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores;"
        " each intent stands in for a bot"
    )
    for n in (20, 40, 77, 84):
        bots = set(intents[: min(n, 77)])
        train = [r for r in banking_train if r[1] in bots]
        test = [r for r in banking_test if r[1] in bots]
        if n > 77:
            train += snips_train
            test += snips_dev
        out = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps({"train": train, "test": test}),
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({"bots": n, "examples": len(train), "test_messages": len(test), **figures}))


if __name__ == "__main__":
    main()
