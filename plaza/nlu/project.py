"""Training an app's NLU: one model per bot and language, plus a router, cached by fingerprint.

Training data per bot and language is `intents/<bot>.<lang>.yml` plus `intents/common.<lang>.yml`;
the router learns which bot a message is for from the bots' examples (common ones are labelled
"concierge"); past `shard_bots` bots it is split into shards (`router_shards.py`). A model is
retrained only when the fingerprint of its data and configuration changes, so changing one bot
retrains that bot and its router shard, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from plaza.domain import BotDomain, LookupSource
from plaza.errors import ConfigError
from plaza.nlu import builtin
from plaza.nlu.language import LanguageDetector
from plaza.nlu.lookup import LookupExtractor
from plaza.nlu.model import IntentEntityModel, PipelineConfig, fingerprint
from plaza.nlu.router_shards import RouterShard, ShardedRouter, router_shards
from plaza.nlu.service import BotModels, NLUService, RouterModel
from plaza.nlu.training_data import TrainingDataError, load_yaml
from plaza.nlu.types import CONCIERGE, DEFAULT_SHARD_BOTS, ROUTER, TrainingData

Progress = Callable[[str, float], None]
"""progress(what, fraction) — `what` names the model being trained, fraction in [0, 1]."""


@dataclass(frozen=True, slots=True)
class ModelJob:
    """One model to have ready: where its data comes from and where it is cached."""

    name: str
    language: str
    source: Callable[[], TrainingData]
    """What it trains on.  A function, so that a router shard's sample of the other shards is
    built only if the shard must be trained (`RouterShard.training`)."""
    directory: Path
    cached: bool

    @property
    def data(self) -> TrainingData:
        return self.source()


def _read_intents(path: Path) -> TrainingData:
    try:
        return load_yaml(path)
    except TrainingDataError as exc:
        raise ConfigError(str(exc)) from exc


def common_data(app_dir: Path, language: str) -> TrainingData:
    path = app_dir / "intents" / f"common.{language}.yml"
    return _read_intents(path) if path.exists() else TrainingData()


def own_data(app_dir: Path, bot: str, language: str) -> TrainingData:
    """The bot's own training data for `language` (without the common intents)."""
    path = app_dir / "intents" / f"{bot}.{language}.yml"
    if not path.exists():
        raise ConfigError(f"bot {bot!r} has no training data for {language!r}: expected {path}")
    return _read_intents(path)


def router_messages(own: Mapping[str, TrainingData], common: TrainingData) -> dict[str, list[str]]:
    """What the router learns: each bot's messages under its name, the common ones the concierge's."""
    messages = {bot: [e.text for e in data.examples] for bot, data in own.items()}
    messages[CONCIERGE] = [e.text for e in common.examples]
    return messages


def _names(record: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    names: list[str] = []
    for f in fields:
        value = record.get(f)
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, list):
            names.extend(v for v in value if isinstance(v, str))
        elif isinstance(value, Mapping):  # per-language names or synonyms
            for v in value.values():
                names.extend([v] if isinstance(v, str) else [x for x in v if isinstance(x, str)])
    return names


def lookup_entries(app_dir: Path, source: LookupSource) -> list[tuple[str, list[str]]]:
    """(canonical value, names) pairs from a catalog file of the app."""
    path = app_dir / source.file
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read lookup file {path}: {exc}") from exc
    entries: list[tuple[str, list[str]]] = []
    if isinstance(raw, list):
        key = source.key or "id"
        entries.extend(
            (record[key], _names(record, source.names))
            for record in raw
            if isinstance(record, Mapping) and isinstance(record.get(key), str)
        )
    elif isinstance(raw, Mapping):
        for canonical, record in raw.items():
            names = [canonical] + (
                _names(record, [*source.names, "synonyms"]) if isinstance(record, Mapping) else []
            )
            entries.append((canonical, names))
    else:
        raise ConfigError(f"lookup file {path} must hold a JSON list or object")
    return entries


def catalog_entries(app_dir: Path, domain: BotDomain) -> dict[str, list[tuple[str, list[str]]]]:
    return {entity: lookup_entries(app_dir, source) for entity, source in domain.lookups.items()}


def plan(
    app_dir: Path,
    bots: Mapping[str, BotDomain],
    languages: Sequence[str],
    config: PipelineConfig,
    model_dir: Path,
    *,
    shard_bots: int = DEFAULT_SHARD_BOTS,
) -> list[ModelJob]:
    """The models the app needs, each with its cache directory.

    One per bot and language, the concierge's, and the router's shards (one up to `shard_bots` bots).

    A model's directory is named by the fingerprint of its own data: a router shard's "elsewhere"
    sample of the other shards is left out of it, so a change elsewhere does not retrain it.
    """
    jobs: list[ModelJob] = []
    for language in languages:
        # each file read once per language, though three kinds of model learn from it
        own = {bot: own_data(app_dir, bot, language) for bot in bots}
        common = common_data(app_dir, language)
        # (name, what its cache key covers, what it trains on, the key's tag)
        sets: list[tuple[str, TrainingData, Callable[[], TrainingData], str]] = [
            (bot, merged, partial(_same, merged), "")
            for bot, merged in ((b, d.merge(common)) for b, d in own.items())
        ]
        sets.append((CONCIERGE, common, partial(_same, common), ""))
        sets.extend(
            (shard.name, shard.own, partial(_shard_training, shard), shard.format)
            for shard in router_shards(router_messages(own, common), shard_bots)
        )
        for name, key, source, tag in sets:
            if not key.examples:  # what a model trains on holds its key's examples
                continue
            directory = model_dir / name / language / fingerprint(key, config.for_language(language), tag)
            jobs.append(ModelJob(name, language, source, directory, (directory / "DONE").exists()))
    return jobs


