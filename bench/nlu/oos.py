"""Out-of-scope detection measured inside Banking77's *training* set (no test data).

Protocol ("unseen intents"): 16 of the 77 intents (every fifth, alphabetically) play the
out-of-scope role.  A stratified 80/20 split of the training file gives:

* train: the 80% part of the 61 in-scope intents; with `--with-oos`, also the 80% part of 8 of
  the 16 held-out intents, labelled `out_of_scope` (the model learns an OOS class);
* test: the 20% part of the in-scope intents, and the 20% part of the other 8 held-out intents
  (never seen in training, not even as OOS examples) labelled `out_of_scope`.

Prints in-scope accuracy and OOS recall for each `oos_false_rejection` given (the threshold
policy without OOS examples) or for the calibrated threshold (with OOS examples).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from plaza.nlu.evaluate import evaluate, pipeline_from_args
from plaza.nlu.training import stratified_folds
from plaza.nlu.training_data import load_jsonl
from plaza.nlu.types import OUT_OF_SCOPE, Example, TrainingData

DATA = Path("/work/shared/data/nlu/banking77/train.jsonl")


def split() -> tuple[list[Example], list[str], Any]:
    """Banking77's training examples, the 16 intents held out as out-of-scope, and each
    example's fold (fold 0 is the test part)."""
    examples = list(load_jsonl(DATA).examples)
    labels = sorted({e.intent for e in examples})
    gold = np.array([labels.index(e.intent) for e in examples])
    folds = stratified_folds(gold, 5, seed=0)
    assert folds is not None
    return examples, labels[::5], folds


def build(with_oos: bool) -> tuple[TrainingData, TrainingData]:
    examples, held, folds = split()
    learned_oos, unseen = set(held[::2]), set(held[1::2])
    train, test = [], []
    for e, fold in zip(examples, folds, strict=True):
        if fold != 0:
            if e.intent not in held:
                train.append(e)
            elif with_oos and e.intent in learned_oos:
                train.append(Example(e.text, OUT_OF_SCOPE))
        elif e.intent in unseen:
            test.append(Example(e.text, OUT_OF_SCOPE))
        elif e.intent not in held:
            test.append(e)
    return TrainingData(examples=train), TrainingData(examples=test)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--with-oos", action="store_true")
    ap.add_argument("--rates", default="0.005,0.01,0.02,0.05")
    ap.add_argument(
        "--set", action="append", default=[], help="a pipeline option, e.g. sentence_encoder=minilm"
    )
    args = ap.parse_args()
    base = pipeline_from_args(None, args.set)
    train, test = build(args.with_oos)
    rates = [float(r) for r in args.rates.split(",")] if not args.with_oos else [0.01]
    for rate in rates:
        s = evaluate(train, test, replace(base, oos_false_rejection=rate)).summary
        row = {
            k: s[k]
            for k in ("in_scope_accuracy", "oos_recall", "intent_accuracy", "oos_threshold", "n_train")
        }
        options = {"with_oos": args.with_oos, "oos_false_rejection": rate, "set": args.set}
        print(json.dumps({**options, **row}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
