"""How the out-of-scope threshold's objective should trade in-scope accuracy for OOS recall, by
how many OOS examples the data has.

`calibration.choose_threshold` maximises `(1 - w) · in-scope accuracy + w · OOS recall` on the
held-out scores, with `w` the option `oos_recall_weight`.  Unset, `w` follows the number of OOS
training examples (`calibration.recall_weight_for`: 0.3 up to 100, 0.4 from 400); this measures
that rule against fixed weights, at several counts of learned OOS examples, on three protocols
all inside training or dev files:

* `unseen-intents`: `bench/nlu/oos.py`'s protocol inside Banking77's training file, the learned
  OOS examples drawn from its 835; the test's OOS messages come from intents never seen;
* `seen-oos-intents`: the OOS examples drawn from all 16 held-out intents, and the test's OOS
  messages from the rest of the same 16 (sparse coverage of OOS topics with few of them, as
  CLINC150's 100 OOS examples give);
* `same-kind`: SNIPS's training file in scope with 100 Banking77 training messages as OOS,
  tested on SNIPS dev and 1,000 other Banking77 training messages (OOS easy to tell; the first
  two of the draws).

Each row gives a weight's threshold, the test's in-scope accuracy and OOS recall, and their mix
at CLINC150's test proportions (4,500 in-scope, 1,000 OOS: 18 % OOS), the figure the rule was
chosen on; the summary averages that mix over the draws.

The model is trained once per draw; the held-out scores training calibrated on are captured,
and each weight's threshold is chosen on them and applied to the same test parses.  No test
file is read.  About 8 minutes on 2 cores with the defaults.

    python bench/nlu/oos_weight.py [--counts 25,50,100,200,400,835] [--draws 4] [--first-draw 0]
                                   [--protocols unseen-intents,seen-oos-intents,same-kind]
                                   [--set sentence_encoder=minilm]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import oos  # noqa: E402 - the protocol of bench/nlu/oos.py

from plaza.nlu import training  # noqa: E402
from plaza.nlu.calibration import recall_weight_for  # noqa: E402
from plaza.nlu.evaluate import pipeline_from_args  # noqa: E402
from plaza.nlu.model import IntentEntityModel, PipelineConfig  # noqa: E402
from plaza.nlu.training_data import load_jsonl  # noqa: E402
from plaza.nlu.types import OUT_OF_SCOPE, Example, TrainingData  # noqa: E402

DATA = Path("/work/shared/data/nlu")
WEIGHTS: tuple[float | str, ...] = ("auto", 0.5, 0.4, 0.35, 0.3, 0.2)
"""`auto`: `recall_weight_for` the draw's number of OOS training examples (the default)."""
PROTOCOLS = ("unseen-intents", "seen-oos-intents", "same-kind")
SAME_KIND_OOS = 100
CLINC150_MIX = (4500, 1000)


def _capturing(choose: Any, into: dict[str, Any]) -> Any:
    """`choose_threshold`, keeping the held-out scores it was given in `into`."""

    def capture(probs: Any, gold: Any, labels: Any, oos_label: str, **kwargs: Any) -> float:
        into.update(probs=probs.copy(), gold=gold.copy(), labels=list(labels))
        result: float = choose(probs, gold, labels, oos_label, **kwargs)
        return result

    return capture


def sweep(
    protocol: str,
    draw: int,
    train: TrainingData,
    texts: list[str],
    gold: Any,
    mixes: dict[Any, list[float]],
    config: PipelineConfig,
) -> None:
    """Train once, capture the held-out scores, and print each weight's threshold and figures."""
    held_out: dict[str, Any] = {}
    real_choose = training.choose_threshold
    training.choose_threshold = _capturing(real_choose, held_out)
    try:
        model = IntentEntityModel.train(train, config)
    finally:
        training.choose_threshold = real_choose
    best = [model.parse(text).scores[0] for text in texts]
    names = np.array([b.name for b in best])
    confidence = np.array([b.confidence for b in best])
    is_oos = gold == OUT_OF_SCOPE
    n_oos = sum(e.intent == OUT_OF_SCOPE for e in train.examples)
    for w in WEIGHTS:
        weight = recall_weight_for(n_oos) if w == "auto" else float(w)
        t = real_choose(
            held_out["probs"],
            held_out["gold"],
            held_out["labels"],
            OUT_OF_SCOPE,
            max_false_rejection=config.oos_false_rejection,
            oos_recall_weight=weight,
        )
        pred = np.where(confidence < t, OUT_OF_SCOPE, names)
        accuracy = float((pred[~is_oos] == gold[~is_oos]).mean())
        recall = float((pred[is_oos] == OUT_OF_SCOPE).mean())
        mix = (CLINC150_MIX[0] * accuracy + CLINC150_MIX[1] * recall) / sum(CLINC150_MIX)
        mixes[(protocol, n_oos, w)].append(mix)
        row = {
            "protocol": protocol,
            "n_oos": n_oos,
            "draw": draw,
            "w": w if w != "auto" else f"auto={weight:.3f}",
            "threshold": round(t, 3),
            "in_scope_accuracy": round(accuracy, 4),
            "oos_recall": round(recall, 4),
            "clinc150_mix": round(mix, 4),
            "n_train": len(train.examples),
        }
        print(json.dumps(row), flush=True)


