"""How to run a turn's database work from asyncio: the measurements behind plaza/storage/database.py.

One "turn" here is what Plaza commits per message: a version-checked UPDATE of the tracker, an
INSERT of three messages, of two outbox rows and of three events, in one transaction. Each way
of running it is timed for the same number of turns, one at a time (latency) and 32 at a time:

- aiosqlite: SQLAlchemy's async engine, a thread round trip per statement
- thread + Core: the whole transaction in one hop to a writer thread, Core statements
- inline + Core: on the event loop's thread, Core statements
- inline + prepared: on the event loop's thread, statements compiled once (plaza.storage.prepared)
- raw sqlite3: the floor

    python bench/db_drivers.py [--turns 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    update,
)
from sqlalchemy.ext.asyncio import create_async_engine

from plaza.storage.prepared import Prepared

md = MetaData()
conv = Table(
    "conv", md, Column("id", Integer, primary_key=True), Column("state", JSON), Column("version", Integer)
)
msg = Table(
    "msg",
    md,
    Column("id", Integer, primary_key=True),
    Column("conv_id", Integer),
    Column("body", JSON),
    Column("created_at", String),
)
dl = Table(
    "dl", md, Column("id", Integer, primary_key=True), Column("msg_id", Integer), Column("state", String(10))
)
ev = Table(
    "ev", md, Column("id", Integer, primary_key=True), Column("conv_id", Integer), Column("data", JSON)
)

STATE = {
    "slots": {"cuisine": "italian", "time": "20:00", "party_size": 4},
    "events": [{"event": "slot", "value": i} for i in range(8)],
}
_ids = iter(range(1, 10**9))


def rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    now = datetime.now(UTC).isoformat()
    messages = [
        {"id": next(_ids), "conv_id": 1, "body": {"text": f"message {i}"}, "created_at": now}
        for i in range(3)
    ]
    deliveries = [{"id": next(_ids), "msg_id": m["id"], "state": "pending"} for m in messages[1:]]
    events = [{"conv_id": 1, "data": {"event": "slot", "name": "a", "value": i}} for i in range(3)]
    return messages, deliveries, events


def core_turn(conn: Connection, cid: int, version: int) -> None:
    messages, deliveries, events = rows()
    conn.execute(
        update(conv)
        .where(conv.c.id == cid, conv.c.version == version)
        .values(state=STATE, version=version + 1)
    )
    conn.execute(insert(msg), messages)
    conn.execute(insert(dl), deliveries)
    conn.execute(insert(ev), events)


P_UPDATE = Prepared(
    update(conv)
    .where(conv.c.id == bindparam("b_id"), conv.c.version == bindparam("b_v"))
    .values(state=bindparam("b_s"), version=bindparam("b_n"))
)
P_MSG = Prepared(insert(msg).values({c: bindparam(c) for c in ("id", "conv_id", "body", "created_at")}))
P_DL = Prepared(insert(dl).values({c: bindparam(c) for c in ("id", "msg_id", "state")}))
P_EV = Prepared(insert(ev).values({c: bindparam(c) for c in ("conv_id", "data")}))


def prepared_turn(conn: Connection, cid: int, version: int) -> None:
    messages, deliveries, events = rows()
    P_UPDATE.execute(conn, {"b_id": cid, "b_v": version, "b_s": STATE, "b_n": version + 1})
    P_MSG.executemany(conn, messages)
    P_DL.executemany(conn, deliveries)
    P_EV.executemany(conn, events)


def sync_engine(path: Path) -> sqlalchemy.Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _: Any) -> None:
        dbapi.isolation_level = None
        dbapi.execute("PRAGMA journal_mode=WAL")
        dbapi.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def fresh(path: Path) -> None:
    engine = sync_engine(path)
    with engine.begin() as conn:
        md.drop_all(conn)
        md.create_all(conn)
        conn.execute(insert(conv), [{"id": i, "state": {}, "version": 0} for i in range(64)])
    engine.dispose()


async def drive(turn: Callable[[int, int], Any], turns: int, concurrency: int) -> float:
    versions = [0] * 64
    lock = asyncio.Lock()  # one writer, as SQLite allows

    async def user(cid: int, n: int) -> None:
        for _ in range(n):
            async with lock:
                await turn(cid, versions[cid])
                versions[cid] += 1

    started = time.perf_counter()
    await asyncio.gather(*(user(i, turns // concurrency) for i in range(concurrency)))
    return (turns // concurrency) * concurrency / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="plaza-db-bench-"))
    path = workdir / "bench.db"
    results: dict[str, dict[int, float]] = {}

    async def run(name: str, make: Callable[[], Any]) -> None:
        results[name] = {}
        for concurrency in (1, 32):
            fresh(path)
            turn, close = make()
            results[name][concurrency] = await drive(turn, args.turns, concurrency)
            await close()

    def aiosqlite_way() -> Any:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi: Any, _: Any) -> None:
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        async def turn(cid: int, version: int) -> None:
            async with engine.begin() as conn:
                messages, deliveries, events = rows()
                await conn.execute(
                    update(conv)
                    .where(conv.c.id == cid, conv.c.version == version)
                    .values(state=STATE, version=version + 1)
                )
                await conn.execute(insert(msg), messages)
                await conn.execute(insert(dl), deliveries)
                await conn.execute(insert(ev), events)

        return turn, engine.dispose

    def threaded_core() -> Any:
        engine = sync_engine(path)
        pool = ThreadPoolExecutor(1)
        local: dict[str, Connection] = {}

        def work(cid: int, version: int) -> None:
            conn = local.get("c") or local.setdefault("c", engine.connect())
            with conn.begin():
                core_turn(conn, cid, version)

        async def turn(cid: int, version: int) -> None:
            await asyncio.get_running_loop().run_in_executor(pool, work, cid, version)

        async def close() -> None:
            pool.shutdown()
            engine.dispose()

        return turn, close

    def inline(way: Callable[[Connection, int, int], None]) -> Callable[[], Any]:
        def make() -> Any:
            engine = sync_engine(path)
            conn = engine.connect()

            async def turn(cid: int, version: int) -> None:
                with conn.begin():
                    way(conn, cid, version)

            async def close() -> None:
                conn.close()
                engine.dispose()

            return turn, close

        return make

    def raw_sqlite() -> Any:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")

        async def turn(cid: int, version: int) -> None:
            messages, deliveries, events = rows()
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE conv SET state=?, version=? WHERE id=? AND version=?",
                (json.dumps(STATE), version + 1, cid, version),
            )
            db.executemany(
                "INSERT INTO msg (id, conv_id, body, created_at) VALUES (?,?,?,?)",
                [(m["id"], 1, json.dumps(m["body"]), m["created_at"]) for m in messages],
            )
            db.executemany(
                "INSERT INTO dl (id, msg_id, state) VALUES (?,?,?)",
                [(d["id"], d["msg_id"], d["state"]) for d in deliveries],
            )
            db.executemany(
                "INSERT INTO ev (conv_id, data) VALUES (?,?)", [(1, json.dumps(e["data"])) for e in events]
            )
            db.execute("COMMIT")

        async def close() -> None:
            db.close()

        return turn, close

    await run("aiosqlite (hop per statement)", aiosqlite_way)
    await run("thread + Core (one hop per turn)", threaded_core)
    await run("inline + Core", inline(core_turn))
    await run("inline + prepared (Plaza)", inline(prepared_turn))
    await run("raw sqlite3 (floor)", raw_sqlite)

    print(
        f"{args.turns} turns each; SQLite {sqlite3.sqlite_version} WAL synchronous=NORMAL; SQLAlchemy {sqlalchemy.__version__}; "
        f"Python {platform.python_version()}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}"
    )
    print(f"{'way':<36} {'turns/s c=1':>12} {'turns/s c=32':>13}")
    for name, by_c in results.items():
        print(f"{name:<36} {by_c[1]:>12.0f} {by_c[32]:>13.0f}")


if __name__ == "__main__":
    asyncio.run(main())
