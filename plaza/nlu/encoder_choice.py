"""`sentence_encoder: auto`: keep the sentence encoder only where the training data show it helps.

Why: the encoder lifts Banking77 from 91.5 to 94.1 % but costs SNIPS test messages (98.00 to
96.86 % with it forced), and a parse with it costs 1–2 ms instead of 0.25.  Which data it helps is
visible before any test: on the training set's own held-out fold it gains 2.8 points on Banking77
and loses on SNIPS (docs/nlu.md).  Training already scores a held-out fold for calibration, by
the sparse features' classifier and by the embedding's, whose scores are fused: with `auto` the
fused scores and the sparse ones alone are compared example by example, at no extra fit.  The
encoder stays only when it is right on clearly more of them: `gained - lost > Z * sqrt(gained +
lost)` (a one-sided sign test at about 2 %), because a model without it is faster, lighter and
needs no optional extra.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plaza.nlu.pipeline_config import AUTO_CANDIDATE, AUTO_ENCODER, PipelineConfig

__all__ = ["EncoderCheck", "candidate_encoder", "compare_held_out"]

Z = 2.0
"""How many standard deviations of the sign test the gain must clear."""


def candidate_encoder(config: PipelineConfig, n_examples: int, n_labels: int, n_fits: int) -> str | None:
    """The encoder whose features training computes: the configured one, or auto's candidate.

    Auto offers none to data too small to be worth loading the encoder for, of one intent, or
    so large that training with the encoder would break the training budget: encoding grows with
    the examples, the sparse and dense fits with labels × examples × fits (`n_fits`: the final
    fit and the held-out ones), see `sentence_encoder_auto_max_work`.
    """
    if config.sentence_encoder != AUTO_ENCODER:
        return config.sentence_encoder
    if n_examples < config.sentence_encoder_auto_min_examples or n_labels < 2:
        return None
    if n_labels * n_examples * n_fits > config.sentence_encoder_auto_max_work:
        return None
    from plaza.nlu.sentence_encoder import is_installed  # noqa: PLC0415 - keeps this module light

    return AUTO_CANDIDATE if is_installed() else None


@dataclass(frozen=True, slots=True)
class EncoderCheck:
    """The held-out comparison behind an `auto` decision (reported by `plaza nlu eval`)."""

    scored: int
    right_with: int
    right_without: int
    gained: int
    """Examples right with the encoder and wrong without it."""
    lost: int

    @property
    def helps(self) -> bool:
        return self.gained - self.lost > Z * math.sqrt(self.gained + self.lost)

    def summary(self) -> str:
        """One line for `plaza train`: what was decided, on what evidence."""
        verdict = "kept" if self.helps else "left out"
        return (
            f"sentence encoder {verdict}: of {self.scored:,} held-out messages, {self.gained} right only"
            f" with it, {self.lost} only without"
        )

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "scored": self.scored,
            "right_with": self.right_with,
            "right_without": self.right_without,
            "gained": self.gained,
            "lost": self.lost,
            "kept": self.helps,
        }


def compare_held_out(
    with_encoder: npt.NDArray[np.float32],
    without: npt.NDArray[np.float32],
    gold: npt.NDArray[np.int64],
) -> EncoderCheck:
    """Compare two models' held-out scores (rows: examples, columns: labels) on the same examples."""
    right_with = with_encoder.argmax(axis=1) == gold
    right_without = without.argmax(axis=1) == gold
    return EncoderCheck(
        scored=int(gold.shape[0]),
        right_with=int(right_with.sum()),
        right_without=int(right_without.sum()),
        gained=int((right_with & ~right_without).sum()),
        lost=int((~right_with & right_without).sum()),
    )
