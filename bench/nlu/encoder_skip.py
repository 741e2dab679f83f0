"""The sentence encoder's skip rule (`plaza/nlu/encoder_skip.py`), measured on training files only.

Two measurements behind the rule's figures in docs/nlu.md; no test file is read:

* `split`: a model with `sentence_encoder: minilm` trained on four fifths of Banking77's
  training file (a seeded shuffle), then the other fifth parsed one message at a time, with the
  learned skip rule and with the encoder reading every message: accuracy, parse p50 and the
  share of messages that skipped the encoder.
* `unknown`: a SNIPS + minilm model trained on SNIPS's training file, with 1,500 of Banking77's
  training messages as unknown requests: how many the out-of-scope threshold rejects when the
  skip is made at each confidence (the fused model never skipping; the rule the held-out intents
  choose alone; the floor of 0.95; the sparse scores alone at 0), and SNIPS dev accuracy at each.

    python bench/nlu/encoder_skip.py            # both, about 2 minutes on 2 cores
    python bench/nlu/encoder_skip.py --only split

Needs the [embeddings] extra and the model's files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from plaza.nlu.model import IntentEntityModel, PipelineConfig
from plaza.nlu.training_data import load_jsonl
from plaza.nlu.types import OUT_OF_SCOPE, TrainingData

DATA = Path("/work/shared/data/nlu")
ENCODER = PipelineConfig(sentence_encoder="minilm")


def split() -> None:
    examples = list(load_jsonl(DATA / "banking77" / "train.jsonl").examples)
    random.Random(7).shuffle(examples)
    cut = len(examples) * 4 // 5
    model = IntentEntityModel.train(TrainingData(examples=examples[:cut]), ENCODER)
    held_out = examples[cut:]
    skip = model.encoder_skip
    print(
        f"split: trained on {cut} Banking77 training messages; {skip.summary() if skip else 'no skip learned'}"
    )
    for label, rule in (("with the skip rule", skip), ("encoder on every message", None)):
        model.encoder_skip = rule
        right, times = 0, []
        for e in held_out:
            start = time.perf_counter()
            out = model.parse(e.text)
            times.append((time.perf_counter() - start) * 1000)
            right += out.intent.name == e.intent
        skipped = sum(model.skips_encoder(e.text) for e in held_out) if rule else 0
        print(
            json.dumps(
                {
                    "run": label,
                    "right": right,
                    "of": len(held_out),
                    "accuracy": round(right / len(held_out), 4),
                    "parse_ms_p50": round(statistics.median(times), 3),
                    "skipped": skipped,
                }
            )
        )


def unknown() -> None:
    from plaza.nlu import encoder_skip

    # Trained with the rule's floor at one half, as before the 0.95 floor: that is the rule the
    # held-out intents alone choose, and the floor is then varied below.  With the floor, SNIPS +
    # minilm learns no skip and there would be no sparse calibration to vary.
    floor = encoder_skip.MIN_CONFIDENCE
    encoder_skip.MIN_CONFIDENCE = 0.5
    try:
        model = IntentEntityModel.train(load_jsonl(DATA / "snips" / "train.jsonl"), ENCODER)
    finally:
        encoder_skip.MIN_CONFIDENCE = floor
    learned = model.encoder_skip
    if learned is None:
        print("unknown: no skip learned even at a floor of one half; nothing to vary")
        return
    dev = load_jsonl(DATA / "snips" / "dev.jsonl").examples
    requests = [e.text for e in load_jsonl(DATA / "banking77" / "train.jsonl").examples[:1500]]
    print(
        f"unknown: SNIPS + minilm, threshold {model.threshold:.3f}; held-out rule at a floor of 0.5: {learned.summary()}"
    )
    for confidence in (None, learned.confidence, 0.8, 0.9, floor, 0.99, 0.0):
        model.encoder_skip = None if confidence is None else replace(learned, confidence=confidence)
        rejected = sum(model.parse(t).intent.name == OUT_OF_SCOPE for t in requests)
        skipped = sum(model.skips_encoder(t) for t in requests) if confidence is not None else 0
        right = sum(model.parse(e.text).intent.name == e.intent for e in dev)
        print(
            json.dumps(
                {
                    "skip_confidence": "never" if confidence is None else round(confidence, 4),
                    "unknown_rejected": rejected,
                    "unknown_skipped": skipped,
                    "of": len(requests),
                    "snips_dev": round(right / len(dev), 4),
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("split", "unknown"))
    args = parser.parse_args()
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores"
    )
    if args.only in (None, "split"):
        split()
    if args.only in (None, "unknown"):
        unknown()


if __name__ == "__main__":
    main()
