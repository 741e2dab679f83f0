"""How a sentence embedding becomes intent features: centred, projected, scaled.

Fitted on the training messages' embeddings (principal axes, no labels), stored with the model,
and folded into the classifier's weights at load time, so a parse pays one small product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["EmbeddingProjection"]

F32Array = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class EmbeddingProjection:
    """Features = `(embedding - mean) @ matrix`; `matrix` is `(dim, k)` and carries the block weight."""

    mean: F32Array
    matrix: F32Array

    @classmethod
    def fit(cls, embeddings: F32Array, dims: int, weight: float) -> EmbeddingProjection:
        """The first `dims` principal axes (all dimensions when `dims` is 0 or too large), scaled.

        An average training message's block gets the norm `weight`, as each sparse block has
        norm 1 times its own weight.
        """
        n, dim = embeddings.shape
        if dims <= 0 or dims >= min(n, dim):
            mean = np.zeros(dim, dtype=np.float32)
            return cls(mean, np.eye(dim, dtype=np.float32) * np.float32(weight))
        mean = embeddings.mean(axis=0)
        centred = embeddings - mean
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        matrix = axes[:dims].T.astype(np.float32)
        rms = float(np.sqrt(((centred @ matrix) ** 2).sum(axis=1).mean())) or 1.0
        return cls(mean.astype(np.float32), matrix * np.float32(weight / rms))

    def apply(self, embeddings: F32Array) -> F32Array:
        out: F32Array = ((embeddings - self.mean) @ self.matrix).astype(np.float32)
        return out

    @property
    def dims(self) -> int:
        return int(self.matrix.shape[1])
