"""`PipelineConfig`: every knob of NLU training, with defaults; serialisable for config.yml."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from plaza.errors import ConfigError
from plaza.nlu.entity_tagger import CrfSettings
from plaza.nlu.features import KeyExtractor

__all__ = [
    "AUTO_ENCODER",
    "MODEL_VERSION",
    "SENTENCE_ENCODERS",
    "ModelError",
    "PipelineConfig",
    "check_sentence_encoder",
]

MODEL_VERSION = "plaza-nlu-7"
"""Bumped whenever training or parsing changes behaviour: part of the fingerprint and the saved format."""

SENTENCE_ENCODERS = {"minilm": ("en",)}
"""Names `PipelineConfig.sentence_encoder` accepts (see `sentence_encoder.py`), with the languages
each was trained on."""
AUTO_ENCODER = "auto"
"""`sentence_encoder: auto`: the encoder joins a model only where training shows it helps
(`encoder_choice.py`)."""
AUTO_CANDIDATE = "minilm"


class ModelError(ConfigError, ValueError):
    """A model directory that cannot be loaded, or a configuration that cannot be used.

    A `ConfigError`, so the CLI prints it as one line (`plaza: …`, exit 2), not a traceback.
    """


def check_sentence_encoder(name: str) -> None:
    """Raise `ModelError` unless `name` is one of `SENTENCE_ENCODERS` or `AUTO_ENCODER`."""
    if name not in SENTENCE_ENCODERS and name != AUTO_ENCODER:
        expected = ", ".join([*SENTENCE_ENCODERS, AUTO_ENCODER])
        raise ModelError(f"unknown sentence_encoder {name!r} (expected one of: {expected})")


@dataclass(frozen=True)
class PipelineConfig:
    """Every knob of training, with defaults tuned on SNIPS dev and Banking77 train CV (docs/nlu.md)."""

    # intent features (features.py)
    word_ngrams: int = 2
    char_ngram_min: int = 2
    char_ngram_max: int = 5
    pair_window: int = 6
    """Word pairs within this many tokens become features; 0 disables them."""
    min_df: int | None = None
    """Messages a word or character n-gram must occur in to be a feature.  `None` (the default)
    chooses: 1, or 2 for large data whose weights are large (`training.words_min_df`)."""
    pair_min_df: int = 2
    word_weight: float = 1.0
    char_weight: float = 1.0
    pair_weight: float = 1.0
    extra_weight: float = 0.3
    intent_value_hints: bool = True
    """Known entity values found in the message (`gz:<type>`) are intent features too."""
    sentence_encoder: str | None = None
    """`"minilm"`: a pretrained sentence embedding has a classifier of its own, whose scores join the
    sparse classifier's (the `[embeddings]` extra).
    `"auto"`: the same, for large enough data, when the extra is installed and a held-out fold
    shows it helps; otherwise the model has none (`encoder_choice.py`)."""
    sentence_encoder_weight: float = 1.5
    """The embedding has a classifier of its own; a message's scores are the sparse classifier's plus
    this times the embedding's (late fusion, chosen on Banking77's training CV: docs/nlu.md)."""
    sentence_encoder_c: float = 2.0
    """The regularisation constant C of the embedding's SVM."""
    sentence_encoder_dims: int = 0
    """Project the embedding on its first principal axes (fitted on the training messages); 0 keeps
    all of them.  128 fits 40 % faster with a third of the dense block, but lost 0.3 points on Banking77's
    5-fold CV (92.60 against 92.88 %, with one SVM over both blocks)."""
    sentence_encoder_skip_loss: float | None = 0.05
    """A parse leaves the encoder out when the sparse classifier alone is sure enough: the
    confidence is learned on held-out scores so that the messages skipped give back at most this
    share of the encoder's net held-out gain (`encoder_skip.py`).  On Banking77 two thirds of
    the messages skip it.  `null`: the encoder reads every message."""
    sentence_encoder_auto_min_examples: int = 500
    """`auto` considers the encoder only for data this large.  Not for lack of evidence (data under
    3,000 examples is scored on every fold, and the sign test weighs what it gets) but for cost:
    a bot of a few hundred examples trains in a fraction of a second, and its process need not
    load onnxruntime (0.3 s, about 180 MB) to decide; `minilm` turns it on regardless."""
    sentence_encoder_auto_max_work: int = 2_000_000
    """`auto` leaves the encoder out when labels × examples × fits is above this: training with the
    encoder costs the encoding (1 ms a message) and the fits (Banking77: 77 × 10,003 × 2 fits = 1.5
    million, 17–19 s of training on 2 cores; a CLINC150-sized stand-in is 4.9 million, and took
    42.6–43.5 s and 608–616 MB with `minilm` forced: `bench/nlu/many_intents.py`)."""
    # intent classifier
    intent_loss: str = "svm"
    intent_c: float = 1.0
    intent_tol: float = 0.01
    """liblinear's stopping tolerance for the SVM (scikit-learn's default is 1e-4): the same accuracy
    on SNIPS and Banking77 training CV, 1–2 s less training with the sentence encoder."""
    class_weight: str | None = None
    # calibration and out-of-scope
    calibration_folds: int = 3
    calibration_min_scores: int = 3000
    """Held-out folds are scored until this many scores are in hand: one fold of a large data set
    suffices."""
    calibration_min_oos: int = 30
    """…and, for data with `out_of_scope` examples (the threshold learns from them), until this many
    of them are scored (or all).  CLINC150's 100 are spread over the folds, so one fold holds 33:
    scoring every fold instead changed nothing measurable (docs/nlu.md) and cost two fits more."""
    oos_threshold: float | None = None
    """A fixed threshold; `None` calibrates it on cross-validation inside the training data."""
    oos_false_rejection: float = 0.002
    """Without `out_of_scope` examples: the share of correct in-scope answers the threshold may reject."""
    oos_recall_weight: float | None = None
    """With `out_of_scope` examples: the threshold maximises `(1 - w) × in-scope accuracy + w × OOS
    recall` on held-out scores (0.5 is their plain mean).  `None` lets the number of OOS examples
    choose: 0.3 up to 100, 0.4 from 400 (`calibration.recall_weight_for`)."""
    # entity tagger
    crf_algorithm: str = "lbfgs"
    crf_c1: float = 0.05
    crf_c2: float = 0.01
    crf_max_iterations: int = 60
    crf_window: int = 3
    crf_lbfgs_max_cost: float = 1.5e8
    """A CRF whose estimated training cost (`entity_tagger.training_cost`) is above this trains with
    passive-aggressive updates instead of L-BFGS, whose cost grows with the square of the labels."""
    crf_fast_iterations: int = 10
    crf_per_intent: bool = True
    gazetteer: bool = True
    n_jobs: int = 2
    """Processes for training the per-intent CRFs of large data sets (1 = in process), and threads
    for the intent fits; -1, scikit-learn's spelling, is every core (`jobs`)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sentence_encoder is not None:
            check_sentence_encoder(self.sentence_encoder)
        check_ranges(self)

    def for_language(self, language: str) -> PipelineConfig:
        """The options for a model of `language`: a sentence encoder that was not trained on it is dropped.

        all-MiniLM-L6-v2 reads French as unknown word pieces: on the demo's French bot it made
        gibberish a confident intent and routed "une table pour ce soir à 20h pour 2" away from
        the booking form (two conversation tests of 55 failed).
        """
        encoder = self.sentence_encoder
        if encoder == AUTO_ENCODER:
            encoder = AUTO_CANDIDATE
        if encoder is not None and language not in SENTENCE_ENCODERS[encoder]:
            return replace(self, sentence_encoder=None)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PipelineConfig:
        """Build from a mapping (config.yml); unknown keys and wrong types raise `ModelError`."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ModelError(f"unknown NLU pipeline option(s): {', '.join(unknown)}")
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in raw.items():
            default = getattr(defaults, name)
            values[name] = _coerce(name, value, default)
        return cls(**values)

    def key_extractor(self) -> KeyExtractor:
        word_ngrams, char_min, char_max, pair_window = self.key_settings()
        return KeyExtractor(
            word_ngrams=word_ngrams, char_min=char_min, char_max=char_max, pair_window=pair_window
        )

    def key_settings(self) -> tuple[int, int, int, int]:
        """What decides a message's feature keys: two models with the same settings share keys."""
        return (self.word_ngrams, self.char_ngram_min, self.char_ngram_max, self.pair_window)

    def jobs(self) -> int:
        """`n_jobs` as a count of workers."""
        return (os.cpu_count() or 1) if self.n_jobs == -1 else self.n_jobs

    def block_weights(self) -> tuple[float, float, float, float]:
        return (self.word_weight, self.char_weight, self.pair_weight, self.extra_weight)

    def block_min_df(self, min_df: int) -> tuple[int, int, int, int]:
        """Each feature block's `min_df`, with `min_df` for words and character n-grams."""
        return (min_df, min_df, self.pair_min_df, 1)

    def crf_settings(self) -> CrfSettings:
        return CrfSettings(
            self.crf_algorithm,
            self.crf_c1,
            self.crf_c2,
            self.crf_max_iterations,
            self.crf_window,
            self.crf_per_intent,
            self.crf_lbfgs_max_cost,
            self.crf_fast_iterations,
        )


