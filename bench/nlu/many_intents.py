"""Training time and memory with many intents and `out_of_scope` examples (a CLINC150-sized problem).

The intent classifier's weights are classes × features, and data with `out_of_scope` examples
is calibrated on every fold (four fits instead of two), so a set like CLINC150 (150 intents,
15,000 messages, out-of-scope examples) is the memory-heavy case.  No such set is in
`../shared/data`, so this builds two from training files only:

* `split77`: Banking77's 10,003 training messages with each intent split in two by position (154
  intents) plus 150 SNIPS training messages labelled `out_of_scope`;
* `clinc150-sized`: the same 154 intents, plus 5,000 SNIPS training messages in their own 7
  intents and 100 others labelled `out_of_scope`: 15,103 messages, 162 labels, as many as
  CLINC150's training set.

The splits are arbitrary, so accuracy means nothing here, only time and memory, and the fits
converge more slowly than on real intents: a pessimistic case.  Each configuration trains in a
fresh process, so its peak resident memory is its own.

    python bench/nlu/many_intents.py

Runs: `default`; `one-call` (every class in one liblinear call, as before class groups); and,
when the [embeddings] extra is installed, `minilm` (the sentence encoder forced on).
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
import json, resource, sys, time
import plaza.nlu.intent_classifier as ic
from plaza.nlu.model import IntentEntityModel, PipelineConfig
from plaza.nlu.types import Example, TrainingData
rows = [json.loads(line) for line in sys.stdin]
if sys.argv[1] == "one-call":
    ic.SPLIT_ABOVE_BYTES = 1 << 62
data = TrainingData(examples=[Example(r["text"], r["intent"]) for r in rows])
start = time.perf_counter()
config = PipelineConfig(sentence_encoder="minilm") if sys.argv[1] == "minilm" else PipelineConfig()
IntentEntityModel.train(data, config)
print(json.dumps({"train_seconds": round(time.perf_counter() - start, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def dataset(name: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    with (DATA / "banking77" / "train.jsonl").open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            rows.append({"text": row["text"], "intent": f"{row['intent']}_{i % 2}"})
    with (DATA / "snips" / "train.jsonl").open(encoding="utf-8") as fh:
        snips = [json.loads(line) for line in fh]
    if name == "split77":
        rows += [{"text": r["text"], "intent": "out_of_scope"} for r in snips[:150]]
    else:
        rows += [{"text": r["text"], "intent": r["intent"]} for r in snips[:5000]]
        rows += [{"text": r["text"], "intent": "out_of_scope"} for r in snips[-100:]]
    return rows


def main() -> None:
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores"
    )
    from plaza.nlu.sentence_encoder import is_installed

    # `minilm`: the sentence encoder forced on (`auto` leaves it out at this size), when installed
    modes = ("default", "one-call", "minilm") if is_installed() else ("default", "one-call")
    for name in ("split77", "clinc150-sized"):
        rows = dataset(name)
        n_intents = len({r["intent"] for r in rows})
        payload = "".join(json.dumps(r) + "\n" for r in rows)
        for mode in modes:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, mode], input=payload, capture_output=True, text=True, check=True
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                json.dumps({"data": name, "messages": len(rows), "labels": n_intents, "run": mode, **result})
            )


if __name__ == "__main__":
    main()
