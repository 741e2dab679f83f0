from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from plaza.heap import settle_heap


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settle_heap_exempts_what_startup_built_from_later_collections(thawed: None) -> None:
    kept = [[i] for i in range(1000)]  # lists stay tracked (dicts of atoms would be untracked)
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert all(gc.is_tracked(item) for item in kept)  # still tracked: frozen, not untracked
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)  # a full collection leaves the frozen objects alone
