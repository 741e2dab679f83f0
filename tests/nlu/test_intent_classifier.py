from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from plaza.nlu.calibration import (
    MAX_QUANTILE_THRESHOLD,
    choose_threshold,
    fit_temperature,
    recall_weight_for,
)
from plaza.nlu.features import (
    BLOCK_CHAR,
    BLOCK_EXTRA,
    BLOCK_PAIR,
    BLOCK_WORD,
    DocumentFrequencies,
    HashedTfidf,
    KeyExtractor,
    MessageVectorizer,
    hash_key,
)
from plaza.nlu.intent_classifier import FitOptions, PendingModel, class_groups, softmax, train_linear
from plaza.nlu.tokenizer import tokenize
from tests.nlu.recording_pool import RecordingPool


def test_hash_key_is_stable() -> None:
    # Fixed value: a model saved by one process must be read by another (Python's hash() is salted).
    assert hash_key("wbook") == hash_key("wbook")
    assert hash_key("wbook") != hash_key("wbooks")
    assert hash_key("wbook") == 0xE4CAA56771B7EF


def test_extractor_blocks_and_cache() -> None:
    ex = KeyExtractor(word_ngrams=2, char_min=2, char_max=3, pair_window=5)
    doc = ex.extract(tokenize("Book book, table"), ["rx:ref"])
    blocks = doc.blocks.tolist()
    # char n-grams: " book " twice (5 bigrams + 4 trigrams), " , " (2 + 1), " table " (6 + 5)
    assert blocks.count(BLOCK_CHAR) == 18 + 3 + 11
    assert blocks.count(BLOCK_WORD) == 4 + 3  # 4 unigrams, 3 bigrams
    assert blocks.count(BLOCK_PAIR) == 3  # pairs of the 3 words, the comma is not a word
    assert blocks.count(BLOCK_EXTRA) == 1
    assert doc.keys[:9].tolist() == doc.keys[9:18].tolist()  # same normalised word, same keys
    assert len(doc.keys) == len(doc.blocks)
    again = ex.extract(tokenize("table book BOOK"))
    pairs = set(doc.keys[doc.blocks == BLOCK_PAIR].tolist())
    assert pairs == set(again.keys[again.blocks == BLOCK_PAIR].tolist())  # pairs ignore order


@pytest.mark.parametrize("window", [1, 3, 6, 10**9])
def test_word_pairs_are_those_within_the_window(window: int) -> None:
    ex = KeyExtractor(word_ngrams=1, char_min=2, char_max=2, pair_window=window)
    for n in range(12):
        i, j = np.triu_indices(n, k=1)
        near = (j - i) <= window
        got_i, got_j = ex._pairs(n)
        assert got_i.tolist() == i[near].tolist()
        assert got_j.tolist() == j[near].tolist()


def test_a_very_long_message_has_linearly_many_pairs() -> None:
    ex = KeyExtractor(word_ngrams=1, char_min=2, char_max=3, pair_window=6)
    doc = ex.extract(tokenize("pay " + "bob " * 20_000))
    assert (doc.blocks == BLOCK_PAIR).sum() == 20_001 * 6 - (1 + 2 + 3 + 4 + 5 + 6)  # fewer near the end


def test_tfidf_vectors_are_block_normalised_and_ignore_unknown_keys() -> None:
    ex = KeyExtractor(word_ngrams=1, char_min=2, char_max=3)
    docs = [ex.extract(tokenize(t)) for t in ["book a table", "order a taxi", "book a taxi"]]
    tfidf = HashedTfidf.fit(docs, min_df=(1, 1, 1, 1), block_weights=(1.0, 1.0, 1.0, 1.0))
    cols, vals = tfidf.transform_one(ex.extract(tokenize("book zzzz")))
    assert np.all(np.diff(cols) > 0)
    blocks = tfidf.blocks[cols]
    for b in (BLOCK_WORD, BLOCK_CHAR):
        assert np.isclose(np.sum(vals[blocks == b] ** 2), 1.0, atol=1e-5)
    empty_cols, empty_vals = tfidf.transform_one(ex.extract(tokenize("zzzz")))
    assert empty_cols.shape == (0,) or np.all(tfidf.blocks[empty_cols] == BLOCK_CHAR)


