"""Marking outbox rows as sent, in batches.

A synchronous channel (REST, the terminal) delivers replies in its response; once written, the
rows are marked sent. Marking each turn's rows in a transaction of its own would double the
database work, so marks are batched: one UPDATE per batch, flushed every `interval` seconds and
at shutdown. A crash between delivery and flush leaves rows `pending`, never wrongly `sent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from plaza.clock import Clock
from plaza.storage.database import Database
from plaza.storage.turns import mark_delivered

log = logging.getLogger(__name__)


class DeliveryMarker:
    def __init__(self, db: Database, clock: Clock, interval: float = 0.05) -> None:
        self._db = db
        self._clock = clock
        self._interval = interval
        self._pending: list[int] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="plaza-delivery-marker")

    def delivered(self, delivery_ids: list[int]) -> None:
        if delivery_ids:
            self._pending.extend(delivery_ids)
            self._wakeup.set()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        when = self._clock.now()
        try:
            await self._db.write(lambda conn: mark_delivered(conn, batch, when))
        except Exception:
            log.exception("could not mark %d deliveries as sent; they stay pending", len(batch))

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await asyncio.sleep(self._interval)
            await self.flush()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
