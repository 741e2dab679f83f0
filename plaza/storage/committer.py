"""Group commit: turns that finish while the database is busy share the next transaction.

A turn asks to commit and waits. If the writer is idle the turn commits at once, alone (no added
latency); while a commit is running, new turns queue, and the next commit takes them all. Each
turn stays all-or-nothing (`commit_turns`); one turn's conflict never fails the others. Under
load this turns a few statements per turn into a few statements per batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial

from plaza.storage.database import Database
from plaza.storage.turns import BatchFallback, TurnRecord, commit_turn, commit_turns

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    turn: TurnRecord
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class TurnCommitter:
    def __init__(self, db: Database, *, max_batch: int = 128) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="plaza-turn-committer")

    async def stop(self) -> None:
        """Commit what is waiting, then stop."""
        if self._task is not None:
            self._closing = True
            self._wakeup.set()
            await self._task
            self._task = None

    async def commit(self, turn: TurnRecord) -> None:
        """Commit one turn (with whatever else is waiting); raises this turn's own failure."""
        if self._task is None:
            await self._db.write(partial(commit_turn, turn=turn))
            return
        pending = _Pending(turn)
        self._queue.append(pending)
        self._wakeup.set()
        await pending.done

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._flush(batch)
            if self._closing:
                return

    async def _flush(self, batch: list[_Pending]) -> None:
        try:
            if len(batch) == 1:
                results: list[BaseException | None] = [await self._one(batch[0].turn)]
            else:
                results = await self._db.write(partial(commit_turns, turns=[p.turn for p in batch]))
        except BatchFallback:
            results = [await self._one(p.turn) for p in batch]
        except Exception as exc:  # the database is down, say: every waiting turn learns it
            log.exception("group commit of %d turns failed", len(batch))
            results = [exc] * len(batch)
        for pending, outcome in zip(batch, results, strict=True):
            if pending.done.done():
                continue
            if outcome is None:
                pending.done.set_result(None)
            else:
                pending.done.set_exception(outcome)

    async def _one(self, turn: TurnRecord) -> BaseException | None:
        try:
            await self._db.write(partial(commit_turn, turn=turn))
        except Exception as exc:
            return exc
        return None
