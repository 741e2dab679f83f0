"""A "small bot" for speed measurements: 20 intents, ~1,000 examples, entities on a third of them.

Built from *training* files only: the 7 SNIPS intents (75 annotated examples each) and the first
13 Banking77 intents (35 examples each).  The messages to parse are other training examples of
the same intents (no test file is read).  Speed, not accuracy, is what this set is for.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from plaza.nlu.training_data import load_jsonl
from plaza.nlu.types import Example, TrainingData

DATA = Path("/work/shared/data/nlu")


def small_bot() -> tuple[TrainingData, list[str]]:
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for e in load_jsonl(DATA / "snips" / "train.jsonl").examples:
        by_intent[e.intent].append(e)
    banking: dict[str, list[Example]] = defaultdict(list)
    for e in load_jsonl(DATA / "banking77" / "train.jsonl").examples:
        banking[e.intent].append(e)
    train: list[Example] = []
    messages: list[str] = []
    for examples in by_intent.values():
        train += examples[:75]
        messages += [e.text for e in examples[75:125]]
    for intent in sorted(banking)[:13]:
        train += banking[intent][:35]
        messages += [e.text for e in banking[intent][35:65]]
    return TrainingData(examples=train), messages
