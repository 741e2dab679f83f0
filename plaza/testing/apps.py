"""Opening the app for tests: a fresh database each time, the NLU models loaded once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from plaza.app import Plaza
from plaza.clock import Clock
from plaza.nlu.service import NLUService
from plaza.testing.databases import FreshDatabases


class TestApps:
    __test__ = False  # not a pytest class

    def __init__(self, app_dir: Path, databases: FreshDatabases, environ: Mapping[str, str]) -> None:
        self._app_dir = app_dir
        self._databases = databases
        self._environ = environ
        self._nlu: NLUService | None = None

    async def open(self, clock: Clock) -> Plaza:
        plaza = await Plaza.open(
            self._app_dir,
            self._environ,
            clock=clock,
            database_url=await self._databases.fresh_url(),
            migrate=False,
            nlu=self._nlu,
        )
        self._nlu = plaza.nlu
        return plaza
