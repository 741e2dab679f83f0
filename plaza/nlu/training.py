"""Training an `IntentEntityModel`: features, cross-validated calibration, classifier, tagger.

Kept apart from `model.py` because it is the only place that needs scipy and scikit-learn;
both are imported inside the functions, so a process that only loads and parses models never
pays for them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from plaza.nlu.calibration import choose_threshold, fit_temperature, recall_weight
from plaza.nlu.embedding_projection import EmbeddingProjection
from plaza.nlu.encoder_choice import EncoderCheck, candidate_encoder, compare_held_out
from plaza.nlu.encoder_skip import EncoderSkip, choose_encoder_skip
from plaza.nlu.entity_tagger import CrfTagger, altered_spans, bio_labels, sequence_features
from plaza.nlu.features import DocumentFrequencies, HashedTfidf
from plaza.nlu.gazetteer import Gazetteer, phrase_key
from plaza.nlu.hints import LOOKUP_PREFIX, Hints, MessageHints
from plaza.nlu.intent_classifier import (
    FitOptions,
    LinearModel,
    PendingModel,
    dense_held_out_scores,
    fit_groups,
    fuse,
    held_out_scores,
    label_indices,
    softmax,
    train_dense,
)
from plaza.nlu.memory import release_freed_memory
from plaza.nlu.patterns import PatternSet
from plaza.nlu.pipeline_config import AUTO_ENCODER, ModelError, PipelineConfig
from plaza.nlu.tokenizer import Token, tokenize
from plaza.nlu.types import OUT_OF_SCOPE, EntitySpan, Example, TrainingData

if TYPE_CHECKING:
    from plaza.nlu.model import IntentEntityModel

__all__ = ["HeldOutFits", "held_out_folds", "stratified_folds", "train_model", "words_min_df"]

logger = logging.getLogger(__name__)

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
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - scikit-learn's dependency, training only

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
    labels = sorted({e.intent for e in examples})
    y = [e.intent for e in examples]
    gold = label_indices(y, labels)
    folds = stratified_folds(gold, config.calibration_folds, config.seed)
    # With out_of_scope examples the threshold is learned from them, and they are usually few
    # (CLINC150: 100 in 15,100): folds are scored until enough of them are in hand too.
    oos_gold = labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in labels else -1
    held_out = (
        []
        if folds is None or len(labels) == 1
        else held_out_folds(
            folds, config.calibration_min_scores, gold == oos_gold, config.calibration_min_oos
        )
    )
    encoder = candidate_encoder(config, len(examples), len(labels), 1 + len(held_out))
    auto = config.sentence_encoder == AUTO_ENCODER
    if not entity_types or encoder is not None:
        # Only the tagger reads them again: free them before the fits.  With the encoder,
        # encoding and the fits are training's memory peak, and the tagger computes them anew
        # (SNIPS: 45 MB less at the peak for 0.8 s more, measured with one SVM over both blocks).
        prepared = []
    options = FitOptions(
        config.intent_loss, config.intent_c, config.class_weight, config.seed, config.intent_tol
    )
    freqs = DocumentFrequencies.count(docs)
    min_df = config.block_min_df(words_min_df(config, freqs, len(labels), options))
    tfidf = HashedTfidf.from_frequencies(freqs, min_df=min_df, block_weights=config.block_weights())
    del freqs
    indptr, indices, values_ = tfidf.transform_many(docs)
    # float64, as liblinear wants it: otherwise every fit converts its own copy
    x = csr_matrix((values_, indices, indptr), shape=(len(docs), tfidf.n_features), dtype=np.float64)
    del docs, indptr, indices, values_  # the matrix holds them now; free the per-message keys
    projection: EmbeddingProjection | None = None
    dense: F32Array | None = None
    if encoder is not None:
        dense, projection = _embed(examples, encoder, config, report)
    release_freed_memory()
    report("features", 1.0)

    dense_options = replace(options, c=config.sentence_encoder_c)

    def fit_scores(rows: Any, ys: Sequence[str], test_rows: Callable[[], Any]) -> F32Array:
        return held_out_scores(rows, ys, test_rows, labels, options)

    def fit_dense(rows: Any, ys: Sequence[str]) -> LinearModel:
        return train_dense(rows, ys, labels, dense_options)

    def fit_dense_scores(rows: Any, ys: Sequence[str], test_rows: Callable[[], Any]) -> F32Array:
        return dense_held_out_scores(rows, ys, test_rows, labels, dense_options)

    temperature, threshold = 1.0, 0.0 if config.oos_threshold is None else config.oos_threshold
    weight = config.sentence_encoder_weight
    report("intents", 0.0)
    # The sparse features and the embedding each have their classifier, and a message's scores
    # are the sparse ones plus `weight` times the embedding's (late fusion: 0.26 points better on
    # Banking77's training CV than one SVM over both blocks, and its dense fits are quick).
    # The fits are independent: liblinear and numpy release the GIL, so they share the cores in
    # threads.
    encoder_check: EncoderCheck | None = None
    sparse_cv: F32Array | None = None
    encoder_skip: EncoderSkip | None = None
    # One BLAS thread per fit: the workers are the parallelism.  Otherwise OpenBLAS's threads
    # (numpy's and scipy's pools, spinning while they wait) fight liblinear's for the cores
    # (Banking77 with the encoder: 22.7 s of training instead of 18.0 s).  The limit reaches
    # only libraries already loaded: scikit-learn's liblinear calls scipy's OpenBLAS, hence the
    # import here (not at the top: its 20 MB would sit on the features stage's peak).
    import sklearn.svm  # noqa: PLC0415, F401 - training only

    # The fits silence scikit-learn's convergence warnings in their threads, which is not
    # thread-safe: two overlapping fits could leave "ignore" behind for the whole process.  The
    # filters saved here, before any fit starts, are put back once every fit has ended.
    with (
        warnings.catch_warnings(),
        threadpool_limits(limits=1, user_api="blas"),
        _fit_pool(config.jobs()) as pool,
    ):
        # The longest task first: a final fit in one call starts at once.  A final fit in class
        # groups (many intents) is short tasks, queued after the held-out fits: they fill the
        # core a held-out fit leaves, and then run side by side (docs/nlu.md, *Many intents*).
        final = PendingModel(x, y, labels, options)
        if not final.in_groups:
            final.submit(pool)
        # Early, while memory is low: the dense fit's float64 copy of the embeddings beside a
        # final sparse fit's peak cost Banking77 + minilm 20-40 MB.
        final_dense = None if dense is None else pool.submit(fit_dense, dense, y)
        feature_sets = [(x, fit_scores)] + ([] if dense is None else [(dense, fit_dense_scores)])
        held_out_fits = (
            None if folds is None or not held_out else HeldOutFits(feature_sets, y, folds, held_out, pool)
        )
        if final.in_groups:
            final.submit(pool)
        if held_out_fits is not None:
            cv_sets, seen = held_out_fits.collect(lambda f: report("calibration", f))
            cv = cv_sets[0]
            if len(cv_sets) > 1:
                fused = cv + np.float32(weight) * cv_sets[1]
                if auto:
                    # The held-out scores without the embedding are in hand: compare, no extra fit.
                    encoder_check = compare_held_out(fused[seen], cv[seen], gold[seen])
                if encoder_check is None or encoder_check.helps:
                    sparse_cv, cv = cv[seen], fused
                else:
                    final_dense, projection, encoder = None, None, None
                del fused
            del cv_sets
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
                    oos_recall_weight=recall_weight(config.oos_recall_weight, int((gold == oos_gold).sum())),
                )
        classifier = final.result()
        dense_classifier = None if final_dense is None else final_dense.result()
    del x, dense, final, final_dense, feature_sets, held_out_fits
    if dense_classifier is not None:
        if sparse_cv is not None and config.sentence_encoder_skip_loss is not None:
            # the held-out scores of both models are in hand: learn when the sparse one suffices
            encoder_skip = choose_encoder_skip(
                sparse_cv,
                cv,
                cv_gold,
                classifier.bias,
                allowance=config.sentence_encoder_skip_loss,
                floor=threshold,
            )
        classifier = fuse(classifier, dense_classifier, weight)
    del sparse_cv
    release_freed_memory()
    report("intents", 1.0)

    tagger: CrfTagger | None = None
    if entity_types:
        report("entities", 0.0)
        prepared = prepared or [_prepare(e, hints) for e in examples]
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
        _warn_altered_annotations(examples, [tokens for tokens, _ in prepared])
        trained = CrfTagger.train(
            sequences, config.crf_settings(), n_jobs=config.jobs(), progress=lambda f: report("entities", f)
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
        config=replace(config, sentence_encoder=encoder),
        encoder_check=encoder_check,
        encoder_skip=encoder_skip,
        tfidf=tfidf,
        classifier=classifier,
        projection=projection,
        temperature=temperature,
        threshold=threshold,
        tagger=tagger,
        gazetteer=gazetteer,
        regexes=data.regexes,
        synonyms=synonyms,
        entity_types=entity_types,
    )


LARGE_DATA = 5000
"""Training messages from which `words_min_df` may drop the words seen in one message only."""


def words_min_df(
    config: PipelineConfig, freqs: DocumentFrequencies, n_labels: int, options: FitOptions
) -> int:
    """The `min_df` of words and character n-grams: the configured one, or else chosen by size.

    Chosen, it is 1, but 2 for data of `LARGE_DATA` messages or more whose fit with `options`
    would be in class groups (`intent_classifier.fit_groups`: a one-vs-rest SVM whose
    weights are over 64 MB in float64), CLINC150's shape.
    There, keys seen in one message only are a third of the features and measurably worth
    nothing: with 2, Banking77's training CV(5) gave 91.00 against 90.96 %, SNIPS's 98.77
    against 98.79 %, SNIPS + Banking77 in one model the same accuracy on SNIPS dev and a fold of
    Banking77 (92.63 %), while a CLINC150-sized stand-in trained in 1.5 s less and 33 MB
    smaller, SNIPS + Banking77 in 2.7 s less and 61 MB smaller (docs/nlu.md).  Small data needs
    its single occurrences: on 200 Banking77 messages, 2 lost 2.9 points, and on 1,600, 0.35.
    """
    if config.min_df is not None:
        return config.min_df
    if freqs.n_docs < LARGE_DATA:
        return 1
    n_features = int(freqs.kept(config.block_min_df(1)).sum())
    return 2 if fit_groups(n_labels, n_features, options) is not None else 1


def _warn_altered_annotations(examples: Sequence[Example], tokens: Sequence[Sequence[Token]]) -> None:
    """Say which entity annotations the tagger learns otherwise than written (`altered_spans`).

    One warning per kind, with a count and the first case, so that large data does not flood
    the log; the exact-span entity F1 of such annotations cannot reach 100 %.
    """
    widened: list[tuple[Example, EntitySpan]] = []
    dropped: list[tuple[Example, EntitySpan]] = []
    for example, example_tokens in zip(examples, tokens, strict=True):
        cut, overlapping = altered_spans(example_tokens, example.entities)
        widened += [(example, span) for span in cut]
        dropped += [(example, span) for span in overlapping]
    for found, what in (
        (widened, "start or end inside a word; the tagger learns them as whole words"),
        (dropped, "overlap an earlier annotation (or cover no word); the tagger does not learn them"),
    ):
        if found:
            example, span = found[0]
            surface = example.text[span.start : span.end]
            logger.warning(
                "%d entity annotation(s) %s, e.g. %r (%s) in %r",
                len(found),
                what,
                surface,
                span.entity,
                example.text,
            )


@contextmanager
def _fit_pool(n_jobs: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool for the fits whose queued fits are dropped if the block raises.

    A plain `with ThreadPoolExecutor()` runs every queued fit to the end before the error
    leaves it: Ctrl-C during Banking77's calibration took 4.4 s to stop training.  A fit
    already in liblinear cannot be interrupted; the others never start.
    """
    pool = ThreadPoolExecutor(max_workers=n_jobs)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


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


