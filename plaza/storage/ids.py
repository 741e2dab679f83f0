"""Time-ordered 63-bit ids made by the engine, so a turn need not wait for the database's ids.

Layout: milliseconds since 2026-01-01 (41 bits, ~69 years) | node (10 bits) | sequence (12 bits).
The node is random per process; a collision between two workers can only fail a unique-key
insert, which the turn retries after `reseed()`.
"""

from __future__ import annotations

import secrets
import threading
import time

_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class IdGenerator:
    def __init__(self, node: int | None = None) -> None:
        self._lock = threading.Lock()
        self._node = secrets.randbelow(1024) if node is None else node & 0x3FF
        self._last_ms = 0
        self._seq = 0

    def reseed(self) -> None:
        with self._lock:
            self._node = secrets.randbelow(1024)

    def next(self) -> int:
        with self._lock:
            now = int(time.time() * 1000) - _EPOCH_MS
            if now <= self._last_ms:
                now = self._last_ms
                self._seq = (self._seq + 1) & 0xFFF
                if self._seq == 0:
                    now += 1  # 4096 ids in one millisecond: borrow the next one
            else:
                self._seq = 0
            self._last_ms = now
            return (now << 22) | (self._node << 12) | self._seq


ids = IdGenerator()
"""The process-wide generator."""
