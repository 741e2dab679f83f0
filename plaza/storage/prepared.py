"""Hot-path statements: written with SQLAlchemy Core, compiled once per dialect, run at driver level.

A Core `execute()` compiles and wraps each statement in Python that costs more than SQLite takes
to run it. A primary-key SELECT through `Connection.exec_driver_sql` costs ~35 µs on this
project's reference machine, on the sqlite3 connection itself ~10 µs; a turn's commit runs 3.5x
faster this way than with Core (bench/db_drivers.py, one run: 1,844 vs 6,533 commits/s). The
handful of statements every turn runs (tracker update, message and event inserts, seat lookups)
go through `Prepared`; everything else uses Core or the ORM as usual. Values are converted here
the way SQLAlchemy's types would store them (JSON text; naive-UTC datetime text on SQLite), so
rows written either way read back the same.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, DateTime, Table, bindparam, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from plaza.errors import UnstorableValue
from plaza.storage.json_values import ORJSON_OPTIONS, unencodable_path

Converter = Callable[[Any], Any] | None


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_driver(value: Any, dialect: str) -> Any:
    if type(value) in _PLAIN:  # the common case first: no isinstance chain
        return value
    if isinstance(value, Mapping | list):
        return dumps(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return _sqlite_datetime(value) if dialect == "sqlite" else value
    return value


_DATETIME_TEXTS: dict[datetime, str] = {}
_DATETIME_TEXTS_LIMIT = 4096


def _sqlite_datetime(value: datetime) -> str:
    """Every row of a turn carries its timestamp, and a group commit interleaves turns: format each once."""
    text = _DATETIME_TEXTS.get(value)
    if text is None:
        if len(_DATETIME_TEXTS) >= _DATETIME_TEXTS_LIMIT:
            _DATETIME_TEXTS.clear()
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        _DATETIME_TEXTS[value] = text
    return text


def dumps(value: Any) -> str:
    """JSON text as SQLAlchemy's JSON type would store it (orjson: the snapshot is written every turn).

    What orjson cannot encode raises UnstorableValue saying where it is, not orjson's bare
    TypeError, which says neither where nor that the engine can still store the turn
    (`json_values.storable`).
    """
    try:
        return orjson.dumps(value, option=ORJSON_OPTIONS).decode()
    except TypeError as exc:  # orjson.JSONEncodeError is one
        raise UnstorableValue(f"{exc}: {unencodable_path(value) or 'value'}") from exc


def json_from_driver(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def datetime_from_driver(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _converter(type_: Any, dialect: str) -> Converter:
    """How one bind's values go to the driver, decided once from its SQL type."""
    if isinstance(type_, JSON):
        return dumps
    if isinstance(type_, DateTime) or isinstance(getattr(type_, "impl", None), DateTime):
        if dialect == "sqlite":
            return _sqlite_datetime
        return None
    return None


_Compiled = tuple[str, tuple[tuple[str, Converter], ...] | None, dict[str, Converter], dict[str, Any]]
"""SQL, the positional binds in order with their converters (None: named binds), and the
converters and fixed values per bind name."""


class Prepared:
    """One statement, compiled on first use for each dialect it meets."""

    def __init__(self, statement: Executable) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, conn: Connection) -> _Compiled:
        name = conn.dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self._statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            assert isinstance(compiled, SQLCompiler)
            converters = {key: _converter(bind.type, name) for key, bind in compiled.binds.items()}
            fixed = {key: bind.effective_value for key, bind in compiled.binds.items() if not bind.required}
            ordered = (
                tuple((key, converters.get(key)) for key in compiled.positiontup)
                if compiled.positional and compiled.positiontup
                else None
            )
            found = self._compiled[name] = (str(compiled), ordered, converters, fixed)
        return found

    @staticmethod
    def _value(value: Any, convert: Converter, dialect: str) -> Any:
        if value is None:
            return None
        if convert is not None:
            return convert(value)
        return value if type(value) in _PLAIN else to_driver(value, dialect)

    def _params(
        self,
        conn: Connection,
        compiled: _Compiled,
        values: Mapping[str, Any],
    ) -> Any:
        _sql, ordered, converters, fixed = compiled
        dialect = conn.dialect.name
        if ordered is None:
            merged = {**fixed, **values}
            return {k: self._value(v, converters.get(k), dialect) for k, v in merged.items()}
        out = []
        for key, convert in ordered:  # the hot loop of every turn's commit: no helper calls for plain values
            value = values[key] if key in values else fixed[key]
            if value is not None:
                if convert is not None:
                    value = convert(value)
                elif type(value) not in _PLAIN:
                    value = to_driver(value, dialect)
            out.append(value)
        return tuple(out)

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> DriverResult:
        compiled = self._compile(conn)
        params = self._params(conn, compiled, values)
        if conn.dialect.name == "sqlite":
            return _on_sqlite(conn, compiled[0], params, many=False)
        result = conn.exec_driver_sql(compiled[0], params)
        return DriverResult(list(result) if result.returns_rows else [], result.rowcount)

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> DriverResult:
        compiled = self._compile(conn)
        params = [self._params(conn, compiled, row) for row in rows]
        if conn.dialect.name == "sqlite":
            return _on_sqlite(conn, compiled[0], params, many=True)
        result = conn.exec_driver_sql(compiled[0], params)
        return DriverResult([], result.rowcount)


@dataclass(frozen=True, slots=True)
class DriverResult:
    """A statement's rows as plain tuples (in the statement's column order) and its row count."""

    rows: list[Sequence[Any]]
    rowcount: int

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return iter(self.rows)

    def first(self) -> Sequence[Any] | None:
        return self.rows[0] if self.rows else None


def _on_sqlite(conn: Connection, sql: str, params: Any, *, many: bool) -> DriverResult:
    """Run on the sqlite3 connection itself, inside the transaction `conn` holds.

    SQLAlchemy's execution context and result wrapping cost ~25 µs a statement, more than SQLite
    takes to run it; errors are still raised as SQLAlchemy's (IntegrityError, OperationalError...),
    so callers catch the same exceptions on both backends.
    """
    raw = conn.connection.dbapi_connection
    assert raw is not None
    try:
        cursor = raw.executemany(sql, params) if many else raw.execute(sql, params)
        rows = cursor.fetchall() if cursor.description is not None else []
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
    return DriverResult(rows, cursor.rowcount)


def insert_all(table: Table) -> Prepared:
    """INSERT of every column but a database-assigned id, with binds named after the columns."""
    columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is not False)]
    return Prepared(insert(table).values({name: bindparam(name) for name in columns}))
