"""Bring a database to the schema this code expects (Alembic `upgrade head`).

Alembic is imported only when there is work to do: on a SQLite database already at
`SCHEMA_REVISION` (every start after the first) the check is one query, which keeps
`plaza run` quick to be ready.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_REVISION = "0004"
"""The head of migrations/versions; a test checks the two agree."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - alembic costs 0.1 s to import: only when migrating

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def sqlite_revision(url: str) -> str | None:
    """The revision of an existing SQLite database, without SQLAlchemy or Alembic."""
    database = make_url(url).database
    if not database or database == ":memory:" or not Path(database).exists():
        return None
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def upgrade(url: str, revision: str = "head") -> None:
    """Apply every pending migration. Blocking: call it in a thread from async code."""
    if (
        revision == "head"
        and make_url(url).get_backend_name() == "sqlite"
        and sqlite_revision(url) == SCHEMA_REVISION
    ):
        return
    from alembic import command  # noqa: PLC0415 - see alembic_config

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_and_head(url: str) -> tuple[str | None, str | None]:
    """The database's revision (SQLite only; None elsewhere) and the code's head."""
    current = sqlite_revision(url) if make_url(url).get_backend_name() == "sqlite" else None
    return current, head_revision()
