"""The super app's configuration: `config.yml`, then the environment on top.

Secrets and deployment choices come from the environment, never from committed files:
`PLAZA_DATABASE_URL`, `PLAZA_HOST`, `PLAZA_PORT`, `PLAZA_SQLITE_SYNCHRONOUS`.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from plaza.errors import ConfigError
from plaza.nlu.types import CONCIERGE, DEFAULT_SHARD_BOTS, OUT_OF_SCOPE

BOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
RESERVED_BOT_NAMES = frozenset({"common", CONCIERGE, OUT_OF_SCOPE})
"""Taken, in any case: the concierge, the shared intents file (`intents/common.<lang>.yml`) and the
out-of-scope label."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NLUSettings(_Strict):
    pipeline: dict[str, Any] = Field(default_factory=dict)
    """Overrides of `plaza.nlu.model.PipelineConfig` fields."""
    fallback_threshold: float = Field(0.45, ge=0, le=1, allow_inf_nan=False)
    """Below this intent confidence the bot asks a clarifying question instead of guessing."""
    language_confidence: float = Field(0.8, ge=0, le=1, allow_inf_nan=False)
    """A message switches the conversation's language only when detected at least this surely."""
    model_dir: str = ".plaza/models"
    router_shard_bots: int = Field(DEFAULT_SHARD_BOTS, ge=1)
    """Past this many bots (the concierge counts as one), the router is split into shards of about
    this many bots each, so changing a bot retrains only its shard (docs/nlu.md)."""

    @field_validator("pipeline", mode="before")
    @classmethod
    def _pipeline(cls, v: Any) -> Any:
        """`pipeline:` with every option commented out is YAML's null: no overrides.

        A list is most likely a Rasa config's components, which Plaza has no use for: say so
        rather than pydantic's "should be a valid dictionary".
        """
        if v is None:
            return {}
        if isinstance(v, list):
            raise ValueError(
                "Plaza's pipeline is a mapping of options (e.g. `pipeline: {intent_c: 0.5}`,"
                " docs/nlu.md), not Rasa's list of components"
            )
        return v


class StorageSettings(_Strict):
    url: str = "sqlite:///data/plaza.db"
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(5005, ge=1, le=65535)
    max_message_chars: int = Field(4096, ge=1)
    """Longer texts are refused with HTTP 413 (Telegram's own limit is 4096)."""


class AppConfig(_Strict):
    name: str = "Plaza"
    languages: list[str] = Field(default_factory=lambda: ["en", "fr"])
    default_language: str = "en"
    timezone: str = "Europe/Paris"
    bots: list[str]
    nlu: NLUSettings = Field(default_factory=NLUSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one language")
        return v

    @field_validator("bots")
    @classmethod
    def _bot_names(cls, v: list[str]) -> list[str]:
        """A bot's name is a folder name and the router's label for it.

        So the NLU's own labels (`_router`, `_elsewhere`, `out_of_scope`) and the concierge's
        cannot be taken.
        """
        for name in v:
            if not BOT_NAME.fullmatch(name) or name.lower() in RESERVED_BOT_NAMES:
                raise ValueError(
                    f"bot name {name!r}: use letters, digits, '-' and '_', not starting with '_'"
                    f" (and not one of {', '.join(sorted(RESERVED_BOT_NAMES))})"
                )
        if len({name.lower() for name in v}) != len(v):  # one folder on a case-insensitive disk
            raise ValueError("a bot is listed twice")
        return v


_ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "PLAZA_DATABASE_URL": ("storage", "url"),
    "PLAZA_SQLITE_SYNCHRONOUS": ("storage", "sqlite_synchronous"),
    "PLAZA_HOST": ("server", "host"),
    "PLAZA_PORT": ("server", "port"),
}


def load_config(app_dir: Path, environ: Mapping[str, str]) -> AppConfig:
    path = app_dir / "config.yml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"no config.yml in {app_dir}: run plaza from an app folder, or pass --app") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping")
    for env_key, (section, key) in _ENV_OVERRIDES.items():
        if environ.get(env_key):
            raw.setdefault(section, {})[key] = environ[env_key]
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid: {_problems(exc)}") from exc


def _problems(exc: ValidationError) -> str:
    """The validation errors on one line: each one's place in config.yml, what is wrong, the value.

    pydantic's own text takes four lines a problem, with a type code and a web address the user
    has no use for.
    """
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] not in {"value_error", "missing"}:  # those say it, or have no value
            message += f", got {reprlib.repr(error['input'])}"
        problems.append(f"{where}: {message}")
    return "; ".join(problems)