_OPTIONAL = {
    "min_df": int,
    "oos_threshold": float,
    "class_weight": str,
    "sentence_encoder": str,
    "sentence_encoder_skip_loss": float,
    "oos_recall_weight": float,
}


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Check one option's type; ints are accepted for floats (YAML writes `1` for 1.0)."""
    expected: type = _OPTIONAL.get(name) or type(default)
    if value is None and name in _OPTIONAL:
        return None
    if isinstance(value, bool) != (expected is bool):
        raise ModelError(f"NLU pipeline option {name!r} must be {expected.__name__}, got {value!r}")
    if expected is float and isinstance(value, int | float):
        return float(value)
    if not isinstance(value, expected):
        raise ModelError(f"NLU pipeline option {name!r} must be {expected.__name__}, got {value!r}")
    return value


Rule = tuple[Callable[[Any], bool], str]
"""A test an option's value must pass, and what it allows (for the error message)."""


def _at_least(low: int | float) -> Rule:
    if isinstance(low, float):
        return (lambda v: math.isfinite(v) and v >= low), f"a finite number of at least {low:g}"
    return (lambda v: v >= low), f"an integer of at least {low}"


def _above(low: float) -> Rule:
    return (lambda v: math.isfinite(v) and v > low), f"a finite number above {low:g}"