@pytest.mark.parametrize("loss", ["svm", "logreg"])
def test_train_linear_multiclass_and_binary(loss: str) -> None:
    x = csr_matrix(
        np.array(
            [[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.8, 0.2], [0, 0, 1], [0.1, 0, 0.9]], dtype=np.float32
        )
    )
    model = train_linear(x, ["a", "a", "b", "b", "c", "c"], ["a", "b", "c"], FitOptions(loss, 10.0, None, 0))
    scores = model.scores(np.array([1]), np.array([1.0], dtype=np.float32))
    assert model.labels[int(np.argmax(scores))] == "b"
    binary = train_linear(x[:4], ["a", "a", "b", "b"], ["a", "b"], FitOptions(loss, 10.0, None, 0))
    s = binary.scores(np.array([0]), np.array([1.0], dtype=np.float32))
    assert s[0] > s[1]


def test_class_groups_split_only_large_weight_matrices() -> None:
    assert class_groups(77, 72_651) == [range(77)]  # Banking77: 44 MB of float64 weights, one call
    groups = class_groups(151, 90_000)  # CLINC150-sized: 104 MB
    assert len(groups) > 1
    assert [i for g in groups for i in g] == list(range(151))
    assert all(len(g) >= 2 for g in groups)
    assert all(8 * 90_000 * len(g) <= 16 * 2**20 for g in groups[:-1])
    # Groups are even and never of one class.
    assert [len(g) for g in class_groups(5, 4 * 2**20)] == [2, 3]


def _clusters(seed: int, n_classes: int, per_class: int, n_features: int) -> tuple[Any, list[str], list[str]]:
    """Noisy clusters around random centres: a small problem one-vs-rest fits well."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, n_features))
    rows = np.vstack(
        [centres[k] + rng.normal(scale=1.5, size=(per_class, n_features)) for k in range(n_classes)]
    )
    labels = [f"intent{k}" for k in range(n_classes)]
    return (
        csr_matrix(np.maximum(rows, 0.0)),
        [labels[k] for k in range(n_classes) for _ in range(per_class)],
        labels,
    )


def test_grouped_one_vs_rest_gives_the_single_fits_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    import plaza.nlu.intent_classifier as ic

    n_classes, per_class, n_features = 7, 30, 40
    x, y, labels = _clusters(0, n_classes, per_class, n_features)
    whole = train_linear(x, y, labels, FitOptions("svm", 1.0, None, 0))
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(ic, "GROUP_BYTES", 8 * n_features * 3)  # at most 3 classes' weights a group
    assert [len(g) for g in class_groups(n_classes, n_features)] == [2, 3, 2]
    grouped = train_linear(x, y, labels, FitOptions("svm", 1.0, None, 0))
    assert grouped.labels == whole.labels
    np.testing.assert_allclose(grouped.weights, whole.weights, atol=1e-3)
    np.testing.assert_allclose(grouped.bias, whole.bias, atol=1e-3)
    dense = x.toarray().astype(np.float32)
    assert np.array_equal((dense @ grouped.weights).argmax(1), (dense @ whole.weights).argmax(1))
    # A group with one class present (and the rest) is a binary problem: same weights again.
    keep = [i for i, label in enumerate(y) if label != "intent1"]
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 1 << 62)
    whole_part = train_linear(x[keep], [y[i] for i in keep], labels, FitOptions("svm", 1.0, None, 0))
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)
    grouped_part = train_linear(x[keep], [y[i] for i in keep], labels, FitOptions("svm", 1.0, None, 0))
    np.testing.assert_allclose(grouped_part.weights, whole_part.weights, atol=1e-3)
    np.testing.assert_allclose(grouped_part.bias, whole_part.bias, atol=1e-3)
    # A calibration fold may hold no example of a whole group: those classes keep the floor bias.
    absent = train_linear(x[: 3 * per_class], y[: 3 * per_class], labels, FitOptions("svm", 1.0, None, 0))
    assert np.all(absent.bias[3:] == -1e3)
    assert np.all(absent.weights[:, 3:] == 0)


def test_held_out_scores_are_the_fitted_models_scores_without_keeping_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calibration's scores, grouped or in one call, are those of the model `train_linear` fits."""
    from plaza.nlu import intent_classifier as ic

    n_classes, per_class, n_features = 7, 30, 40
    x, y, labels = _clusters(3, n_classes, per_class, n_features)
    train = [i for i in range(len(y)) if i % 3 and y[i] != "intent6"]  # one class absent from the fold
    test = [i for i in range(len(y)) if not i % 3]
    options = FitOptions("svm", 1.0, None, 0)
    for split in (1 << 62, 0):  # one call, then a group of at most 3 classes at a time
        monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", split)
        monkeypatch.setattr(ic, "GROUP_BYTES", 8 * n_features * 3)
        model = train_linear(x[train], [y[i] for i in train], labels, options)
        scores = ic.held_out_scores(x[train], [y[i] for i in train], lambda: x[test], labels, options)
        expected = x[test].toarray().astype(np.float32) @ model.weights + model.bias
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-4)
        assert scores.dtype == np.float32
        assert np.all(scores[:, 6] == -1e3)  # the absent class keeps the floor


