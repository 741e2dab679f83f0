"""Shared fixtures. The suite runs on SQLite; with PLAZA_DATABASE_URL set (CI's second run) the
database tests run on that server instead, PostgreSQL in CI."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from plaza.storage.database import Database
from plaza.testing.apps import TestApps
from plaza.testing.databases import FreshDatabases

APP_DIR = Path(__file__).resolve().parent.parent
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=PARIS)
"""Friday 20 November 2026, 15:00 in Paris: the fixed 'now' of the suite."""


@pytest.fixture(scope="session")
def databases() -> Iterator[FreshDatabases]:
    dbs = FreshDatabases(os.environ.get("PLAZA_DATABASE_URL") or None)
    yield dbs
    dbs.cleanup()


@pytest.fixture
async def db(databases: FreshDatabases) -> AsyncIterator[Database]:
    database = Database(await databases.fresh_url())
    await database.start()
    yield database
    await database.close()


@pytest.fixture(scope="session")
def apps(databases: FreshDatabases) -> TestApps:
    """Opens the demo app on a fresh database; NLU models are trained (first run) and loaded once."""
    return TestApps(APP_DIR, databases, os.environ)