def _between(low: int | float, high: int | float) -> Rule:
    if isinstance(low, int):
        return (lambda v: low <= v <= high), f"an integer from {low} to {high}"
    return (lambda v: low <= v <= high), f"a number from {low:g} to {high:g}"


def _one_of(*choices: str) -> Rule:
    quoted = [repr(c) for c in choices]
    allowed = quoted[-1] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return (lambda v: v in choices), allowed


def _optional(rule: Rule, none_means: str) -> Rule:
    check, allowed = rule
    return (lambda v: v is None or check(v)), f"null ({none_means}) or {allowed}"


CRF_ALGORITHMS = ("lbfgs", "l2sgd", "ap", "pa", "arow")
"""crfsuite's training algorithms by their short names.  crfsuite also takes "LBFGS" or
"passive-aggressive", but `entity_tagger` compares the short names (whether c1 and c2 apply,
whether the passes shuffle the data), so an alias would not train as the name it stands for."""
MAX_CALIBRATION_FOLDS = 10
"""Past 10 folds a held-out model differs from the final one by less than a tenth of the data,
so calibration gains nothing, while each fold holds fewer examples (n/k): the same
`calibration_min_scores` costs more fits, and data of fewer than 2k examples is not calibrated
at all (`training.stratified_folds`)."""
MAX_SEED = 2**32 - 1
"""scikit-learn's largest `random_state`."""

