"""The trained entity tagger: linear-chain CRFs (python-crfsuite) over token features.

Tagging is conditioned on the intent: one CRF per intent that has annotated examples
(`per_intent=True`, the default), chosen by the classifier's top in-scope intent at parse
time.  A message's slots depend on what is asked (the same words are an `artist` in
PlayMusic and an `object_name` in SearchCreativeWork), each small CRF has only its intent's
labels (training cost grows with the square of the label count), and an intent without
entities costs nothing.  `per_intent=False` trains one shared CRF instead, with the intent
added as a feature.

Labels are BIO over tokens (`B-city`, `I-city`, `O`); an entity's role and group are folded
into its label (`city|r=destination`), so "from X to Y" learns origin vs destination.
The CRF models are crfsuite's own binary format, kept as bytes and opened in memory
(`Tagger.open_inmemory`), so saving is writing the bytes and loading is reading them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pycrfsuite

from plaza.nlu.crf_worker import train_to_file
from plaza.nlu.tokenizer import Token
from plaza.nlu.types import EntitySpan

__all__ = [
    "CrfSettings",
    "CrfTagger",
    "TaggedSpan",
    "altered_spans",
    "bio_labels",
    "decode_bio",
    "sequence_features",
    "training_cost",
    "training_plan",
]

SHARED = "*"
"""Model key of the single shared CRF (`per_intent=False`)."""

_SHAPE_UPPER = re.compile(r"[A-Z]+")
_SHAPE_LOWER = re.compile(r"[a-z]+")
_SHAPE_DIGIT = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class CrfSettings:
    algorithm: str = "lbfgs"
    c1: float = 0.05
    c2: float = 0.01
    max_iterations: int = 100
    window: int = 2
    per_intent: bool = True
    lbfgs_max_cost: float = 1.5e8
    """A CRF whose `training_cost` is above this trains with passive-aggressive updates, not L-BFGS."""
    fast_iterations: int = 10
    """Passes of those passive-aggressive updates."""


@dataclass(frozen=True, slots=True)
class TaggedSpan:
    first: int
    """Index of the first token."""
    end: int
    """Index after the last token."""
    entity: str
    role: str | None
    group: str | None
    confidence: float


def encode_label(entity: str, role: str | None, group: str | None) -> str:
    label = entity
    if role is not None:
        label += "|r=" + role
    if group is not None:
        label += "|g=" + group
    return label


def decode_label(label: str) -> tuple[str, str | None, str | None]:
    entity, role, group = label, None, None
    if "|g=" in entity:
        entity, group = entity.split("|g=", 1)
    if "|r=" in entity:
        entity, role = entity.split("|r=", 1)
    return entity, role, group


def bio_labels(tokens: Sequence[Token], spans: Sequence[EntitySpan]) -> list[str]:
    """BIO labels: a token belongs to a span it overlaps (annotations are snapped to tokens)."""
    labels = ["O"] * len(tokens)
    for span, inside in _placed_spans(tokens, spans):
        label = encode_label(span.entity, span.role, span.group)
        for k, i in enumerate(inside):
            labels[i] = ("B-" if k == 0 else "I-") + label
    return labels


def altered_spans(
    tokens: Sequence[Token], spans: Sequence[EntitySpan]
) -> tuple[list[EntitySpan], list[EntitySpan]]:
    """The annotations `bio_labels` cannot keep as written: (widened, dropped).

    Widened: the span starts or ends inside a word, and the tagger labels whole words.
    Dropped: the span overlaps an earlier one (a CRF labels each token once).  Rasa's
    tokenizers and CRF do the same, with a warning; training warns too.
    """
    placed = {id(span): inside for span, inside in _placed_spans(tokens, spans)}
    widened, dropped = [], []
    for span in spans:
        inside = placed.get(id(span))
        if inside is None:
            dropped.append(span)
        elif tokens[inside[0]].start != span.start or tokens[inside[-1]].end != span.end:
            widened.append(span)
    return widened, dropped


def _placed_spans(
    tokens: Sequence[Token], spans: Sequence[EntitySpan]
) -> Iterator[tuple[EntitySpan, list[int]]]:
    """Each span the tagger learns, with the indices of its tokens; longest first at one start."""
    taken: set[int] = set()
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        inside = [i for i, t in enumerate(tokens) if t.start < span.end and t.end > span.start]
        if not inside or taken.intersection(inside):
            continue  # empty or overlapping a previous span
        taken.update(inside)
        yield span, inside


def decode_bio(labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first, end, label) spans; an `I-x` without an open `x` starts a span (conlleval)."""
    out: list[tuple[int, int, str]] = []
    cur: str | None = None
    first = 0
    for i, lab in enumerate([*labels, "O"]):
        inner = lab[2:] if lab.startswith("I-") else None
        if cur is not None and inner != cur:
            out.append((first, i, cur))
            cur = None
        if lab.startswith("B-") or (inner is not None and cur is None):
            cur, first = lab[2:], i
    return out


