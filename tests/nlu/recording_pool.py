"""A thread pool that records its tasks, to check the order training queues its fits in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from plaza.nlu import training


class RecordingPool(ThreadPoolExecutor):
    """A thread pool that records the name of each task it is given, in order."""

    def __init__(self, max_workers: int = 2) -> None:
        super().__init__(max_workers=max_workers)
        self.tasks: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.tasks.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


def record_training_tasks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make `train_model`'s fit pool a `RecordingPool`; returns the list its tasks are named in."""
    tasks: list[str] = []

    @contextlib.contextmanager
    def recording_pool(n_jobs: int) -> Iterator[ThreadPoolExecutor]:
        with RecordingPool(n_jobs) as pool:
            pool.tasks = tasks
            yield pool

    monkeypatch.setattr(training, "_fit_pool", recording_pool)
    return tasks
