"""One async door to the database: `read(fn)` and `write(fn)` run a whole unit of work.

`fn` is a plain function over a SQLAlchemy `Connection`, so the same code runs on both backends:

- PostgreSQL: an `AsyncEngine` on asyncpg; `fn` runs through `AsyncConnection.run_sync`.
- SQLite: the work is CPU on a local file, so it runs on the event loop's own thread, where it
  costs least. bench/db_drivers.py, one turn's commit on the reference 2-core machine: aiosqlite
  (a thread hop per statement) 463/s, one hop per transaction 1,319/s, inline 1,844/s, inline with
  prepared statements (plaza.storage.prepared) 6,533/s, raw sqlite3 9,183/s. Blocking is kept
  short by design: WAL mode (readers never wait for the writer), checkpoints moved to a background
  thread, and a write that finds the database locked by another process (a `plaza chat` next to
  `plaza run`) goes to a writer thread that waits for the lock there, not on the loop. With
  `PLAZA_SQLITE_SYNCHRONOUS=FULL` (survive power loss: an fsync per commit) writes always use
  that thread. The default `NORMAL` survives a crash of Plaza but may lose the last commits on
  power loss.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from plaza.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")
UnitOfWork = Callable[[Connection], T]

CHECKPOINT_SECONDS = 1.0


def normalise_url(url: str, base_dir: Path) -> str:
    """Accept the URLs users write and pick the driver Plaza runs each backend with.

    `sqlite:///relative.db` is relative to the app folder; `postgresql://` means asyncpg.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise ConfigError(f"not a database URL: {url!r} ({exc})") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).is_absolute():
            database = str((base_dir / database).resolve())
        return str(parsed.set(drivername="sqlite+pysqlite", database=database))
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _busy(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self._sqlite_synchronous = sqlite_synchronous
        self._pool_size = pool_size
        self._async_engine: AsyncEngine | None = None
        self._engines: list[Engine] = []
        self._connections: list[Connection] = []
        self._inline_writer: Connection | None = None
        self._inline_reader: Connection | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._writer_conn: Connection | None = None
        self._writer_engine: Engine | None = None
        self._stop_checkpoints = threading.Event()
        self._checkpointer: threading.Thread | None = None

    @property
    def inline_writes(self) -> bool:
        return self.dialect == "sqlite" and self._sqlite_synchronous not in {"FULL", "EXTRA"}

    async def start(self) -> None:
        if self.dialect != "sqlite":
            self._async_engine = create_async_engine(
                self.url, pool_size=self._pool_size, max_overflow=self._pool_size, pool_pre_ping=True
            )
            return
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # on the loop: never wait for a lock there (busy_timeout 0); checkpoints are not its job
        self._inline_writer = self._connect("BEGIN IMMEDIATE", busy_ms=0, checkpoint=False)
        # reads run in autocommit: each statement sees the last committed state, and a read
        # pays no BEGIN/COMMIT round of its own (use write() when several reads must agree)
        self._inline_reader = self._connect(None, busy_ms=0, checkpoint=False)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="plaza-db-writer")
        self._writer_engine = self._engine("BEGIN IMMEDIATE", busy_ms=10_000, checkpoint=False)
        self._checkpointer = threading.Thread(
            target=self._checkpoints, name="plaza-db-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _engine(self, begin: str | None, *, busy_ms: int, checkpoint: bool) -> Engine:
        engine = create_engine(self.url, poolclass=NullPool, connect_args={"check_same_thread": False})
        synchronous = self._sqlite_synchronous

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (SQLAlchemy's recommended recipe)
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            if not checkpoint:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        if begin is not None:

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Connection) -> None:
                conn.exec_driver_sql(begin)

        self._engines.append(engine)
        return engine

    def _connect(self, begin: str | None, *, busy_ms: int, checkpoint: bool) -> Connection:
        conn = self._engine(begin, busy_ms=busy_ms, checkpoint=checkpoint).connect()
        self._connections.append(conn)
        return conn

    def _checkpoints(self) -> None:
        """Copy the WAL back into the database file off the event loop (PASSIVE: never blocks writers)."""
        engine = self._engine("BEGIN", busy_ms=1000, checkpoint=True)
        with engine.connect() as conn:
            while not self._stop_checkpoints.wait(CHECKPOINT_SECONDS):
                try:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                except OperationalError as exc:
                    log.debug("checkpoint skipped: %s", exc)
            try:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            except OperationalError as exc:
                log.debug("final checkpoint skipped: %s", exc)

    async def close(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()
            self._async_engine = None
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        for engine in self._engines:
            engine.dispose()
        self._engines.clear()

    @staticmethod
    def _transaction(conn: Connection, fn: UnitOfWork[T]) -> T:
        with conn.begin():
            return fn(conn)

    @staticmethod
    def _autocommit_read(conn: Connection, fn: UnitOfWork[T]) -> T:
        """Run a read on the autocommit reader without SQLAlchemy's BEGIN/COMMIT round.

        The sqlite3 connection is in autocommit, so each statement reads committed data either
        way; the round cost more than a prepared look-up. A Core statement in `fn` still
        autobegins SQLAlchemy's transaction, which is ended here.
        """
        try:
            return fn(conn)
        finally:
            if conn.in_transaction():
                conn.rollback()

    def _in_writer_thread(self, fn: UnitOfWork[T]) -> T:
        if self._writer_conn is None:
            assert self._writer_engine is not None
            self._writer_conn = self._writer_engine.connect()
        return self._transaction(self._writer_conn, fn)

    async def write(self, fn: UnitOfWork[T]) -> T:
        """Run `fn` in one transaction that commits if it returns and rolls back if it raises."""
        if self._async_engine is not None:
            async with self._async_engine.begin() as conn:
                return await conn.run_sync(fn)
        if self._writer is None or self._inline_writer is None:
            raise RuntimeError("Database.start() was not awaited")
        if self.inline_writes:
            try:
                return self._transaction(self._inline_writer, fn)
            except OperationalError as exc:
                if not _busy(exc):
                    raise
                log.info("database locked by another process; waiting in the writer thread")
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._in_writer_thread, fn)

    async def read(self, fn: UnitOfWork[T]) -> T:
        """Run `fn`, which must not write; on SQLite each of its statements reads committed data."""
        if self._async_engine is not None:
            async with self._async_engine.connect() as conn:
                return await conn.run_sync(fn)
        if self._inline_reader is None:
            raise RuntimeError("Database.start() was not awaited")
        try:
            return self._autocommit_read(self._inline_reader, fn)
        except OperationalError as exc:
            if not _busy(exc):
                raise
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._in_writer_thread, fn)
