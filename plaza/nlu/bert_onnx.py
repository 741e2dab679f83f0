"""A BERT sentence encoder (mean-pooled, L2-normalised) as an ONNX graph, built from safetensors.

Why build the graph here: the packaged model (all-MiniLM-L6-v2) ships PyTorch weights only,
and exporting them the usual way needs PyTorch and transformers — gigabytes that Plaza never
uses otherwise.  The architecture is small and fixed, so the graph is written out with
`onnx.helper`, node by node, from the weights read straight out of `model.safetensors`
(a JSON header and raw little-endian arrays).  onnxruntime then runs it, int8-quantised.
Checked against the published reference embedding in `tests/test_sentence_encoder.py`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["BertShape", "build_bert_graph", "read_safetensors"]

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Every tensor of a `.safetensors` file, as arrays over one memory map (no copy)."""
    with path.open("rb") as fh:
        (header_size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_size))
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    base = 8 + header_size
    out: dict[str, npt.NDArray[Any]] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = _DTYPES.get(spec["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {spec['dtype']}")
        out[name] = np.frombuffer(raw[base + start : base + end], dtype=dtype).reshape(spec["shape"])
    return out


class BertShape:
    """The sizes the graph needs, from the model's `config.json`."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.layers = int(config["num_hidden_layers"])
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu" or self.hidden % self.heads:
            raise ValueError("only BERT encoders with exact GELU and whole attention heads are supported")


def build_bert_graph(weights: dict[str, npt.NDArray[Any]], shape: BertShape) -> Any:
    """The `onnx.ModelProto`: `input_ids` and `attention_mask` (int64, batch × time) in, `embedding` out."""
    from onnx import TensorProto, checker, helper, numpy_helper  # noqa: PLC0415 - the [embeddings] extra

    initializers: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: npt.ArrayLike, dtype: Any = np.float32) -> str:
        initializers.append(
            numpy_helper.from_array(np.ascontiguousarray(np.asarray(value, dtype=dtype)), name)
        )
        return name

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        output = f"{kind.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [output], **attrs))
        return output

    def weight(name: str) -> str:
        return const(name, weights[name])

    def layer_norm(x: str, prefix: str) -> str:
        return op(
            "LayerNormalization",
            [x, weight(prefix + ".weight"), weight(prefix + ".bias")],
            epsilon=shape.eps,
            axis=-1,
        )

    def linear(x: str, prefix: str) -> str:
        # torch stores (out, in); MatMul wants (in, out)
        w = const(prefix + ".weight.T", weights[prefix + ".weight"].T)
        return op("Add", [op("MatMul", [x, w]), weight(prefix + ".bias")])

    hidden, heads = shape.hidden, shape.heads
    i64 = np.int64
    time_dim = op("Slice", [op("Shape", ["input_ids"]), const("one_i", [1], i64), const("two_i", [2], i64)])
    positions = op(
        "Slice",
        [
            weight("embeddings.position_embeddings.weight"),
            const("zero_i", [0], i64),
            time_dim,
            const("axis0", [0], i64),
        ],
    )
    token_type = const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])
    h = op(
        "Add",
        [
            op("Add", [op("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"]), positions]),
            token_type,
        ],
    )
    h = layer_norm(h, "embeddings.LayerNorm")
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_index = op("Cast", ["attention_mask"], to=TensorProto.INT32)
    for n in range(shape.layers):
        p = f"encoder.layer.{n}."

        # one fused node (onnxruntime's com.microsoft Attention) instead of fifteen: for a short
        # message the per-node overhead, not the arithmetic, is most of the cost
        qkv_weight = np.concatenate(
            [weights[p + f"attention.self.{part}.weight"].T for part in ("query", "key", "value")], axis=1
        )
        qkv_bias = np.concatenate(
            [weights[p + f"attention.self.{part}.bias"] for part in ("query", "key", "value")]
        )
        attended = op(
            "Attention",
            [h, const(f"qkv_{n}.weight", qkv_weight), const(f"qkv_{n}.bias", qkv_bias), mask_index],
            domain="com.microsoft",
            num_heads=heads,
        )
        h1 = layer_norm(
            op("Add", [linear(attended, p + "attention.output.dense"), h]), p + "attention.output.LayerNorm"
        )
        inner = linear(h1, p + "intermediate.dense")
        gelu = op(
            "Mul",
            [
                op("Mul", [inner, const(f"half_{n}", 0.5)]),
                op(
                    "Add",
                    [
                        op("Erf", [op("Div", [inner, const(f"sqrt2_{n}", np.sqrt(2.0))])]),
                        const(f"one_{n}", 1.0),
                    ],
                ),
            ],
        )
        h = layer_norm(op("Add", [linear(gelu, p + "output.dense"), h1]), p + "output.LayerNorm")
    mask3 = op("Unsqueeze", [mask, const("axis2", [2], i64)])
    summed = op("ReduceSum", [op("Mul", [h, mask3]), const("axis1", [1], i64)], keepdims=0)
    count = op("ReduceSum", [mask3, const("axis1b", [1], i64)], keepdims=0)
    nodes.append(
        helper.make_node("LpNormalization", [op("Div", [summed, count])], ["embedding"], axis=-1, p=2)
    )
    graph = helper.make_graph(
        nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "time"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "time"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8  # readable by every onnxruntime since 1.14
    checker.check_model(model)
    return model