def test_softmax_and_temperature() -> None:
    p = softmax(np.array([[2.0, 1.0, 0.0]], dtype=np.float32), 1.0)
    assert np.isclose(p.sum(), 1.0)
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 500)
    scores = rng.normal(size=(500, 3)).astype(np.float32)
    scores[np.arange(500), gold] += 1.0
    t_sharp = fit_temperature(scores * 10, gold)
    t_plain = fit_temperature(scores, gold)
    assert t_sharp == pytest.approx(10 * t_plain, rel=0.05)


def test_threshold_with_oos_examples_separates() -> None:
    labels = ["a", "b", "out_of_scope"]
    # in-scope answered confidently, out-of-scope predicted 'a' with low confidence
    probs = np.array([[0.9, 0.05, 0.05]] * 10 + [[0.45, 0.3, 0.25]] * 10, dtype=np.float32)
    gold = np.array([0] * 10 + [2] * 10)
    t = choose_threshold(probs, gold, labels, "out_of_scope", max_false_rejection=0.01, oos_recall_weight=0.5)
    assert 0.45 < t <= 0.9


def test_threshold_without_oos_examples_rejects_a_small_share() -> None:
    rng = np.random.default_rng(1)
    top = rng.uniform(0.3, 1.0, 1000)
    probs = np.stack([top, 1 - top], axis=1).astype(np.float32)
    gold = np.zeros(1000, dtype=np.int64)  # right when top > 0.5
    t = choose_threshold(
        probs, gold, ["a", "b"], "out_of_scope", max_false_rejection=0.02, oos_recall_weight=0.5
    )
    correct = top > 0.5
    assert np.mean(top[correct] < t) == pytest.approx(0.02, abs=0.005)


def test_threshold_without_oos_examples_stays_below_saturated_scores() -> None:
    """Templated data: every held-out right answer scores 1.0, so the quantile is 1.0."""
    probs = np.array([[1.0, 0.0]] * 99 + [[0.3, 0.7]], dtype=np.float32)
    gold = np.zeros(100, dtype=np.int64)
    t = choose_threshold(
        probs, gold, ["a", "b"], "out_of_scope", max_false_rejection=0.002, oos_recall_weight=0.5
    )
    assert t == MAX_QUANTILE_THRESHOLD == 0.9  # an answer 0.99998 sure is not rejected


