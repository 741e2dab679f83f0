"""Training time when one intent has many entity types (ATIS's shape), built from SNIPS.

A CRF's training cost grows with the square of its label count.  SNIPS's per-intent CRFs have 5
to 28 BIO labels; in ATIS, one intent (flight requests) holds most examples and over 100 labels.
No such set is in `../shared/data`, so two are built from SNIPS (no test file is read):

* `one-intent`: SNIPS's training file as one intent (plus a tenth as a second one, so the
  classifier has two labels): one CRF with all 72 labels over 11,775 sequences, evaluated on
  SNIPS dev relabelled the same way;
* `atis-shaped`: SNIPS's first 4,000 training messages, three quarters as one intent, each entity
  type split in two by the parity of its offset (an arbitrary split, like ATIS's from/to pairs
  but not learnable, so its F1 means nothing): about 157 labels in one CRF.  Time only.

Each is trained with the default plan (`crf_lbfgs_max_cost`: such a CRF trains with
passive-aggressive passes) and with L-BFGS forced.

    python bench/nlu/many_labels.py
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

from plaza.nlu.evaluate import evaluate
from plaza.nlu.model import PipelineConfig
from plaza.nlu.training_data import load_jsonl
from plaza.nlu.types import Example, TrainingData

DATA = Path("/work/shared/data/nlu/snips")


def as_one_intent(data: TrainingData) -> TrainingData:
    return TrainingData(
        examples=[Example(e.text, "a" if i % 10 else "b", e.entities) for i, e in enumerate(data.examples)]
    )


def atis_shaped(data: TrainingData) -> TrainingData:
    examples = []
    for i, e in enumerate(data.examples[:4000]):
        intent = "flight" if i % 4 else ("airfare", "ground", "abbreviation")[i % 3]
        spans = tuple(replace(s, entity=s.entity + ("_from" if s.start % 2 else "_to")) for s in e.entities)
        examples.append(Example(e.text, intent, spans))
    return TrainingData(examples=examples)


def main() -> None:
    train = load_jsonl(DATA / "train.jsonl")
    dev = as_one_intent(load_jsonl(DATA / "dev.jsonl"))
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores"
    )
    sets = (("one-intent", as_one_intent(train), dev), ("atis-shaped", atis_shaped(train), dev))
    for name, data, test in sets:
        for plan, config in (
            ("default plan", PipelineConfig()),
            ("L-BFGS forced", PipelineConfig(crf_lbfgs_max_cost=float("inf"))),
        ):
            summary = evaluate(data, test, config).summary
            figures = {"train_seconds": summary["train_seconds"]}
            if name == "one-intent":
                figures["dev_entity_f1"] = summary["entity_f1"]
            print(json.dumps({"set": name, "messages": len(data.examples), "run": plan, **figures}))


if __name__ == "__main__":
    main()
