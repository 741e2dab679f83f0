"""Assembling a super app from its folder: every part is built and wired here, in one place.

`Plaza.open(app_dir)` reads config.yml, migrates the database, loads each bot (bot.yml + its
actions), trains or loads the NLU models, and returns the running parts. Servers, the terminal
chat and the conversation-test runner all start from here, so they all run the same app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from plaza.bots import BotContext, BotRuntime, load_bot, load_concierge, menu_buttons
from plaza.clock import Clock, SystemClock
from plaza.config import AppConfig, load_config
from plaza.dialogue.builtin_actions import ActionMenu
from plaza.dialogue.manager import DialogueManager, Policy
from plaza.engine import Engine
from plaza.messaging.delivery import DeliveryMarker
from plaza.messaging.locks import KeyedLocks
from plaza.nlu.model import PipelineConfig
from plaza.nlu.project import Progress, load_nlu
from plaza.nlu.service import NLUService
from plaza.router import Router
from plaza.storage.committer import TurnCommitter
from plaza.storage.database import Database, normalise_url
from plaza.storage.migrate import upgrade
from plaza.storage.staging import DomainStore


@dataclass
class Plaza:
    config: AppConfig
    app_dir: Path
    db: Database
    clock: Clock
    bots: dict[str, BotRuntime]
    concierge: BotRuntime
    nlu: NLUService
    router: Router
    dialogue: DialogueManager
    engine: Engine
    delivery: DeliveryMarker
    committer: TurnCommitter

    @classmethod
    async def open(
        cls,
        app_dir: Path,
        environ: Mapping[str, str],
        *,
        clock: Clock | None = None,
        database_url: str | None = None,
        migrate: bool = True,
        train: bool = True,
        progress: Progress | None = None,
        nlu: NLUService | None = None,
    ) -> Plaza:
        """Open the app in `app_dir`. Pass `nlu` to reuse models already loaded (tests)."""
        app_dir = await asyncio.to_thread(app_dir.resolve)
        config = load_config(app_dir, environ)
        url = normalise_url(database_url or config.storage.url, app_dir)
        if migrate:
            await asyncio.to_thread(upgrade, url)
        db = Database(url, sqlite_synchronous=config.storage.sqlite_synchronous)
        await db.start()
        try:
            return await cls._assemble(config, app_dir, db, clock, train, progress, nlu)
        except BaseException:
            await db.close()
            raise

    @classmethod
    async def _assemble(
        cls,
        config: AppConfig,
        app_dir: Path,
        db: Database,
        clock: Clock | None,
        train: bool,
        progress: Progress | None,
        nlu: NLUService | None,
    ) -> Plaza:
        tz = ZoneInfo(config.timezone)
        clock = clock or SystemClock(tz)
        bots: dict[str, BotRuntime] = {}  # filled below, before any turn shows the menu
        builtin_actions = [ActionMenu(partial(menu_buttons, bots))]
        concierge = load_concierge(config.default_language, builtin_actions)
        store = DomainStore(db)
        for name in config.bots:
            ctx = BotContext(
                name=name,
                app_dir=app_dir,
                data_dir=app_dir / "data",
                clock=clock,
                timezone=tz,
                languages=tuple(config.languages),
                store=store,
            )
            bots[name] = load_bot(ctx, concierge, builtin_actions, config.default_language)
        if nlu is None:
            nlu = await cls.load_nlu(config, app_dir, bots, train=train, progress=progress)
        policy = Policy(fallback_threshold=config.nlu.fallback_threshold)
        dialogue = DialogueManager(bots, concierge, policy)
        router = Router(nlu, bots, concierge, language_confidence=config.nlu.language_confidence)
        committer = TurnCommitter(db)
        committer.start()
        engine = Engine(
            db=db,
            router=router,
            dialogue=dialogue,
            locks=KeyedLocks(),
            clock=clock,
            default_language=config.default_language,
            committer=committer,
        )
        delivery = DeliveryMarker(db, clock)
        delivery.start()
        return cls(
            config, app_dir, db, clock, bots, concierge, nlu, router, dialogue, engine, delivery, committer
        )

    @staticmethod
    async def load_nlu(
        config: AppConfig,
        app_dir: Path,
        bots: Mapping[str, BotRuntime],
        *,
        train: bool = True,
        progress: Progress | None = None,
    ) -> NLUService:
        nlu, _jobs = await asyncio.to_thread(
            load_nlu,
            app_dir,
            {name: rt.domain for name, rt in bots.items()},
            config.languages,
            config.default_language,
            PipelineConfig.from_dict(config.nlu.pipeline),
            app_dir / config.nlu.model_dir,
            shard_bots=config.nlu.router_shard_bots,
            progress=progress,
            train=train,
        )
        return nlu

    async def close(self) -> None:
        await self.committer.stop()
        await self.delivery.stop()
        await self.db.close()
