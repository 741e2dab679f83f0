"""The `plaza` sub-commands. Each builds what it needs from the app folder and returns an exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from plaza.errors import ConfigError
from plaza.heap import settle_heap

if TYPE_CHECKING:
    from plaza.app import Plaza


def _app_dir(args: argparse.Namespace) -> Path:
    return Path(args.app).resolve()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop to serve on: uvloop when installed (the asyncio API on libuv, faster)."""
    if os.environ.get("PLAZA_EVENT_LOOP", "auto") == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _open(args: argparse.Namespace) -> Plaza:
    """The app in `--app`, migrated and trained, with a progress bar while it trains."""
    from plaza.app import Plaza
    from plaza.cli.progress import ProgressBar

    bar = ProgressBar()
    try:
        return await Plaza.open(_app_dir(args), os.environ, progress=bar)
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    """`plaza run`: migrate, train what changed, serve HTTP until interrupted."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from plaza.connector import load_connector
    from plaza.server.app import build_app

    started = time.perf_counter()
    plaza = await _open(args)
    try:
        connectors = [load_connector(name, plaza, s) for name, s in plaza.config.connectors.items()]
        app = build_app(plaza, connectors)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host = args.host or plaza.config.server.host
        port = args.port or plaza.config.server.port
        site = web.TCPSite(runner, host, port)
        await site.start()
        settle_heap()
        elapsed = time.perf_counter() - started
        print(
            f"Plaza is ready on http://{host}:{port} in {elapsed:.1f}s: bots {', '.join(plaza.bots)}; "
            f"database {plaza.db.dialect}. Try: plaza chat",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("Plaza is stopping…", flush=True)
        await runner.cleanup()
    finally:
        await plaza.close()
    return 0


def chat(args: argparse.Namespace) -> int:
    return asyncio.run(_chat(args))


async def _chat(args: argparse.Namespace) -> int:
    import aiohttp

    from connectors.cli import chat_loop, in_process, over_rest

    sender = args.sender or f"terminal-{secrets.token_hex(4)}"
    if args.url:
        async with aiohttp.ClientSession() as session:
            await chat_loop(over_rest(session, args.url), sender=sender, language=args.lang)
        return 0
    plaza = await _open(args)
    try:
        if args.lang is not None and args.lang not in plaza.config.languages:
            raise ConfigError(f"--lang {args.lang!r} is not one of {plaza.config.languages}")
        await chat_loop(in_process(plaza), sender=sender, language=args.lang)
    finally:
        await plaza.close()
    return 0


def train(args: argparse.Namespace) -> int:
    from plaza.cli.progress import ProgressBar
    from plaza.config import load_config
    from plaza.domain import load_bot_domain
    from plaza.nlu.model import PipelineConfig
    from plaza.nlu.project import plan, prune, train_job

    app_dir = _app_dir(args)
    config = load_config(app_dir, os.environ)
    domains = {name: load_bot_domain(app_dir / "bots" / name / "bot.yml") for name in config.bots}
    pipeline = PipelineConfig.from_dict(config.nlu.pipeline)
    model_dir = app_dir / config.nlu.model_dir
    shard_bots = config.nlu.router_shard_bots
    jobs = plan(app_dir, domains, config.languages, pipeline, model_dir, shard_bots=shard_bots)
    bar = ProgressBar()
    trained = 0
    started = time.perf_counter()
    for job in jobs:
        if job.cached and not args.force:
            print(
                f"up to date  {job.name}/{job.language}  ({len(job.data.examples)} examples)", file=sys.stderr
            )
            continue
        t0 = time.perf_counter()
        model = train_job(job, pipeline, bar)
        trained += 1
        check = "" if model.encoder_check is None else f"; {model.encoder_check.summary()}"
        if model.encoder_skip is not None:
            check += f"; {model.encoder_skip.summary()}"
        print(
            f"trained     {job.name}/{job.language}  ({len(job.data.examples)} examples, "
            f"{time.perf_counter() - t0:.1f}s{check})",
            file=sys.stderr,
        )
    bar.close()
    prune(model_dir, jobs)
    elapsed = time.perf_counter() - started
    print(f"{trained} model(s) trained, {len(jobs) - trained} up to date, in {elapsed:.1f}s")
    return 0


def test(args: argparse.Namespace) -> int:
    return asyncio.run(_test(args))


async def _test(args: argparse.Namespace) -> int:
    from plaza.testing.apps import TestApps
    from plaza.testing.conversations import ConversationRunner, load_specs
    from plaza.testing.databases import FreshDatabases

    app_dir = _app_dir(args)
    paths = [Path(p) for p in args.paths] or sorted((app_dir / "tests" / "conversations").glob("*.yml"))
    if not paths:
        print("no conversation tests found (tests/conversations/*.yml)", file=sys.stderr)
        return 1
    databases = FreshDatabases(os.environ.get("PLAZA_DATABASE_URL"))
    apps = TestApps(app_dir, databases, os.environ)
    runner = ConversationRunner(apps.open)
    passed = failed = 0
    try:
        for path in paths:
            for spec in load_specs(path):
                outcome = await runner.run(spec)
                if outcome.passed:
                    passed += 1
                    print(f"PASS  {path.name} :: {spec.name}")
                else:
                    failed += 1
                    print(f"FAIL  {outcome.explain()}")
    finally:
        databases.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def db_upgrade(args: argparse.Namespace) -> int:
    from plaza.config import load_config
    from plaza.storage.database import normalise_url
    from plaza.storage.migrate import current_and_head, upgrade

    app_dir = _app_dir(args)
    config = load_config(app_dir, os.environ)
    url = normalise_url(config.storage.url, app_dir)
    upgrade(url)
    current, head = current_and_head(url)
    print(f"database is at revision {current or head} (head {head})")
    return 0
