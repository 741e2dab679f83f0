"""Training time when one intent has many entity types: SNIPS read as a single intent.

A CRF's training cost grows with the square of its label count.  SNIPS's per-intent CRFs have 5
to 28 BIO labels; data like ATIS, where one intent (flight requests) holds most examples and
over 100 labels, is another matter.  This bench relabels SNIPS's training file as one intent
(plus a tenth as a second one, so the classifier has two labels): its single CRF then has all 72
labels over 11,775 sequences.  It trains on that and evaluates on SNIPS dev relabelled the same
way (no test file is read), once with the default plan (`crf_lbfgs_max_cost`: such a CRF trains
with passive-aggressive passes) and once with L-BFGS forced.

    python bench/nlu/many_labels.py
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from plaza.nlu.evaluate import evaluate
from plaza.nlu.model import PipelineConfig
from plaza.nlu.training_data import load_jsonl
from plaza.nlu.types import Example, TrainingData

DATA = Path("/work/shared/data/nlu/snips")


def as_one_intent(data: TrainingData) -> TrainingData:
    return TrainingData(
        examples=[
            Example(e.text, "a" if i % 10 else "b", e.entities) for i, e in enumerate(data.examples)
        ]
    )


def main() -> None:
    train = as_one_intent(load_jsonl(DATA / "train.jsonl"))
    dev = as_one_intent(load_jsonl(DATA / "dev.jsonl"))
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores, {len(train.examples)} training / {len(dev.examples)} dev messages"
    )
    for name, config in (
        ("default plan", PipelineConfig()),
        ("L-BFGS forced", PipelineConfig(crf_lbfgs_max_cost=float("inf"))),
    ):
        summary = evaluate(train, dev, config).summary
        figures = {k: summary[k] for k in ("entity_f1", "train_seconds")}
        print(json.dumps({"run": name, **figures}))


if __name__ == "__main__":
    main()
