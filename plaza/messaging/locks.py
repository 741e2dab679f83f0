"""Per-conversation ordering: one message of a conversation is handled at a time, in arrival order.

`KeyedLocks` is the in-process implementation (asyncio locks are FIFO, so arrival order is kept).
Several workers need a shared lock (Redis, next); they implement the same `ConversationLocks`
protocol, and the tracker's version check keeps a lost lock from corrupting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol


class ConversationLocks(Protocol):
    def hold(self, key: int) -> contextlib.AbstractAsyncContextManager[None]: ...


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
