"""Model selection on data we may tune on: SNIPS dev, and splits inside the training sets.

Never reads a test file.  Usage:

    python bench/nlu/tune.py snips-dev --set intent_c=0.5 --set crf_window=2
    python bench/nlu/tune.py banking77-cv --folds 2 --intent-only
    python bench/nlu/tune.py snips-cv --intent-only --set pair_window=0

`*-cv` splits the training file in stratified folds (seed 0) and averages over `--folds` of
them (5 folds, so each model is trained on 80% of the training set).  Prints one JSON line per
run with the figures of `plaza.nlu.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from plaza.nlu.evaluate import evaluate
from plaza.nlu.model import PipelineConfig
from plaza.nlu.training import stratified_folds
from plaza.nlu.training_data import load_jsonl
from plaza.nlu.types import Example, TrainingData

DATA = Path("/work/shared/data/nlu")


def _strip(data: TrainingData) -> TrainingData:
    return TrainingData(examples=[Example(e.text, e.intent) for e in data.examples])


def splits(name: str, n_folds: int) -> list[tuple[TrainingData, TrainingData]]:
    dataset, mode = name.rsplit("-", 1)
    train = load_jsonl(DATA / dataset / "train.jsonl")
    if mode == "dev":
        return [(train, load_jsonl(DATA / dataset / "dev.jsonl"))]
    labels = sorted({e.intent for e in train.examples})
    gold = np.array([labels.index(e.intent) for e in train.examples])
    folds = stratified_folds(gold, 5, seed=0)
    assert folds is not None
    out = []
    for k in range(n_folds):
        tr = [e for e, f in zip(train.examples, folds, strict=True) if f != k]
        te = [e for e, f in zip(train.examples, folds, strict=True) if f == k]
        out.append((TrainingData(examples=tr), TrainingData(examples=te)))
    return out


def parse_value(raw: str) -> object:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("setup", choices=["snips-dev", "snips-cv", "banking77-cv"])
    ap.add_argument("--folds", type=int, default=1)
    ap.add_argument("--intent-only", action="store_true")
    ap.add_argument("--set", action="append", default=[], help="PipelineConfig option=value (JSON value)")
    args = ap.parse_args()
    options = dict(item.split("=", 1) for item in args.set)
    config = PipelineConfig.from_dict({k: parse_value(v) for k, v in options.items()})
    keys = [
        "intent_accuracy",
        "intent_accuracy_without_oos_decision",
        "intent_macro_f1",
        "entity_f1",
        "train_seconds",
        "parse_ms_p50",
        "parse_ms_p99",
        "oos_threshold",
    ]
    runs = []
    for train, test in splits(args.setup, args.folds):
        pair = (_strip(train), _strip(test)) if args.intent_only else (train, test)
        runs.append(evaluate(*pair, config).summary)
    summary = {
        k: (None if runs[0][k] is None else round(float(np.mean([r[k] for r in runs])), 5)) for k in keys
    }
    print(json.dumps({"setup": args.setup, "folds": args.folds, "options": options, **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