def _same(data: TrainingData) -> TrainingData:
    return data


def _shard_training(shard: RouterShard) -> TrainingData:
    return shard.training


def is_router(job: ModelJob) -> bool:
    """Whether the job is the router or one of its shards (`_router-3-of-8`)."""
    return job.name == ROUTER or job.name.startswith(ROUTER + "-")


def train_job(job: ModelJob, config: PipelineConfig, progress: Progress | None = None) -> IntentEntityModel:
    """Train one model and publish it atomically (a half-written model is never loaded)."""
    model = IntentEntityModel.train(
        job.data,
        config.for_language(job.language),
        progress=(lambda stage, f: progress(f"{job.name}/{job.language}", f)) if progress else None,
    )
    job.directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=job.directory.parent))
    try:
        model.save(staging)
        (staging / "DONE").write_text("ok\n", encoding="utf-8")
        if job.directory.exists():
            shutil.rmtree(job.directory)
        staging.rename(job.directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return model


def prune(model_dir: Path, keep: Sequence[ModelJob]) -> None:
    """Delete cached models no current job uses (old fingerprints)."""
    wanted = {job.directory.resolve() for job in keep}
    for directory in model_dir.glob("*/*/*"):
        if directory.is_dir() and directory.resolve() not in wanted and not directory.name.startswith("."):
            shutil.rmtree(directory, ignore_errors=True)
    # folders left empty: a removed bot's, or the shards of a router whose shard count changed
    for folder in [*model_dir.glob("*/*"), *model_dir.glob("*")]:
        if folder.is_dir() and not folder.name.startswith(".") and not any(folder.iterdir()):
            folder.rmdir()


def language_detector(
    app_dir: Path, languages: Sequence[str], model_dir: Path | None = None
) -> LanguageDetector | None:
    """The detector trained on every language's training texts, cached by their fingerprint.

    None for an app that speaks one language: there is nothing to tell apart.
    """
    if len(languages) < 2:
        return None
    paths = sorted((app_dir / "intents").glob("*.yml"))
    digest = hashlib.sha256(repr(sorted(languages)).encode())
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cached = model_dir / "_language" / f"{digest.hexdigest()[:32]}.json" if model_dir is not None else None
    if cached is not None and cached.exists():
        return LanguageDetector.load(cached)
    texts: dict[str, list[str]] = {lang: [] for lang in languages}
    for path in paths:
        parts = path.name.split(".")
        if len(parts) == 3 and parts[1] in texts:
            texts[parts[1]].extend(e.text for e in _read_intents(path).examples)
    detector = LanguageDetector.train(texts)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob("*.json"):
            old.unlink()
        detector.save(cached)
    return detector


def load_nlu(
    app_dir: Path,
    bots: Mapping[str, BotDomain],
    languages: Sequence[str],
    default_language: str,
    config: PipelineConfig,
    model_dir: Path,
    *,
    shard_bots: int = DEFAULT_SHARD_BOTS,
    progress: Progress | None = None,
    train: bool = True,
) -> tuple[NLUService, list[ModelJob]]:
    """Load every model, training those whose fingerprint is not cached yet."""
    jobs = plan(app_dir, bots, languages, config, model_dir, shard_bots=shard_bots)
    missing = [job for job in jobs if not job.cached]
    if missing and not train:
        names = ", ".join(f"{j.name}/{j.language}" for j in missing)
        raise ConfigError(f"models not trained: {names}; run `plaza train`")
    loaded: dict[tuple[str, str], IntentEntityModel] = {}
    for job in jobs:
        if job.cached:
            loaded[(job.name, job.language)] = IntentEntityModel.load(job.directory)
        else:
            loaded[(job.name, job.language)] = train_job(job, config, progress)
    per_bot: dict[str, BotModels] = {}
    dims = frozenset(builtin.DIMENSIONS)
    for name in [*bots, CONCIERGE]:
        domain = bots.get(name)
        catalog = catalog_entries(app_dir, domain) if domain is not None else {}
        per_bot[name] = BotModels(
            models={lang: m for (n, lang), m in loaded.items() if n == name},
            lookup=LookupExtractor(catalog) if catalog else None,
            builtin_dims=frozenset(domain.entities) & dims if domain is not None else frozenset(),
            catalog={entity: frozenset(value for value, _ in entries) for entity, entries in catalog.items()},
        )
    router: dict[str, RouterModel] = {}
    for language in languages:
        shards = [loaded[job.name, language] for job in jobs if job.language == language and is_router(job)]
        if shards:
            router[language] = shards[0] if len(shards) == 1 else ShardedRouter(shards)
    builtin.warm_up()  # compile the extractors' grammars now, not on the first user's message
    service = NLUService(
        detector=language_detector(app_dir, languages, model_dir),
        router=router,
        bots=per_bot,
        default_language=default_language,
    )
    return service, jobs
