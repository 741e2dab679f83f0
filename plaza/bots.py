"""Loading service bots: a bot is data (`bots/<name>/bot.yml`) plus actions (`actions/<name>.py`).

An actions module lists its actions explicitly: it defines `create_actions(ctx: BotContext)`
returning the action instances, constructed with what they need (a catalog, the store, a clock).
Nothing is registered by scanning subclasses at import time.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from plaza.clock import Clock
from plaza.domain import BotDomain, ResponseBook, load_bot_domain, localize
from plaza.errors import ConfigError
from plaza.messages import Button
from plaza.nlu.types import CONCIERGE
from plaza.sdk import Action, DomainDict, FormValidationAction, ValidationAction
from plaza.storage.staging import DomainStore

CONCIERGE_DOMAIN = Path(__file__).parent / "dialogue" / "concierge.yml"


@dataclass(frozen=True, slots=True)
class BotContext:
    """What a bot's actions may use. Passed to `create_actions`; nothing global."""

    name: str
    app_dir: Path
    data_dir: Path
    clock: Clock
    timezone: ZoneInfo
    languages: tuple[str, ...]
    store: DomainStore


ActionsFactory = Callable[[BotContext], Sequence[Action]]


@dataclass(frozen=True, slots=True)
class BotRuntime:
    """A loaded bot: its declaration, its actions by name, its responses with the defaults behind."""

    domain: BotDomain
    actions: dict[str, Action]
    responses: ResponseBook
    domain_dict: DomainDict
    """The domain as actions receive it, built once (it is the same every turn)."""

    @property
    def name(self) -> str:
        return self.domain.name

    def slot_validation(self) -> ValidationAction | None:
        action = self.actions.get("action_validate_slot_mappings")
        return action if isinstance(action, ValidationAction) else None

    def form_validation(self, form: str) -> FormValidationAction | None:
        action = self.actions.get(f"validate_{form}")
        return action if isinstance(action, FormValidationAction) else None


def _import_actions(app_dir: Path, module_name: str) -> ActionsFactory:
    """Import the app's actions package with the app folder on sys.path, like a Rasa project."""
    app = str(app_dir.resolve())
    if app not in sys.path:
        sys.path.insert(0, app)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import actions module {module_name!r} from {app_dir}: {exc}") from exc
    factory = getattr(module, "create_actions", None)
    if not callable(factory):
        raise ConfigError(f"{module_name} must define create_actions(ctx) returning its actions")
    return factory  # type: ignore[no-any-return]


def _check_validation_methods(domain: BotDomain, actions: dict[str, Action]) -> list[str]:
    problems: list[str] = []
    for action in actions.values():
        if not isinstance(action, ValidationAction):
            continue
        if isinstance(action, FormValidationAction):
            form = domain.forms.get(action.form_name())
            if form is None:
                problems.append(f"{action.name()} validates unknown form {action.form_name()!r}")
                continue
        for kind, slots in action.declared_slot_methods().items():
            problems.extend(
                f"{type(action).__name__}.{kind}_{slot} names no declared slot"
                for slot in slots
                if slot not in domain.slots
            )
    return problems


def build_runtime(
    domain: BotDomain, actions: Sequence[Action], defaults: ResponseBook | None, default_language: str
) -> BotRuntime:
    by_name: dict[str, Action] = {}
    for action in actions:
        if action.name() in by_name:
            raise ConfigError(f"bot {domain.name!r} defines action {action.name()!r} twice")
        by_name[action.name()] = action
    problems = _check_validation_methods(domain, by_name)
    if problems:
        raise ConfigError(f"bot {domain.name!r}:\n  " + "\n  ".join(problems))
    merged = dict(domain.responses)
    if defaults is not None:
        for name in defaults.names():
            merged.setdefault(name, defaults.variants(name))
    return BotRuntime(
        domain=domain,
        actions=by_name,
        responses=ResponseBook(merged, default_language),
        domain_dict=domain.to_domain_dict(),  # type: ignore[arg-type]
    )


def load_concierge(default_language: str, builtin_actions: Sequence[Action]) -> BotRuntime:
    domain = load_bot_domain(CONCIERGE_DOMAIN)
    runtime = build_runtime(domain, builtin_actions, None, default_language)
    domain.check(set(runtime.actions), set())
    return runtime


def load_bot(
    ctx: BotContext, concierge: BotRuntime, builtin_actions: Sequence[Action], default_language: str
) -> BotRuntime:
    path = ctx.app_dir / "bots" / ctx.name / "bot.yml"
    domain = load_bot_domain(path)
    if domain.name != ctx.name:
        raise ConfigError(f"{path} declares name {domain.name!r}; it must match its folder {ctx.name!r}")
    factory = _import_actions(ctx.app_dir, domain.actions or f"actions.{ctx.name}")
    try:
        own = list(factory(ctx))
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"actions of bot {ctx.name!r} failed to load: {exc!r}") from exc
    runtime = build_runtime(domain, [*builtin_actions, *own], concierge.responses, default_language)
    common = set(concierge.domain.intents)
    domain.check(set(runtime.actions), common)
    return runtime


def runtime_of(bots: Mapping[str, BotRuntime], concierge: BotRuntime, bot: str | None) -> BotRuntime:
    """The runtime answering for `bot`: the concierge's for none (or the concierge itself)."""
    return concierge if bot is None or bot == CONCIERGE else bots[bot]


def menu_buttons(bots: Mapping[str, BotRuntime], language: str) -> list[Button]:
    """The installed bots' menus, in the order the app lists its bots."""
    return [
        Button(localize(item.title, language), item.payload)
        for rt in bots.values()
        for item in rt.domain.menu
    ]