def test_cached_vectorizer_matches_the_training_path() -> None:
    ex = KeyExtractor(word_ngrams=2, char_min=2, char_max=5, pair_window=20)
    texts = ["book a table for two", "order a taxi to the airport", "book a taxi", "table table table"]
    docs = [ex.extract(tokenize(t), ["x"] if "taxi" in t else []) for t in texts]
    tfidf = HashedTfidf.fit(docs, min_df=(1, 1, 1, 1), block_weights=(1.0, 0.8, 0.5, 0.3))
    vec = MessageVectorizer(KeyExtractor(word_ngrams=2, char_min=2, char_max=5, pair_window=20), tfidf)
    for t in [*texts, "a taxi for the table, unknown words", ""]:
        extras = ["x"] if "taxi" in t else []
        want_cols, want_vals = tfidf.transform_one(ex.extract(tokenize(t), extras))
        for _ in range(2):  # second time from the cache
            cols, vals = vec.vector(tokenize(t), extras)
            assert cols.tolist() == want_cols.tolist()
            assert np.allclose(vals, want_vals)
    indptr, indices, data = tfidf.transform_many(docs)
    for i, doc in enumerate(docs):
        cols, vals = tfidf.transform_one(doc)
        assert indices[indptr[i] : indptr[i + 1]].tolist() == cols.tolist()
        assert np.allclose(data[indptr[i] : indptr[i + 1]], vals)


def test_pending_model_fits_its_class_groups_in_two_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    import plaza.nlu.intent_classifier as ic

    n_classes, per_class, n_features = 7, 30, 40
    x, y, labels = _clusters(1, n_classes, per_class, n_features)
    options = FitOptions("svm", 1.0, None, 0)
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(ic, "GROUP_BYTES", 8 * n_features * 3)  # groups of 2, 3 and 2 classes
    grouped = train_linear(x, y, labels, options)
    pending = PendingModel(x, y, labels, options)
    assert pending.in_groups
    with RecordingPool() as pool:
        pending.submit(pool)
        model = pending.result()
    assert pool.tasks == ["_fit_groups"] * 2
    assert model.labels == grouped.labels
    # The same liblinear calls (up to its random visiting order, whose generator overlapping
    # fits share).
    np.testing.assert_allclose(model.weights, grouped.weights, atol=1e-3)
    np.testing.assert_allclose(model.bias, grouped.bias, atol=1e-3)
    # A group none of whose classes is in the data keeps no weights and the floor bias.
    part_fit = PendingModel(x[: 3 * per_class], y[: 3 * per_class], labels, options)
    with RecordingPool() as pool:
        part_fit.submit(pool)
        part = part_fit.result()
    assert np.all(part.bias[3:] == -1e3)
    assert np.all(part.weights[:, 3:] == 0)
    np.testing.assert_allclose(part.weights, train_linear(x[:90], y[:90], labels, options).weights, atol=1e-3)
    # Small weights: one task, train_linear's own model.
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 1 << 62)
    one_call = PendingModel(x, y, labels, options)
    assert not one_call.in_groups
    with pytest.raises(RuntimeError, match="before submit"):
        one_call.result()
    with RecordingPool() as pool:
        one_call.submit(pool)
        whole = one_call.result()
    assert pool.tasks == ["train_linear"]
    np.testing.assert_array_equal(whole.weights, train_linear(x, y, labels, options).weights)


def test_pending_model_fits_at_most_two_groups_at_once_however_many_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each group fit holds liblinear's copy of every row: eight at once took 910 MB, not 510."""
    import threading
    import time

    import plaza.nlu.intent_classifier as ic

    x, y, labels = _clusters(3, 12, 10, 8)
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(ic, "GROUP_BYTES", 1)  # six groups of two classes
    real = ic.fit_class_group
    running, most, fitted = 0, 0, []
    lock = threading.Lock()

    def counting(x: Any, yi: Any, classes: range, options: FitOptions) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
            fitted.append(classes)
        return real(x, yi, classes, options)

    monkeypatch.setattr(ic, "fit_class_group", counting)
    pending = PendingModel(x, y, labels, FitOptions("svm", 1.0, None, 0))
    with ThreadPoolExecutor(max_workers=8) as pool:
        pending.submit(pool)
        model = pending.result()
    assert most == 2
    assert sorted(g.start for g in fitted) == [0, 2, 4, 6, 8, 10]
    assert np.all(model.bias > -1e3)  # every group's columns were written