def summary(mixes: dict[Any, list[float]]) -> None:
    """The mean CLINC150-mix figure per protocol, OOS count and weight, then over all of them."""
    print("# mean at CLINC150's mix over the draws, per protocol and OOS count; then the mean of those")
    print("protocol          n_oos  " + "  ".join(f"{str(w):>6s}" for w in WEIGHTS))
    cells = sorted({key[:2] for key in mixes})
    for protocol, n_oos in cells:
        means = [np.mean(mixes[(protocol, n_oos, w)]) * 100 for w in WEIGHTS]
        print(f"{protocol:16s} {n_oos:6d}  " + "  ".join(f"{m:6.2f}" for m in means))
    overall = [np.mean([np.mean(mixes[(*cell, w)]) for cell in cells]) * 100 for w in WEIGHTS]
    print(f"{'all':16s} {'':6s}  " + "  ".join(f"{m:6.2f}" for m in overall))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counts", default="25,50,100,200,400,835", help="learned OOS examples per draw")
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument(
        "--first-draw",
        type=int,
        default=0,
        help="seed of the first draw (4: draws the rule was not chosen on)",
    )
    ap.add_argument("--protocols", default=",".join(PROTOCOLS), help="some of " + ", ".join(PROTOCOLS))
    ap.add_argument(
        "--set", action="append", default=[], help="a pipeline option, e.g. sentence_encoder=minilm"
    )
    args = ap.parse_args()
    config = pipeline_from_args(None, args.set)
    counts = [int(c) for c in args.counts.split(",")]
    protocols = set(args.protocols.split(","))
    draws = range(args.first_draw, args.first_draw + args.draws)
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores,"
        f" OOS counts {counts}, {args.draws} draws from seed {args.first_draw} (same-kind: 2),"
        f" protocols {sorted(protocols)}, options {args.set}"
    )
    mixes: dict[Any, list[float]] = defaultdict(list)
    # Unseen intents: Banking77's protocol (bench/nlu/oos.py), some of its 835 learned OOS examples.
    full_train, test = oos.build(with_oos=True)
    in_scope = [e for e in full_train.examples if e.intent != OUT_OF_SCOPE]
    learned = [e for e in full_train.examples if e.intent == OUT_OF_SCOPE]
    texts = [e.text for e in test.examples]
    gold = np.array([e.intent for e in test.examples])
    # Seen OOS intents: the same 16 held-out intents, the OOS examples drawn from all of them
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
    seen_texts = [e.text for e in tested]
    seen_gold = np.array([OUT_OF_SCOPE if e.intent in held else e.intent for e in tested])
    for count in counts:
        for draw in draws:
            if "unseen-intents" in protocols:
                drawn = random.Random(draw).sample(learned, min(count, len(learned)))
                sweep(
                    "unseen-intents",
                    draw,
                    TrainingData(examples=in_scope + drawn),
                    texts,
                    gold,
                    mixes,
                    config,
                )
            if "seen-oos-intents" in protocols:
                drawn = random.Random(draw).sample(pool, min(count, len(pool)))
                train = TrainingData(examples=kept + drawn)
                sweep("seen-oos-intents", draw, train, seen_texts, seen_gold, mixes, config)
    # The same kind of OOS message in training and test: SNIPS in scope, Banking77 messages out.
    snips = load_jsonl(DATA / "snips" / "train.jsonl").examples
    dev = load_jsonl(DATA / "snips" / "dev.jsonl").examples
    banking = list(load_jsonl(DATA / "banking77" / "train.jsonl").examples)
    for draw in draws[:2] if "same-kind" in protocols else ():
        drawn = random.Random(draw).sample(banking, SAME_KIND_OOS + 1000)
        train = TrainingData(
            examples=list(snips) + [Example(e.text, OUT_OF_SCOPE) for e in drawn[:SAME_KIND_OOS]]
        )
        unknown = drawn[SAME_KIND_OOS:]
        same_texts = [e.text for e in dev] + [e.text for e in unknown]
        same_gold = np.array([e.intent for e in dev] + [OUT_OF_SCOPE] * len(unknown))
        sweep("same-kind", draw, train, same_texts, same_gold, mixes, config)
    summary(mixes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