_RANGES: dict[str, Rule] = {
    # 1: unigrams only; features.py stops at trigrams, so 4 or more would silently mean 3
    "word_ngrams": _between(1, 3),
    "char_ngram_min": _at_least(1),
    "char_ngram_max": _at_least(0),  # 0: no character n-grams (features.py)
    "pair_window": _at_least(0),  # 0: no word pairs
    "min_df": _optional(_at_least(1), "chosen by the data's size"),
    "pair_min_df": _at_least(1),
    "word_weight": _at_least(0.0),  # 0 mutes a block
    "char_weight": _at_least(0.0),
    "pair_weight": _at_least(0.0),
    "extra_weight": _at_least(0.0),
    "sentence_encoder_weight": _at_least(0.0),
    "sentence_encoder_c": _above(0.0),
    "sentence_encoder_dims": _at_least(0),  # 0: every dimension
    "sentence_encoder_skip_loss": _optional(_between(0.0, 1.0), "the encoder reads every message"),
    "sentence_encoder_auto_min_examples": _at_least(0),
    "sentence_encoder_auto_max_work": _at_least(0),
    "intent_loss": _one_of("svm", "logreg"),
    "intent_c": _above(0.0),
    "intent_tol": _above(0.0),
    "class_weight": _optional(_one_of("balanced"), "every intent weighs the same"),
    "calibration_min_scores": _at_least(0),  # 0: one fold is scored
    "calibration_min_oos": _at_least(0),
    "oos_threshold": _optional(_between(0.0, 1.0), "calibrated"),
    "oos_false_rejection": _between(0.0, 1.0),
    "oos_recall_weight": _optional(_between(0.0, 1.0), "chosen by the number of OOS examples"),
    "crf_algorithm": _one_of(*CRF_ALGORITHMS),
    "crf_c1": _at_least(0.0),
    "crf_c2": _at_least(0.0),
    "crf_max_iterations": _at_least(1),
    "crf_window": _at_least(0),  # 0: a token's own features only
    # infinite: always L-BFGS (bench/nlu/many_labels.py)
    "crf_lbfgs_max_cost": ((lambda v: v >= 0), "a number of at least 0 (.inf: always L-BFGS)"),
    "crf_fast_iterations": _at_least(1),
    "n_jobs": ((lambda v: v >= 1 or v == -1), "an integer of at least 1, or -1 (every core)"),
    "seed": _between(0, MAX_SEED),
}
"""The values each option allows: the others are booleans, or `sentence_encoder`
(`check_sentence_encoder`).  `calibration_folds` is checked on its own (`_check_folds`)."""


def check_ranges(config: PipelineConfig) -> None:
    """Raise `ModelError` naming the first option whose value training could not use.

    The types are `from_dict`'s concern; without these checks a bad value ended in a traceback
    from scikit-learn, crfsuite or numpy in the middle of training, or was silently meaningless
    (`oos_threshold: 2` made every message out of scope).
    """
    for name, (check, allowed) in _RANGES.items():
        value = getattr(config, name)
        if not check(value):
            raise ModelError(f"NLU pipeline option {name!r} must be {allowed}, got {value!r}")
    _check_folds(config.calibration_folds)
    _check_char_ngrams(config.char_ngram_min, config.char_ngram_max)
    _check_block_weights(config.block_weights())


def _check_folds(folds: int) -> None:
    """0 turns calibration off; one fold would hold nothing out (training treats it as 0)."""
    if folds != 0 and not 2 <= folds <= MAX_CALIBRATION_FOLDS:
        raise ModelError(
            f"NLU pipeline option 'calibration_folds' must be 0 (no calibration) or from 2 to"
            f" {MAX_CALIBRATION_FOLDS}, got {folds!r}"
        )


def _check_char_ngrams(low: int, high: int) -> None:
    """A minimum above the maximum would leave no character n-gram, as `char_ngram_max: 0` says plainly."""
    if high != 0 and low > high:
        raise ModelError(
            f"NLU pipeline option 'char_ngram_min' ({low}) must not exceed 'char_ngram_max' ({high});"
            " char_ngram_max: 0 turns character n-grams off"
        )


def _check_block_weights(weights: tuple[float, float, float, float]) -> None:
    """All four at 0 would leave the intent classifier no feature to read: every message one intent."""
    if not any(weights):
        raise ModelError(
            "NLU pipeline options 'word_weight', 'char_weight', 'pair_weight' and 'extra_weight'"
            " are all 0: at least one must be above 0"
        )
