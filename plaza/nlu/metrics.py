"""Scores for NLU evaluation: intent accuracy / per-class P-R-F1, entity span F1, OOS figures.

Plain Python on purpose (no scikit-learn): the definitions are written here where a reader of
the headline numbers can check them.

* Intent macro F1 averages over the classes of the task: the labels the model was trained on
  plus any gold test label (so `out_of_scope` counts when the test set has it).  A message
  wrongly rejected as out-of-scope is a recall miss of its class, not an extra class.
* Entity F1 is micro-averaged over exact (start, end, type) matches — conlleval's span F1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plaza.nlu.types import OUT_OF_SCOPE

__all__ = ["ClassScore", "EntityCounts", "entity_counts", "per_class_scores"]

Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def per_class_scores(gold: Sequence[str], pred: Sequence[str], labels: Iterable[str]) -> list[ClassScore]:
    support = Counter(gold)
    predicted = Counter(pred)
    hits = Counter(g for g, p in zip(gold, pred, strict=True) if g == p)
    out = []
    for label in sorted(set(labels) | set(gold)):
        p = hits[label] / predicted[label] if predicted[label] else 0.0
        r = hits[label] / support[label] if support[label] else 0.0
        out.append(ClassScore(label, p, r, _f1(p, r), support[label], predicted[label]))
    return out


def macro_f1(scores: Sequence[ClassScore], gold: Sequence[str], trained: Iterable[str]) -> float:
    """Mean F1 over the task's classes: gold labels, and trained labels that were predicted.

    `out_of_scope` given by the threshold to a message of a task without that class is a
    recall miss of the message's class, not a class of its own.
    """
    present = set(gold)
    known = present | set(trained)
    used = [s for s in scores if s.label in present or (s.predicted > 0 and s.label in known)]
    return sum(s.f1 for s in used) / len(used) if used else 0.0


@dataclass(slots=True)
class EntityCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 0.0


def entity_counts(
    gold: Sequence[set[Span]], pred: Sequence[set[Span]]
) -> tuple[EntityCounts, dict[str, EntityCounts]]:
    """Micro totals and per-type counts of exact span matches."""
    total = EntityCounts()
    by_type: dict[str, EntityCounts] = {}
    for g, p in zip(gold, pred, strict=True):
        for span in g | p:
            c = by_type.setdefault(span[2], EntityCounts())
            if span in g and span in p:
                c.tp += 1
                total.tp += 1
            elif span in p:
                c.fp += 1
                total.fp += 1
            else:
                c.fn += 1
                total.fn += 1
    return total, by_type


def oos_figures(gold: Sequence[str], pred: Sequence[str]) -> tuple[float | None, float | None]:
    """(in-scope accuracy, out-of-scope recall); both `None` when the gold has no out-of-scope."""
    pairs = list(zip(gold, pred, strict=True))
    oos = [p for g, p in pairs if g == OUT_OF_SCOPE]
    if not oos:
        return None, None
    ins = [(g, p) for g, p in pairs if g != OUT_OF_SCOPE]
    in_acc = sum(g == p for g, p in ins) / len(ins) if ins else None
    return in_acc, sum(p == OUT_OF_SCOPE for p in oos) / len(oos)
