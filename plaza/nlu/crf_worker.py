"""Train one CRF in a child process: `python -m plaza.nlu.crf_worker SETTINGS_JSON DATA_JSONL MODEL_OUT`.

crfsuite holds the GIL while it trains, so the per-intent CRFs of a large data set are trained
in parallel child processes.  A plain subprocess (not `multiprocessing`) is used on purpose:
`spawn` re-imports the caller's `__main__` (breaking any script without a main guard) and
`fork` is unsafe in a multi-threaded server.  The data travels as JSON lines in a temporary
file, one `[features, labels]` sequence per line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pycrfsuite

__all__ = ["main", "train_to_file"]


def train_to_file(
    items: Sequence[tuple[list[list[str]], list[str]]],
    algorithm: str,
    params: dict[str, float | int],
    out: Path,
) -> None:
    trainer = pycrfsuite.Trainer(verbose=False)
    for feats, labels in items:
        trainer.append(feats, labels)
    trainer.select(algorithm)
    trainer.set_params(params)
    trainer.train(str(out))


def main(argv: Sequence[str]) -> int:
    settings = json.loads(argv[0])
    with Path(argv[1]).open(encoding="utf-8") as fh:
        items = [tuple(json.loads(line)) for line in fh]
    train_to_file(items, settings["algorithm"], settings["params"], Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