def _shape(text: str) -> str:
    s = _SHAPE_DIGIT.sub("0", _SHAPE_LOWER.sub("a", _SHAPE_UPPER.sub("A", text)))
    return s if s.isascii() else "u"


_TokenStrings = tuple[list[str], list[str], list[str]]
_CACHE: dict[tuple[str, str, int], _TokenStrings] = {}
_CACHE_SIZE = 200_000
_PAD_LEFT = "<s>"
_PAD_RIGHT = "</s>"


def _token_strings(text: str, norm: str, window: int) -> _TokenStrings:
    """A word's own attributes, and the attributes it gives its neighbours, cached per word.

    Returns (own, as_left, as_right): `as_left[o-1]` is what a token `o` places to the right
    of this word receives ("w-o:word"), `as_right[o-1]` the same for a token `o` to the left.
    """
    key = (text, norm, window)
    hit = _CACHE.get(key)
    if hit is None:
        own = ["b", "w:" + norm, "p3:" + norm[:3], "s3:" + norm[-3:], "s2:" + norm[-2:], "sh:" + _shape(text)]
        as_left = [f"w-{o}:{norm}" for o in range(1, window + 1)]
        as_right = [f"w+{o}:{norm}" for o in range(1, window + 1)]
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        hit = _CACHE[key] = (own, as_left, as_right)
    return hit


def sequence_features(
    tokens: Sequence[Token], marks: Sequence[Sequence[str]], *, window: int, intent: str | None = None
) -> list[list[str]]:
    """Attribute lists for crfsuite, one per token.

    Per token: bias, word, prefix/suffixes, shape; the words `window` tokens around it; the
    bigrams with its neighbours; `marks`, extra attributes computed by the caller (gazetteer and
    regex hits).  `intent`, when given, is conjoined with every attribute (shared-model mode).
    Strings that depend on one word only are cached (this runs on every parse).
    """
    norms = [t.norm for t in tokens]
    n = len(tokens)
    strings = [_token_strings(t.text, t.norm, window) for t in tokens]
    pads = _token_strings(_PAD_LEFT, _PAD_LEFT, window)[1], _token_strings(_PAD_RIGHT, _PAD_RIGHT, window)[2]
    out: list[list[str]] = []
    for i in range(n):
        f = list(strings[i][0])
        for o in range(1, window + 1):
            f.append(strings[i - o][1][o - 1] if i >= o else pads[0][o - 1])
            f.append(strings[i + o][2][o - 1] if i + o < n else pads[1][o - 1])
        w = norms[i]
        f.append("b-:" + (norms[i - 1] if i > 0 else _PAD_LEFT) + "|" + w)
        f.append("b+:" + w + "|" + (norms[i + 1] if i + 1 < n else _PAD_RIGHT))
        f.extend(marks[i])
        if intent is not None:
            f.extend(["I" + intent + "|" + a for a in f])
        out.append(f)
    return out