def held_out_folds(
    folds: I64Array, min_scores: int, is_oos: npt.NDArray[np.bool_] | None = None, min_oos: int = 0
) -> list[int]:
    """The folds to score, in order, until enough held-out scores are in hand.

    Enough is `min_scores` of them and, of the examples `is_oos` marks, `min_oos` (or all of
    them); every fold if never.
    """
    k = int(folds.max()) + 1
    oos_total = 0 if is_oos is None else int(is_oos.sum())
    chosen: list[int] = []
    scored = oos_scored = 0
    for f in range(k):
        chosen.append(f)
        in_fold = folds == f
        scored += int(in_fold.sum())
        if is_oos is not None:
            oos_scored += int((in_fold & is_oos).sum())
        if scored >= min_scores and oos_scored >= min(min_oos, oos_total):
            break
    return chosen


FitScores = Callable[[Any, Sequence[str], Callable[[], Any]], F32Array]


class HeldOutFits:
    """Scores of the examples of the `held_out` folds, each by a model trained on the other folds.

    The fits are submitted to `pool` when this is made, and `collect` waits for them, so
    training can queue its final fits in between.

    For each `(x, fit_scores)` of `feature_sets` (the same examples, different features),
    `fit_scores(train_rows, train_labels, test_rows)` fits and returns the scores of the rows
    `test_rows()` (`intent_classifier.held_out_scores`).  Every fit is submitted at once, so the
    pool's workers never wait for one set to finish before the next starts.
    """

    def __init__(
        self,
        feature_sets: Sequence[tuple[Any, FitScores]],
        y: Sequence[str],
        folds: I64Array,
        held_out: Sequence[int],
        pool: Executor,
    ) -> None:
        self._ys = np.array(y, dtype=object)
        self._folds = folds
        self._n_sets = len(feature_sets)
        self._pending = [
            (s, f, pool.submit(self._scores_of, x, fit_scores, f))
            for f in held_out
            for s, (x, fit_scores) in enumerate(feature_sets)
        ]

    def _scores_of(self, x: Any, fit_scores: FitScores, fold: int) -> F32Array:
        # The fold's rows are copied in the worker when its fit starts, not all up front.
        train = np.flatnonzero(self._folds != fold)
        return fit_scores(x[train], list(self._ys[train]), lambda: x[self._folds == fold])

    def collect(self, progress: Callable[[float], None]) -> tuple[list[F32Array], npt.NDArray[np.bool_]]:
        """The score sets, in `feature_sets`' order, and which examples count.

        The mask marks the examples that were scored and whose label occurred in the training
        part of their fold; the others' rows are zeros.
        """
        ys, folds = self._ys, self._folds
        seen = np.zeros(ys.shape[0], dtype=bool)
        out: list[F32Array | None] = [None] * self._n_sets
        total = len(self._pending)
        for done in range(1, total + 1):
            which, fold, future = self._pending.pop(0)
            scores = future.result()
            del future
            release_freed_memory()
            test = np.flatnonzero(folds == fold)
            block = out[which]
            if block is None:
                block = out[which] = np.zeros((ys.shape[0], scores.shape[1]), dtype=np.float32)
            block[test] = scores
            known = set(ys[folds != fold].tolist())
            seen[test] = [label in known for label in ys[test].tolist()]
            progress(done / total)
        return [block for block in out if block is not None], seen


def _embed(
    examples: Sequence[Example], name: str, config: PipelineConfig, report: Progress
) -> tuple[F32Array, EmbeddingProjection]:
    """Each example's sentence embedding, projected as the model will project a message's."""
    from plaza.nlu.sentence_encoder import open_sentence_encoder  # noqa: PLC0415 - optional extra

    # A session of its own, dropped before the fits: its working memory for batches (and the
    # weights, ~180 MB in all) would otherwise sit under the fits' peak.  The model loads the
    # process's shared session when it is built.
    encoder = open_sentence_encoder(name)
    report("embeddings", 0.0)
    dense = encoder.encode([e.text for e in examples], progress=lambda f: report("embeddings", f))
    del encoder
    release_freed_memory()
    # Unit scale: the embedding has its own classifier, whose scores are weighted when fused.
    projection = EmbeddingProjection.fit(dense, config.sentence_encoder_dims, 1.0)
    return projection.apply(dense), projection


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
