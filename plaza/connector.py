"""What a channel adapter is. One module per platform under `connectors/`.

A connector has a small lifecycle (`start`/`stop`), a pure function turning a platform payload
into an `Inbound`, the message kinds it can render (the rest are degraded by
`plaza.messages.degrade`), and, for webhook platforms, the HTTP routes it serves. A module named
in config.yml's `connectors:` exposes `create_connector(plaza, settings)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from plaza.errors import ConfigError
from plaza.messages import Capability

if TYPE_CHECKING:
    from plaza.app import Plaza


class Connector(Protocol):
    name: str
    capabilities: frozenset[Capability]

    def routes(self) -> Sequence[web.AbstractRouteDef]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ConnectorFactory(Protocol):
    def __call__(self, plaza: Plaza, settings: Mapping[str, Any]) -> Connector: ...


def load_connector(name: str, plaza: Plaza, settings: Mapping[str, Any]) -> Connector:
    module_name = str(settings.get("module") or f"connectors.{name}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"connector {name!r}: cannot import {module_name}: {exc}") from exc
    factory: ConnectorFactory | None = getattr(module, "create_connector", None)
    if factory is None:
        raise ConfigError(f"connector module {module_name} has no create_connector(plaza, settings)")
    options = {k: v for k, v in settings.items() if k != "module"}
    return factory(plaza, options)