class CrfTagger:
    """One crfsuite model per intent (or one shared), held as bytes and opened in memory."""

    def __init__(self, models: dict[str, bytes], settings: CrfSettings) -> None:
        self.settings = settings
        self.models = dict(models)
        self._taggers: dict[str, pycrfsuite.Tagger] = {}
        self._lock = threading.Lock()
        for key, blob in self.models.items():
            tagger = pycrfsuite.Tagger()
            tagger.open_inmemory(blob)
            self._taggers[key] = tagger

    def __bool__(self) -> bool:
        return bool(self._taggers)

    def tag(self, tokens: Sequence[Token], marks: Sequence[Sequence[str]], intent: str) -> list[TaggedSpan]:
        key = SHARED if not self.settings.per_intent else intent
        tagger = self._taggers.get(key)
        if tagger is None or not tokens:
            return []
        feats = sequence_features(
            tokens, marks, window=self.settings.window, intent=None if self.settings.per_intent else intent
        )
        # A crfsuite tagger keeps the last sequence between `tag` and `marginal`: one at a time.
        with self._lock:
            labels = tagger.tag(feats)
            spans = [
                (first, end, label, min(tagger.marginal(labels[i], i) for i in range(first, end)))
                for first, end, label in decode_bio(labels)
            ]
        out: list[TaggedSpan] = []
        for first, end, label, conf in spans:
            entity, role, group = decode_label(label)
            out.append(TaggedSpan(first, end, entity, role, group, float(conf)))
        return out

    @classmethod
    def train(
        cls,
        sequences: Sequence[tuple[list[list[str]], list[str], str]],
        settings: CrfSettings,
        *,
        n_jobs: int = 1,
        progress: Callable[[float], None] | None = None,
    ) -> CrfTagger:
        """Train from (features, labels, intent) triples.

        Features must have been built with `intent=...` in shared mode.  Intents whose
        examples carry no entity get no model.  With `n_jobs > 1` and enough data, the
        per-intent CRFs train in parallel child processes (see `crf_worker.py`).  So do all of
        them when one trains with an online algorithm: those shuffle the data with crfsuite's
        process-wide random generator, so only a fresh process gives the same model twice.
        """
        groups: dict[str, list[tuple[list[list[str]], list[str]]]] = {}
        for feats, labels, intent in sequences:
            key = intent if settings.per_intent else SHARED
            groups.setdefault(key, []).append((feats, labels))
        trainable = {k: v for k, v in groups.items() if any(lab != "O" for _, labels in v for lab in labels)}
        total = sum(len(v) for v in trainable.values()) or 1
        done = 0
        models: dict[str, bytes] = {}
        # Largest first, so the last job to finish is a small one.
        jobs = [
            (key, items, *training_plan(items, settings))
            for key, items in sorted(trainable.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        parallel = n_jobs > 1 and len(jobs) > 1 and total >= PARALLEL_MIN_SEQUENCES
        if parallel or any(algorithm in ONLINE_ALGORITHMS for _, _, algorithm, _ in jobs):
            models = _train_in_subprocesses(jobs, n_jobs, progress, total)
        else:
            for key, items, algorithm, params in jobs:
                models[key] = train_crf_bytes(items, algorithm, params)
                done += len(items)
                if progress is not None:
                    progress(done / total)
        return cls(dict(sorted(models.items())), settings)


PARALLEL_MIN_SEQUENCES = 3000
"""Below this many training sequences, worker start-up costs more than it saves."""

ONLINE_ALGORITHMS = frozenset({"l2sgd", "ap", "pa", "arow"})
"""crfsuite's algorithms that shuffle the training data at each pass."""

Job = tuple[str, Sequence[tuple[list[list[str]], list[str]]], str, dict[str, float | int]]
"""One CRF to train: model key, sequences, crfsuite algorithm and its parameters."""


def training_cost(items: Sequence[tuple[list[list[str]], list[str]]]) -> float:
    """Work of one forward-backward pass over `items`: tokens × labels × (features per token + labels).

    The labels' square is what makes a CRF with many entity types slow: one SNIPS intent has
    5 to 28 BIO labels, ATIS's flight requests have over 100.  Measured here, L-BFGS's 60
    iterations cost about 7e-8 s per unit once the labels number in the dozens.
    """
    tokens = sum(len(labels) for _, labels in items)
    if not tokens:
        return 0.0
    n_labels = len({label for _, labels in items for label in labels})
    features = sum(len(f) for feats, _ in items for f in feats) / tokens
    return float(tokens) * n_labels * (features + n_labels)


def training_plan(
    items: Sequence[tuple[list[list[str]], list[str]]], settings: CrfSettings
) -> tuple[str, dict[str, float | int]]:
    """The crfsuite algorithm and parameters for one CRF.

    L-BFGS is the most accurate (SNIPS dev F1 95.1 against 94.6 for passive-aggressive), but its
    cost grows with the square of the label count: SNIPS read as one intent (72 labels, 11,775
    sequences) took 49 s, against 9.8 s with ten passive-aggressive passes (F1 94.0 against
    93.9).  So a CRF above `lbfgs_max_cost` (about 11 s of L-BFGS here) trains the fast way,
    which keeps training within its 30 s on data like ATIS; SNIPS's and the demo bots' CRFs
    are far below it.  Deterministic: the plan depends on the data, never on a clock.
    """
    if settings.algorithm == "lbfgs" and training_cost(items) > settings.lbfgs_max_cost:
        return "pa", {"max_iterations": settings.fast_iterations}
    params: dict[str, float | int] = {"max_iterations": settings.max_iterations}
    if settings.algorithm == "lbfgs":
        params.update({"c1": settings.c1, "c2": settings.c2})
    return settings.algorithm, params


def train_crf_bytes(
    items: Sequence[tuple[list[list[str]], list[str]]], algorithm: str, params: dict[str, float | int]
) -> bytes:
    """Train one crfsuite model in this process and return its file's bytes."""
    with tempfile.TemporaryDirectory(prefix="plaza-crf-") as tmp:
        path = Path(tmp) / "model.crfsuite"
        train_to_file(items, algorithm, params, path)
        return path.read_bytes()


def _child_env() -> dict[str, str]:
    """The environment of a worker: ours, with this `plaza` package importable first."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _train_in_subprocesses(
    jobs: Sequence[Job],
    n_jobs: int,
    progress: Callable[[float], None] | None,
    total: int,
) -> dict[str, bytes]:
    """Run up to `n_jobs` `plaza.nlu.crf_worker` children at a time (see that module for why)."""
    models: dict[str, bytes] = {}
    done = 0
    with tempfile.TemporaryDirectory(prefix="plaza-crf-") as tmp:
        pending = list(enumerate(jobs))
        running: list[tuple[subprocess.Popen[bytes], str, Path, int]] = []
        try:
            while pending or running:
                while pending and len(running) < n_jobs:
                    index, (key, items, algorithm, params) = pending.pop(0)
                    spec = json.dumps({"algorithm": algorithm, "params": params})
                    data, out = Path(tmp) / f"{index}.jsonl", Path(tmp) / f"{index}.crfsuite"
                    with data.open("w", encoding="utf-8") as fh:
                        fh.writelines(json.dumps([f, lab], ensure_ascii=False) + "\n" for f, lab in items)
                    cmd = [sys.executable, "-m", "plaza.nlu.crf_worker", spec, str(data), str(out)]
                    proc = subprocess.Popen(
                        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_child_env()
                    )
                    running.append((proc, key, out, len(items)))
                proc, key, out, size = running[0]
                _, err = proc.communicate()
                running.pop(0)
                if proc.returncode != 0:
                    raise RuntimeError(f"CRF training worker failed: {err.decode(errors='replace')[-2000:]}")
                models[key] = out.read_bytes()
                done += size
                if progress is not None:
                    progress(done / total)
        finally:
            # Ctrl-C, or a failed worker: the others' results would never be read.
            for proc, *_ in running:
                proc.kill()
                proc.wait()
                if proc.stderr is not None:
                    proc.stderr.close()
    return models
