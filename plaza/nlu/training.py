"""Training an `IntentEntityModel`: features, cross-validated calibration, classifier, tagger.

Kept apart from `model.py` because it is the only place that needs scipy and scikit-learn;
both are imported inside the functions, so a process that only loads and parses models never
pays for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from plaza.nlu.calibration import choose_threshold, fit_temperature
from plaza.nlu.entity_tagger import CrfTagger, bio_labels, sequence_features
from plaza.nlu.features import HashedTfidf
from plaza.nlu.gazetteer import Gazetteer, phrase_key
from plaza.nlu.hints import LOOKUP_PREFIX, Hints, MessageHints
from plaza.nlu.intent_classifier import LinearModel, softmax, train_linear
from plaza.nlu.patterns import PatternSet
from plaza.nlu.pipeline_config import ModelError, PipelineConfig
from plaza.nlu.tokenizer import Token, tokenize
from plaza.nlu.types import OUT_OF_SCOPE, Example, TrainingData

if TYPE_CHECKING:
    from plaza.nlu.model import IntentEntityModel

__all__ = ["cross_validated_scores", "stratified_folds", "train_model"]

Progress = Callable[[str, float], None]
F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]


def _noop(stage: str, fraction: float) -> None:
    del stage, fraction


def train_model(
    cls: type[IntentEntityModel],
    data: TrainingData,
    config: PipelineConfig,
    *,
    progress: Progress | None = None,
) -> IntentEntityModel:
    from scipy.sparse import csr_matrix  # noqa: PLC0415 - training only; parsing must not load scipy

    report = progress or _noop
    examples = [e for e in data.examples if e.text.strip()]
    if not examples:
        raise ModelError("no training examples")
    report("features", 0.0)
    entity_types = sorted({s.entity for e in examples for s in e.entities})
    gazetteer: Gazetteer | None = None
    if config.gazetteer and (entity_types or data.lookups):
        values = [(s.entity, e.text[s.start : s.end]) for e in examples for s in e.entities]
        gazetteer = Gazetteer.build([*values, *lookup_entries(data)])
    hints = Hints(PatternSet(data.regexes), gazetteer, value_extras=config.intent_value_hints)
    extractor = config.key_extractor()
    # One pass: tokens, then hints with each example's own annotations discounted (leave-one-out),
    # shared by the intent features and the CRF features.
    prepared = [_prepare(e, hints) for e in examples]
    docs = [extractor.extract(tokens, h.extras) for tokens, h in prepared]
    tfidf = HashedTfidf.fit(docs, min_df=config.block_min_df(), block_weights=config.block_weights())
    indptr, indices, values_ = tfidf.transform_many(docs)
    x = csr_matrix((values_, indices, indptr), shape=(len(docs), tfidf.n_features), dtype=np.float32)
    del docs, indptr, indices, values_  # the matrix holds them now; free the per-message keys
    labels = sorted({e.intent for e in examples})
    y = [e.intent for e in examples]
    report("features", 1.0)

    def fit(rows: Any, ys: Sequence[str]) -> LinearModel:
        return train_linear(
            rows,
            ys,
            labels,
            loss=config.intent_loss,
            c=config.intent_c,
            class_weight=config.class_weight,
            seed=config.seed,
        )

    temperature, threshold = 1.0, 0.0 if config.oos_threshold is None else config.oos_threshold
    gold = np.array([labels.index(v) for v in y], dtype=np.int64)
    folds = stratified_folds(gold, config.calibration_folds, config.seed)
    if folds is not None and len(labels) > 1:
        report("calibration", 0.0)
        cv, seen = cross_validated_scores(x, y, folds, fit, lambda f: report("calibration", f))
        # An example whose intent was absent from its fold's training part (an intent with one
        # or two examples) says nothing about calibration: it would only push T up.
        cv, cv_gold = cv[seen], gold[seen]
        temperature = fit_temperature(cv, cv_gold)
        if config.oos_threshold is None:
            threshold = choose_threshold(
                softmax(cv, temperature),
                cv_gold,
                labels,
                OUT_OF_SCOPE,
                max_false_rejection=config.oos_false_rejection,
            )
    report("intents", 0.0)
    classifier = fit(x, y)
    report("intents", 1.0)

    tagger: CrfTagger | None = None
    if entity_types:
        report("entities", 0.0)
        sequences = [
            (
                sequence_features(
                    tokens,
                    h.token_marks,
                    window=config.crf_window,
                    intent=None if config.crf_per_intent else e.intent,
                ),
                bio_labels(tokens, e.entities),
                e.intent,
            )
            for e, (tokens, h) in zip(examples, prepared, strict=True)
            if tokens
        ]
        trained = CrfTagger.train(
            sequences, config.crf_settings(), n_jobs=config.n_jobs, progress=lambda f: report("entities", f)
        )
        tagger = trained if trained else None
    report("entities", 1.0)

    synonyms = {" ".join(phrase_key(surface)): canonical for surface, canonical in data.synonyms.items()}
    for e in examples:
        for s in e.entities:
            surface = e.text[s.start : s.end]
            if s.value != surface:
                synonyms[" ".join(phrase_key(surface))] = s.value
    synonyms.pop("", None)
    return cls(
        config=config,
        tfidf=tfidf,
        classifier=classifier,
        temperature=temperature,
        threshold=threshold,
        tagger=tagger,
        gazetteer=gazetteer,
        regexes=data.regexes,
        synonyms=synonyms,
        entity_types=entity_types,
    )


def stratified_folds(gold: I64Array, k: int, seed: int) -> I64Array | None:
    """Fold number per example, each class spread evenly; `None` when there is too little data."""
    if k < 2 or gold.shape[0] < 2 * k:
        return None
    rng = np.random.default_rng(seed)
    folds = np.zeros(gold.shape[0], dtype=np.int64)
    offset = 0
    for cls in np.unique(gold):
        idx = rng.permutation(np.flatnonzero(gold == cls))
        folds[idx] = (np.arange(idx.shape[0]) + offset) % k
        offset += idx.shape[0]
    return folds


def cross_validated_scores(
    x: Any,
    y: Sequence[str],
    folds: I64Array,
    fit: Callable[[Any, Sequence[str]], LinearModel],
    progress: Callable[[float], None],
) -> tuple[F32Array, npt.NDArray[np.bool_]]:
    """Scores of every example by a model trained on the other folds.

    Also returns, per example, whether its label occurred in the training part of its fold.
    """
    k = int(folds.max()) + 1
    out: F32Array | None = None
    ys = np.array(y, dtype=object)
    seen = np.zeros(len(y), dtype=bool)
    for f in range(k):
        test = np.flatnonzero(folds == f)
        train = np.flatnonzero(folds != f)
        model = fit(x[train], list(ys[train]))
        scores = np.asarray(x[test] @ model.weights, dtype=np.float32) + model.bias
        if out is None:
            out = np.zeros((x.shape[0], scores.shape[1]), dtype=np.float32)
        out[test] = scores
        known = set(ys[train].tolist())
        seen[test] = [label in known for label in ys[test].tolist()]
        progress((f + 1) / k)
    assert out is not None
    return out, seen


def _prepare(example: Example, hints: Hints) -> tuple[list[Token], MessageHints]:
    """Tokens and leave-one-out hints of a training example."""
    tokens = tokenize(example.text)
    discount: dict[tuple[int, int, str], int] = {}
    for s in example.entities:
        idx = [i for i, t in enumerate(tokens) if t.start < s.end and t.end > s.start]
        if idx:
            key = (idx[0], idx[-1] + 1, s.entity)
            discount[key] = discount.get(key, 0) + 1
    return tokens, hints.compute(tokens, example.text, discount=discount)


def lookup_entries(data: TrainingData) -> list[tuple[str, str]]:
    return [(LOOKUP_PREFIX + t.name, el) for t in data.lookups for el in t.elements]
