"""Fresh databases for tests and conversation tests.

SQLite: the schema is migrated once into a template file, then copied for each test (a copy
takes milliseconds; a migration takes a second). PostgreSQL (`PLAZA_DATABASE_URL`): the database
is migrated once and every table emptied before each test.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from plaza.storage.database import Database, normalise_url
from plaza.storage.migrate import upgrade
from plaza.storage.models import Base


class FreshDatabases:
    def __init__(self, url: str | None = None, workdir: Path | None = None) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="plaza-test-db-")) if workdir is None else workdir
        self._base_url = normalise_url(url, self._workdir) if url else None
        self._template: Path | None = None
        self._migrated = False
        self._count = 0

    @property
    def dialect(self) -> str:
        return "sqlite" if self._base_url is None else Database(self._base_url).dialect

    async def fresh_url(self) -> str:
        if self._base_url is not None and self.dialect != "sqlite":
            if not self._migrated:
                await asyncio.to_thread(upgrade, self._base_url)
                self._migrated = True
            await self._empty(self._base_url)
            return self._base_url
        if self._template is None:
            self._template = self._workdir / "template.db"
            await asyncio.to_thread(upgrade, f"sqlite+pysqlite:///{self._template}")
        self._count += 1
        target = self._workdir / f"test-{self._count}.db"
        shutil.copyfile(self._template, target)
        return f"sqlite+pysqlite:///{target}"

    @staticmethod
    async def _empty(url: str) -> None:
        engine = create_async_engine(url)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    def cleanup(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)
