"""Domain writes an action stages into the current turn's transaction.

Actions read the database as they run, but they do not write: they stage functions that the
engine runs inside the turn's one transaction, after the tracker version check. A staged write
that finds the world changed (the last table went) raises `ConflictError`; the engine then rolls
the whole turn back and runs it again on fresh state, so the action sees the table is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import Connection

from plaza.storage.database import Database, UnitOfWork

T = TypeVar("T")
StagedWrite = Callable[[Connection], None]

_staged: ContextVar[list[StagedWrite] | None] = ContextVar("plaza_staged_writes", default=None)


@contextlib.contextmanager
def collect_staged_writes() -> Iterator[list[StagedWrite]]:
    """Collect what actions stage while the block runs (the engine wraps each turn in this)."""
    writes: list[StagedWrite] = []
    token = _staged.set(writes)
    try:
        yield writes
    finally:
        _staged.reset(token)


class DomainStore:
    """An action's door to the database: `read` now, `stage` a write for the turn's commit."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(self, fn: UnitOfWork[T]) -> T:
        return await self._db.read(fn)

    def stage(self, write: StagedWrite) -> None:
        writes = _staged.get()
        if writes is None:
            raise RuntimeError("no turn is collecting writes: wrap the call in collect_staged_writes()")
        writes.append(write)
