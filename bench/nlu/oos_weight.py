"""How the out-of-scope threshold's objective trades in-scope accuracy for OOS recall, with few OOS examples.

`calibration.choose_threshold` maximises `(1 - w) · in-scope accuracy + w · OOS recall` on the
held-out scores, with `w` the option `oos_recall_weight` (0.5, the plain mean, by default): one
held-out OOS example then weighs as much as n_in / n_oos in-scope ones.  With CLINC150's share
of OOS training examples (100 among 15,100) that is 150 to one.  This measures each `w` on
three protocols, all inside training or dev files:

* `unseen-intents`: `bench/nlu/oos.py`'s protocol inside Banking77's training file, with 100
  learned OOS examples drawn from its 840 (three draws); the test's OOS messages come from
  intents never seen;
* `seen-oos-intents`: the 100 OOS examples drawn from all 16 held-out intents, and the test's
  OOS messages from the rest of the same 16 (sparse coverage of OOS topics, as CLINC150's 100
  OOS examples give; three draws);
* `same-kind`: SNIPS's training file in scope with 100 Banking77 training messages as OOS,
  tested on SNIPS dev and 1,000 other Banking77 training messages (OOS easy to tell; two draws).

For each `w` it prints the threshold, the test's in-scope accuracy and OOS recall, and their mix
at CLINC150's test proportions (4,500 in-scope, 1,000 OOS).

The model is trained once per draw; the held-out scores training calibrated on are captured,
and each `w`'s threshold is chosen on them and applied to the same test parses.  No test file
is read.  About 5 minutes on 2 cores.

    python bench/nlu/oos_weight.py
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import oos  # noqa: E402 - the protocol of bench/nlu/oos.py

from plaza.nlu import training  # noqa: E402
from plaza.nlu.model import IntentEntityModel, PipelineConfig  # noqa: E402
from plaza.nlu.training_data import load_jsonl  # noqa: E402
from plaza.nlu.types import OUT_OF_SCOPE, Example, TrainingData  # noqa: E402

DATA = Path("/work/shared/data/nlu")
WEIGHTS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.0)
LEARNED_OOS = 100


def _capturing(choose: Any, into: dict[str, Any]) -> Any:
    """`choose_threshold`, keeping the held-out scores it was given in `into`."""

    def capture(probs: Any, gold: Any, labels: Any, oos_label: str, **kwargs: Any) -> float:
        into.update(probs=probs.copy(), gold=gold.copy(), labels=list(labels))
        result: float = choose(probs, gold, labels, oos_label, **kwargs)
        return result

    return capture


def sweep(protocol: str, draw: int, train: TrainingData, texts: list[str], gold: Any) -> None:
    """Train once, capture the held-out scores, and print each weight's threshold and figures."""
    held_out: dict[str, Any] = {}
    real_choose = training.choose_threshold
    training.choose_threshold = _capturing(real_choose, held_out)
    try:
        model = IntentEntityModel.train(train, PipelineConfig())
    finally:
        training.choose_threshold = real_choose
    best = [model.parse(text).scores[0] for text in texts]
    names = np.array([b.name for b in best])
    confidence = np.array([b.confidence for b in best])
    is_oos = gold == OUT_OF_SCOPE
    for w in WEIGHTS:
        t = real_choose(
            held_out["probs"],
            held_out["gold"],
            held_out["labels"],
            OUT_OF_SCOPE,
            max_false_rejection=PipelineConfig().oos_false_rejection,
            oos_recall_weight=w,
        )
        pred = np.where(confidence < t, OUT_OF_SCOPE, names)
        accuracy = float((pred[~is_oos] == gold[~is_oos]).mean())
        recall = float((pred[is_oos] == OUT_OF_SCOPE).mean())
        row = {
            "protocol": protocol,
            "draw": draw,
            "w": w,
            "threshold": round(t, 3),
            "in_scope_accuracy": round(accuracy, 4),
            "oos_recall": round(recall, 4),
            "clinc150_mix": round((4500 * accuracy + 1000 * recall) / 5500, 4),
            "n_train": len(train.examples),
        }
        print(json.dumps(row), flush=True)


def main() -> int:
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores"
    )
    # Unseen intents: Banking77's protocol (bench/nlu/oos.py) with 100 of its 840 learned OOS examples.
    full_train, test = oos.build(with_oos=True)
    in_scope = [e for e in full_train.examples if e.intent != OUT_OF_SCOPE]
    learned = [e for e in full_train.examples if e.intent == OUT_OF_SCOPE]
    texts = [e.text for e in test.examples]
    gold = np.array([e.intent for e in test.examples])
    for draw in range(3):
        train = TrainingData(examples=in_scope + random.Random(draw).sample(learned, LEARNED_OOS))
        sweep("unseen-intents", draw, train, texts, gold)
    # Seen OOS intents: the same 16 held-out intents, 100 OOS examples drawn from all of them
    # and the test's OOS messages from all of them too (CLINC150's kind: sparse OOS coverage).
    examples, held_intents, folds = oos.split()
    held = set(held_intents)
    kept = [e for e, f in zip(examples, folds, strict=True) if f != 0 and e.intent not in held]
    pool = [
        Example(e.text, OUT_OF_SCOPE)
        for e, f in zip(examples, folds, strict=True)
        if f != 0 and e.intent in held
    ]
    tested = [e for e, f in zip(examples, folds, strict=True) if f == 0]
    texts = [e.text for e in tested]
    gold = np.array([OUT_OF_SCOPE if e.intent in held else e.intent for e in tested])
    for draw in range(3):
        train = TrainingData(examples=kept + random.Random(draw).sample(pool, LEARNED_OOS))
        sweep("seen-oos-intents", draw, train, texts, gold)
    # The same kind of OOS message in training and test: SNIPS in scope, Banking77 messages out.
    snips = load_jsonl(DATA / "snips" / "train.jsonl").examples
    dev = load_jsonl(DATA / "snips" / "dev.jsonl").examples
    banking = list(load_jsonl(DATA / "banking77" / "train.jsonl").examples)
    for draw in range(2):
        random.Random(draw).shuffle(banking)
        train = TrainingData(
            examples=list(snips) + [Example(e.text, OUT_OF_SCOPE) for e in banking[:LEARNED_OOS]]
        )
        unknown = banking[LEARNED_OOS : LEARNED_OOS + 1000]
        texts = [e.text for e in dev] + [e.text for e in unknown]
        gold = np.array([e.intent for e in dev] + [OUT_OF_SCOPE] * len(unknown))
        sweep("same-kind", draw, train, texts, gold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
