"""Building the sentence encoder's int8 graph: run as `python -m plaza.nlu.encoder_graph`.

`sentence_encoder._quantized_graph` runs this in a child process on first use, so the
several copies of the weights that building and quantising hold never add to the peak memory
of the process that trains or serves (see there).  Exit status 1 with one line on standard
error, the message for the user, when it cannot build.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plaza.nlu.sentence_encoder import CACHE_DIR_ENV, INSTALL_HINT

__all__ = ["build_quantized_graph", "main"]


class BuildError(Exception):
    """What the user is told when the graph cannot be built."""


def build_quantized_graph(folder: Path, target: Path) -> None:
    """Write the int8 graph of the BERT encoder in `folder` to `target` (its folder is the cache)."""
    cache = target.parent
    try:
        import onnx  # noqa: F401, PLC0415 - the [embeddings] extra; _write_quantized uses it
    except ImportError:
        raise BuildError(f"building the sentence encoder needs onnx: {INSTALL_HINT}") from None
    from plaza.nlu.bert_onnx import BertShape, build_bert_graph, read_safetensors  # noqa: PLC0415

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        cache.mkdir(parents=True, exist_ok=True)
        graph = build_bert_graph(read_safetensors(folder / "model.safetensors"), BertShape(config))
        _write_quantized(graph, cache, target)
    except OSError as exc:
        message = f"cannot build the sentence encoder in {cache} ({exc}); set {CACHE_DIR_ENV}"
        raise BuildError(message) from None
    except (KeyError, ValueError) as exc:
        raise BuildError(f"{folder}: not a BERT sentence encoder this code can build ({exc})") from None


def _write_quantized(graph: Any, cache: Path, target: Path) -> None:
    import onnx  # noqa: PLC0415 - the [embeddings] extra
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        float_file, int8_file = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(graph, str(float_file))
        with warnings.catch_warnings(), _quiet_logging():
            warnings.simplefilter("ignore")
            quantize_dynamic(
                str(float_file),
                str(int8_file),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul", "Attention"],
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        os.replace(int8_file, target)  # atomic: a concurrent builder's file is identical


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """Silence onnxruntime's quantiser, which logs advice about image models to the root logger."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def main(argv: list[str]) -> int:
    folder, target = (Path(a) for a in argv)
    try:
        build_quantized_graph(folder, target)
    except BuildError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
