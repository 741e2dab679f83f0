"""The per-bot trained NLU model: intent classifier + out-of-scope decision + entity tagger.

`IntentEntityModel.train(data, config)` fits, `parse(text)` answers, `save`/`load` persist
in a safe, fast format (JSON + memory-mapped `.npy` + crfsuite binaries; no pickle).  The same
class routes across bots: train it with labels = bot names and no entities.

Parse path (no scikit-learn, no scipy): tokenise -> hints (regex, lookup, known values) ->
hashed TF-IDF -> linear scores (plus the sentence embedding's, when the model has the encoder
and the sparse scores alone are not sure: `encoder_skip.py`) -> calibrated softmax ->
out-of-scope decision -> the CRF of the top intent -> entities with synonyms mapped to
canonical values.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import numpy.typing as npt

from plaza.nlu.embedding_projection import EmbeddingProjection
from plaza.nlu.encoder_choice import EncoderCheck
from plaza.nlu.encoder_skip import EncoderSkip
from plaza.nlu.entity_tagger import CrfTagger
from plaza.nlu.features import HashedTfidf, MessageVectorizer
from plaza.nlu.gazetteer import Gazetteer, phrase_key
from plaza.nlu.hints import Hints
from plaza.nlu.intent_classifier import LinearModel, softmax
from plaza.nlu.patterns import PatternSet
from plaza.nlu.pipeline_config import MODEL_VERSION, ModelError, PipelineConfig
from plaza.nlu.tokenizer import Token, tokenize
from plaza.nlu.training import train_model
from plaza.nlu.types import OUT_OF_SCOPE, Entity, IntentScore, RegexFeature, TrainingData

if TYPE_CHECKING:
    from plaza.nlu.sentence_encoder import SentenceEncoder

__all__ = [
    "MODEL_VERSION",
    "IntentEntityModel",
    "ModelError",
    "ModelOutput",
    "PackedOutput",
    "PipelineConfig",
    "fingerprint",
]

DEFAULT_CONFIG = PipelineConfig()
Progress = Callable[[str, float], None]
SMALL_ARRAY_BYTES = 4 * 1024 * 1024
F32Array = npt.NDArray[np.float32]
I64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """What the trained model understood: calibrated intent ranking and entities.

    `intent_ranking[0]` is the decision.  When the top probability is below the calibrated
    threshold it is `out_of_scope` (confidence = 1 - the best in-scope probability) and the
    real ranking follows it.
    """

    intent_ranking: tuple[IntentScore, ...]
    entities: tuple[Entity, ...] = field(default=())
    below_threshold: bool = False
    """True when `out_of_scope` is the decision because the best probability was below the threshold."""

    @property
    def intent(self) -> IntentScore:
        return self.intent_ranking[0]

    @property
    def scores(self) -> tuple[IntentScore, ...]:
        """The ranking without the out-of-scope decision the threshold put on top, if it did."""
        return self.intent_ranking[1:] if self.below_threshold else self.intent_ranking

    def packed(self) -> PackedOutput:
        """This output as plain tuples, for a cache that holds many.

        Tuples of strings and floats are invisible to the garbage collector, and a full collection
        walking a cache of 20,000 rankings of a score object per intent stopped every
        conversation for tens of milliseconds.
        """
        return (
            tuple([s.name for s in self.intent_ranking]),
            tuple([s.confidence for s in self.intent_ranking]),
            self.entities,
            self.below_threshold,
        )

    @classmethod
    def unpacked(cls, packed: PackedOutput, top: int | None = None) -> ModelOutput:
        """The output again; with `top`, only that many of its best intents (all a caller shows)."""
        names, confidences, entities, below = packed
        if top is not None:
            names, confidences = names[:top], confidences[:top]
        return cls(tuple(map(IntentScore, names, confidences)), entities, below)


PackedOutput = tuple[tuple[str, ...], tuple[float, ...], tuple[Entity, ...], bool]


def fingerprint(data: TrainingData, config: PipelineConfig, tag: str = "") -> str:
    """Stable hash of training data, configuration and model code version (a model cache key).

    `tag` names what a model learns besides `data` (a router shard's sample of the other shards,
    `router_shards.SHARD_FORMAT`), so a change of it changes the key; without one the key is
    the data's alone.
    """
    payload = {
        "version": MODEL_VERSION,
        "config": config.to_dict(),
        "examples": [
            [e.text, e.intent, [[s.start, s.end, s.entity, s.value, s.role, s.group] for s in e.entities]]
            for e in data.examples
        ],
        "synonyms": sorted(data.synonyms.items()),
        "lookups": [[t.name, list(t.elements)] for t in data.lookups],
        "regexes": [[r.name, list(r.patterns)] for r in data.regexes],
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    return hashlib.sha256(f"{tag}:{digest}".encode()).hexdigest() if tag else digest


class IntentEntityModel:
    def __init__(
        self,
        *,
        config: PipelineConfig,
        tfidf: HashedTfidf,
        classifier: LinearModel,
        projection: EmbeddingProjection | None = None,
        encoder_check: EncoderCheck | None = None,
        encoder_skip: EncoderSkip | None = None,
        temperature: float,
        threshold: float,
        tagger: CrfTagger | None,
        gazetteer: Gazetteer | None,
        regexes: Sequence[RegexFeature],
        synonyms: Mapping[str, str],
        entity_types: Sequence[str],
    ) -> None:
        self.config = config
        self._vectorizer = MessageVectorizer(config.key_extractor(), tfidf)
        self.tfidf = tfidf
        self.classifier = classifier
        self.temperature = temperature
        self.threshold = threshold
        self.tagger = tagger
        self.gazetteer = gazetteer
        self.regexes = tuple(regexes)
        self.synonyms = dict(synonyms)
        self._entity_types = tuple(entity_types)
        self._hints = Hints(PatternSet(self.regexes), gazetteer, value_extras=config.intent_value_hints)
        self._regex_entities = frozenset(r.name for r in self.regexes) & frozenset(self._entity_types)
        self.projection = projection
        self.encoder_check = encoder_check
        """With `sentence_encoder: auto`, the held-out comparison that decided (not saved)."""
        self.encoder_skip = encoder_skip
        """When a parse answers without the encoder (`encoder_skip.py`); None: never."""
        self._encoder: SentenceEncoder | None = None
        if config.sentence_encoder is not None:
            from plaza.nlu.sentence_encoder import load_sentence_encoder  # noqa: PLC0415 - optional extra

            if projection is None or classifier.weights.shape[0] != tfidf.n_features + projection.dims:
                raise ModelError("the model's weights do not match its sentence encoder (retrain)")
            self._encoder = load_sentence_encoder(config.sentence_encoder)
            # The embedding block's weight rows follow the sparse features' (training appends its
            # columns); projection and weights fold into one (dim, classes) matrix and a bias.
            block = np.asarray(classifier.weights[tfidf.n_features :], dtype=np.float32)
            self._dense_weights = projection.matrix @ block
            self._dense_bias = classifier.bias - projection.mean @ self._dense_weights

    # ------------------------------------------------------------------------------------ public

    @property
    def intents(self) -> tuple[str, ...]:
        return self.classifier.labels

    @property
    def entity_types(self) -> tuple[str, ...]:
        return self._entity_types

    @classmethod
    def train(
        cls,
        data: TrainingData,
        config: PipelineConfig = DEFAULT_CONFIG,
        *,
        progress: Progress | None = None,
    ) -> IntentEntityModel:
        """Fit on `data`; `progress(stage, fraction)` is called as training advances (for a CLI bar)."""
        return train_model(cls, data, config, progress=progress)

    def parse(self, text: str) -> ModelOutput:
        tokens = tokenize(text)
        hints = self._hints.compute(tokens, text)
        probs = self.probabilities(text, tokens, hints.extras)
        labels = self.classifier.labels
        p: list[float] = probs.tolist()
        order = sorted(range(len(p)), key=p.__getitem__, reverse=True)  # stable: ties keep label order
        ranking = tuple([IntentScore(labels[i], p[i]) for i in order])
        top = ranking[0]
        below = top.name != OUT_OF_SCOPE and top.confidence < self.threshold
        if below:
            rest = tuple(s for s in ranking if s.name != OUT_OF_SCOPE)
            ranking = (IntentScore(OUT_OF_SCOPE, 1.0 - top.confidence), *rest)
        entities = self._entities(text, tokens, hints.token_marks, hints.regex_spans, top.name)
        return ModelOutput(ranking, entities, below)

    @property
    def reads_hints(self) -> bool:
        """Whether regexes or known values add features: a router trained on bare messages has none."""
        return bool(self.regexes) or (self.gazetteer is not None and len(self.gazetteer) > 0)

    def embed(self, text: str) -> F32Array | None:
        """The message's sentence embedding; None for a model without a sentence encoder."""
        return None if self._encoder is None else self._encoder.encode_one(text)

    def prior_scores(self, embedding: F32Array) -> F32Array:
        """The scores of a model with a sentence encoder before its sparse features.

        The embedding's block and the bias, in a new array.
        """
        if self._encoder is None:
            raise ModelError("this model has no sentence encoder: its prior is its bias")
        prior: F32Array = np.einsum("i,ij->j", embedding, self._dense_weights) + self._dense_bias
        return prior

    def intent_probabilities(self, text: str, tokens: Sequence[Token]) -> F32Array:
        """The calibrated probability of each of `intents`, hints included."""
        return self.probabilities(text, tokens, self._hints.compute(tokens, text).extras)

    def probabilities(self, text: str, tokens: Sequence[Token], extras: Sequence[str]) -> F32Array:
        cols, vals = self._vectorizer.vector(tokens, extras)
        if self._encoder is None:
            return softmax(self.classifier.scores(cols, vals), self.temperature)
        sparse, sure = self._sparse_part(cols, vals)
        if sure is not None:
            return sure
        scores = self.prior_scores(self._encoder.encode_one(text))
        scores += sparse
        return softmax(scores, self.temperature)

    def skips_encoder(self, text: str) -> bool:
        """Whether `parse(text)` answers without the sentence encoder (evaluation reports the share)."""
        if self._encoder is None:
            return True
        tokens = tokenize(text)
        cols, vals = self._vectorizer.vector(tokens, self._hints.compute(tokens, text).extras)
        return self._sparse_part(cols, vals)[1] is not None

    def _sparse_part(self, cols: I64Array, vals: F32Array) -> tuple[F32Array, F32Array | None]:
        """The sparse features' scores (no bias), and the sparse answer when it is sure enough."""
        # einsum, not `@`: a product this size wakes OpenBLAS's threads, which then spin against
        # onnxruntime's for the same cores (Banking77: p50 2.3 ms instead of 1.7 ms)
        if cols.shape[0]:
            sparse: F32Array = np.einsum("i,ij->j", vals, self.classifier.weights[cols])
        else:
            sparse = np.zeros(len(self.classifier.labels), dtype=np.float32)
        sure = None if self.encoder_skip is None else self.encoder_skip.probabilities(sparse)
        return sparse, sure

    # ------------------------------------------------------------------------------- entities

    def _entities(
        self,
        text: str,
        tokens: Sequence[Token],
        marks: Sequence[Sequence[str]],
        regex_spans: Sequence[tuple[int, int, str]],
        intent: str,
    ) -> tuple[Entity, ...]:
        out: list[Entity] = []
        if self.tagger is not None:
            for span in self.tagger.tag(tokens, marks, intent):
                start, end = tokens[span.first].start, tokens[span.end - 1].end
                surface = text[start:end]
                key = " ".join(t.norm for t in tokens[span.first : span.end])
                value = self.synonyms.get(key, surface)
                out.append(
                    Entity(
                        span.entity, value, start, end, surface, "crf", span.confidence, span.role, span.group
                    )
                )
        for start, end, name in regex_spans:
            if name not in self._regex_entities:
                continue
            # A pattern states the exact form: it replaces a CRF guess of the same type it overlaps.
            out = [
                e
                for e in out
                if not (e.entity == name and e.start < end and e.end > start and e.extractor == "crf")
            ]
            if not any(e.start < end and e.end > start for e in out):
                surface = text[start:end]
                value = self.synonyms.get(" ".join(phrase_key(surface)), surface)
                out.append(Entity(name, value, start, end, surface, "regex"))
        out.sort(key=lambda e: (e.start, e.end))
        return tuple(out)

    # ------------------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write the model into `directory` (created); `model.json` is written last.

        Every file is written under a temporary name and renamed into place, so a process that
        has the previous model loaded (its arrays are memory-mapped) keeps reading intact files.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, npt.NDArray[Any]] = {
            "keys": self.tfidf.keys,
            "blocks": self.tfidf.blocks,
            "idf": self.tfidf.idf,
            "weights": self.classifier.weights,
            "bias": self.classifier.bias,
        }
        if self.projection is not None:
            arrays["embedding_mean"] = self.projection.mean
            arrays["embedding_matrix"] = self.projection.matrix
        if self.encoder_skip is not None:
            arrays["sparse_bias"] = self.encoder_skip.bias
        for name, array in arrays.items():
            _atomic_write(directory / f"{name}.npy", partial(_save_array, array=array))
        crf_files: dict[str, str] = {}
        if self.tagger is not None:
            for index, (key, blob) in enumerate(sorted(self.tagger.models.items())):
                name = f"crf-{index}.crfsuite"
                _atomic_write(directory / name, partial(_write_bytes, data=blob))
                crf_files[key] = name
        gaz = json.dumps(self.gazetteer.to_json() if self.gazetteer is not None else None, ensure_ascii=False)
        _atomic_write(directory / "gazetteer.json", partial(_write_bytes, data=gaz.encode("utf-8")))
        meta = {
            "format": MODEL_VERSION,
            "config": self.config.to_dict(),
            "labels": list(self.classifier.labels),
            "block_weights": self.tfidf.block_weights.tolist(),
            "temperature": self.temperature,
            "threshold": self.threshold,
            "encoder_skip": None if self.encoder_skip is None else self.encoder_skip.to_json(),
            "entity_types": list(self._entity_types),
            "regexes": [[r.name, list(r.patterns)] for r in self.regexes],
            "synonyms": self.synonyms,
            "crf_files": crf_files,
        }
        text = json.dumps(meta, ensure_ascii=False, indent=1)
        _atomic_write(directory / "model.json", partial(_write_bytes, data=text.encode("utf-8")))

    @classmethod
    def load(cls, directory: Path) -> IntentEntityModel:
        """Read a saved model; the large arrays are memory-mapped (loading takes milliseconds)."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
            if meta.get("format") != MODEL_VERSION:
                raise ModelError(
                    f"{directory}: model format {meta.get('format')!r}, this code reads {MODEL_VERSION!r}"
                    " (retrain)"
                )
            config = PipelineConfig.from_dict(meta["config"])

            def array(name: str) -> Any:
                # large arrays stay memory-mapped (many bots share the page cache); small ones
                # are read into memory, where indexing them costs less than a memmap's wrapper
                mapped = np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                return np.array(mapped) if mapped.nbytes < SMALL_ARRAY_BYTES else mapped

            tfidf = HashedTfidf(array("keys"), array("blocks"), array("idf"), meta["block_weights"])
            classifier = LinearModel(meta["labels"], array("weights"), np.array(array("bias")))
            projection = None
            if config.sentence_encoder is not None:
                projection = EmbeddingProjection(array("embedding_mean"), array("embedding_matrix"))
            skip = meta["encoder_skip"]
            encoder_skip = None
            if skip is not None:
                encoder_skip = EncoderSkip.from_json(skip, np.array(array("sparse_bias")))
                if encoder_skip.bias.shape != (len(meta["labels"]),):
                    raise ModelError(
                        f"{directory}: sparse_bias.npy does not match the model's intents (retrain)"
                    )
            crf_files: dict[str, str] = meta["crf_files"]
            tagger = None
            if crf_files:
                blobs = {key: (directory / name).read_bytes() for key, name in crf_files.items()}
                tagger = CrfTagger(blobs, config.crf_settings())
            gaz_raw = json.loads((directory / "gazetteer.json").read_text(encoding="utf-8"))
            gazetteer = Gazetteer.from_json(gaz_raw) if gaz_raw is not None else None
            return cls(
                config=config,
                tfidf=tfidf,
                classifier=classifier,
                projection=projection,
                encoder_skip=encoder_skip,
                temperature=float(meta["temperature"]),
                threshold=float(meta["threshold"]),
                tagger=tagger,
                gazetteer=gazetteer,
                regexes=[RegexFeature(name, tuple(patterns)) for name, patterns in meta["regexes"]],
                synonyms=meta["synonyms"],
                entity_types=meta["entity_types"],
            )
        except ModelError:
            raise
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{directory}: cannot load NLU model: {exc}") from None


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_array(fh: BinaryIO, *, array: npt.NDArray[Any]) -> None:
    np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


def _write_bytes(fh: BinaryIO, *, data: bytes) -> None:
    fh.write(data)