def test_pending_model_raises_what_any_group_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import plaza.nlu.intent_classifier as ic

    x, y, labels = _clusters(2, 8, 10, 12)
    monkeypatch.setattr(ic, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(ic, "GROUP_BYTES", 1)  # four groups of two classes
    real = ic.fit_class_group

    def last_fails(x: Any, yi: Any, classes: range, options: FitOptions) -> Any:
        if classes.start == 0:
            time.sleep(0.3)  # the first task is busy: the other fits the rest, and fails
        if classes.stop == 8:
            raise MemoryError("no room for the last group")
        return real(x, yi, classes, options)

    monkeypatch.setattr(ic, "fit_class_group", last_fails)
    pending = PendingModel(x, y, labels, FitOptions("svm", 1.0, None, 0))
    with RecordingPool() as pool:
        pending.submit(pool)
        with pytest.raises(MemoryError, match="no room"):
            pending.result()


def test_document_frequencies_count_messages_not_occurrences() -> None:
    ex = KeyExtractor(word_ngrams=1, char_min=2, char_max=2, pair_window=0)
    docs = [ex.extract(tokenize(t)) for t in ["taxi taxi now", "a taxi", "soup"]]
    freqs = DocumentFrequencies.count(docs)
    assert freqs.n_docs == 3
    word = freqs.blocks == BLOCK_WORD
    assert sorted(freqs.df[word].tolist()) == [1, 1, 1, 2]  # a, now, soup once; taxi in two messages
    assert np.all(np.diff(freqs.keys.astype(np.float64)) > 0)  # sorted and unique
    # min_df 2 for words keeps "taxi" alone among them; the characters are kept at 1.
    keep = freqs.kept((2, 1, 1, 1))
    assert int((keep & word).sum()) == 1
    assert np.array_equal(keep[~word], np.ones(int((~word).sum()), dtype=bool))
    tfidf = HashedTfidf.from_frequencies(freqs, min_df=(2, 1, 1, 1), block_weights=(1.0, 1.0, 1.0, 1.0))
    fitted = HashedTfidf.fit(docs, min_df=(2, 1, 1, 1), block_weights=(1.0, 1.0, 1.0, 1.0))
    assert np.array_equal(tfidf.keys, fitted.keys)
    assert np.array_equal(tfidf.idf, fitted.idf)
    assert DocumentFrequencies.count([]).keys.shape == (0,)


def test_threshold_weighs_oos_recall_against_in_scope_accuracy() -> None:
    """Right in-scope answers at 0.6 and 0.9; out-of-scope messages answered in scope at 0.5 and 0.7.

    Rejecting below 0.55 catches half the OOS messages for nothing (1 - w/2); below 0.8 also the
    other half, at the cost of half the in-scope answers (1/2 + w/2): the second wins past w = 1/2.
    """
    labels = ["a", "b", "out_of_scope"]
    probs = np.array(
        [[0.6, 0.3, 0.1]] * 50 + [[0.9, 0.05, 0.05]] * 50 + [[0.5, 0.3, 0.2]] * 5 + [[0.7, 0.2, 0.1]] * 5,
        dtype=np.float32,
    )
    gold = np.array([0] * 100 + [2] * 10)

    def threshold(w: float) -> float:
        return choose_threshold(
            probs, gold, labels, "out_of_scope", max_false_rejection=0.0, oos_recall_weight=w
        )

    assert 0.5 < threshold(0.2) < 0.6
    assert 0.5 < threshold(0.5) < 0.6  # a tie: the first best cut is taken
    assert 0.7 < threshold(0.9) < 0.9  # OOS recall weighs most: every OOS message is caught
    assert threshold(0.0) == 0.0  # only in-scope accuracy counts: nothing need be rejected


def test_the_recall_weight_grows_with_the_oos_examples_between_100_and_400() -> None:
    assert recall_weight_for(1) == recall_weight_for(100) == 0.3
    assert recall_weight_for(400) == recall_weight_for(10_000) == 0.4
    assert recall_weight_for(200) == pytest.approx(0.35)  # half-way on a log scale
    weights = [recall_weight_for(n) for n in range(90, 420)]
    assert weights == sorted(weights)
