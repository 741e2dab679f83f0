"""When a parse may leave the sentence encoder out: the sparse classifier is already sure.

Why: with the encoder, every parse pays for the embedding (1–2.5 ms on these 2-core machines,
most of the parse), yet on most messages the sparse classifier alone is sure and the embedding
changes nothing.  On a held-out fifth of Banking77's training set, two thirds of the messages
have a sparse probability of 0.99 or more, and on those the fused model decides otherwise for
3 of 1,349 (right on 2 of them, the sparse model on 1): docs/nlu.md.  Such a message is
answered by the sparse classifier alone, calibrated on its own held-out scores, and the encoder
runs only for the others (a cascade, as in early-exit networks).

How sure is sure enough is learned, like the temperature, from the held-out scores training
already has: the lowest sparse confidence at which the held-out messages at or above it, taken
without the encoder, give back at most `sentence_encoder_skip_loss` of the encoder's net
held-out gain (right with it and not without, minus the reverse), with a margin of
`MARGIN_SD` standard deviations of that count.  It is never below the out-of-scope threshold,
so a skipped message is never rejected, nor below `MIN_CONFIDENCE`, so that the skip lets
through few unknown requests the fused model would have rejected: held-out intents say nothing
of those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from plaza.nlu.calibration import fit_temperature
from plaza.nlu.intent_classifier import softmax

__all__ = ["EncoderSkip", "choose_encoder_skip"]

F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]

MARGIN_SD = 3.0
"""The held-out count is optimistic: the final sparse model, trained on every fold, is surer than
the held-out folds' models, so more messages clear a given confidence at parse time than did
on the folds.  On Banking77's held-out fold, no margin chose 0.74 and two standard deviations
0.92; on a fifth of its training set held out from everything, skipping at 0.80 and 0.90 lost
8 and 4 messages of 2,001 against the fused model.  Three standard deviations chose 0.99,
where it lost 1 (docs/nlu.md)."""
MIN_CONFIDENCE = 0.95
"""The skip never goes lower, whatever the held-out intents say, for the sake of unknown requests.
A message is accepted when the sparse classifier is sure of it *or*, failing that, when the
fused model is: below this, the union lets through what each model alone would reject.  With
SNIPS + minilm forced and 1,500 Banking77 training messages as unknown requests, the fused
model rejected 338; the cascade at the learned 0.75 rejected 267, at 0.80 292, at 0.90 317,
at 0.95 330 and at 0.99 337, with SNIPS dev at 98.57–98.71 % throughout (docs/nlu.md)."""


@dataclass(frozen=True, slots=True)
class EncoderSkip:
    """The sparse classifier on its own: when it answers, and with which calibration."""

    confidence: float
    """A message whose top sparse probability is at least this is answered without the encoder."""
    temperature: float
    """The sparse scores' own temperature (the fused model's is fitted on the fused scores)."""
    bias: F32Array
    """The sparse classifier's bias (the fused model's includes the embedding classifier's)."""
    share: float
    """The share of held-out messages that skipped the encoder (reported, not used)."""
    gain_kept: int
    """Of the encoder's net held-out gain, what the skipped messages left (reported)."""

    def probabilities(self, sparse_scores: F32Array) -> F32Array | None:
        """The sparse answer, or None when the encoder must decide (`sparse_scores` without bias)."""
        probs = softmax(sparse_scores + self.bias, self.temperature)
        return probs if float(probs.max()) >= self.confidence else None

    def to_json(self) -> dict[str, Any]:
        """The scalars; the bias is saved as an array of its own."""
        return {
            "confidence": self.confidence,
            "temperature": self.temperature,
            "share": self.share,
            "gain_kept": self.gain_kept,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any], bias: F32Array) -> EncoderSkip:
        return cls(
            float(raw["confidence"]),
            float(raw["temperature"]),
            bias,
            float(raw["share"]),
            int(raw["gain_kept"]),
        )

    def summary(self) -> str:
        """One line for `plaza train` and `plaza nlu eval`."""
        return (
            f"sentence encoder skipped at sparse confidence >= {self.confidence:.4f}"
            f" ({self.share:.0%} of held-out messages)"
        )


def choose_encoder_skip(
    sparse: F32Array,
    fused: F32Array,
    gold: I64Array,
    bias: F32Array,
    *,
    allowance: float,
    floor: float,
) -> EncoderSkip | None:
    """The skip rule learned on held-out scores (rows: examples).

    `sparse` are the held-out scores of the sparse classifier (its bias included), `fused` those
    of the model with the encoder, `bias` the final sparse classifier's.  None when no confidence
    at or above `floor` and `MIN_CONFIDENCE` keeps the loss within `allowance` × the net gain.
    """
    if sparse.shape[0] == 0:
        return None
    temperature = fit_temperature(sparse, gold)
    probs = softmax(sparse, temperature)
    top = probs.max(axis=1)
    right_sparse = probs.argmax(axis=1) == gold
    right_fused = fused.argmax(axis=1) == gold
    lost = (right_fused & ~right_sparse).astype(np.int64)  # right only with the encoder
    gained = (right_sparse & ~right_fused).astype(np.int64)
    budget = allowance * max(int(lost.sum() - gained.sum()), 0)
    order = np.argsort(-top, kind="stable")
    ranked = top[order]
    lost_so_far, gained_so_far = np.cumsum(lost[order]), np.cumsum(gained[order])
    running = lost_so_far - gained_so_far
    # one disagreement more than seen: a stretch of held-out messages that shows none is no
    # evidence by itself (a small bot's few held-out messages would otherwise all qualify)
    bound = running + MARGIN_SD * np.sqrt(lost_so_far + gained_so_far + 1)
    # A cut falls between two different confidences: every message at the threshold skips.
    cut_after = np.append(ranked[1:] < ranked[:-1], True)
    allowed = cut_after & (bound <= budget) & (ranked >= max(floor, MIN_CONFIDENCE))
    if not allowed.any():
        return None
    last = int(np.flatnonzero(allowed)[-1])
    return EncoderSkip(
        confidence=float(ranked[last]),
        temperature=temperature,
        bias=np.asarray(bias, dtype=np.float32),
        share=(last + 1) / sparse.shape[0],
        gain_kept=int(lost.sum() - gained.sum() - running[last]),
    )
