"""Plaza's exception hierarchy. Every error the engine raises on purpose is a `PlazaError`.

    PlazaError
    ├── ConfigError            config.yml, bot.yml, an actions module or a connector is wrong
    ├── BadInput               a client sent something we refuse (HTTP 4xx, never 500)
    │   ├── PayloadTooLarge    413
    │   └── UnknownPayload     a button payload that names no bot, intent or action
    ├── NotFound               404
    ├── ConflictError          a concurrent change won: the turn is retried on fresh state
    │   └── CapacityExceeded   a staged seat reservation no longer fits
    ├── ActionError            an action failed; the user gets an apology, the turn is not lost
    └── UnstorableValue        a turn holds a value JSON storage cannot encode: stored as its text

The HTTP layer maps these to statuses in exactly one place (`plaza.server.errors`).
"""

from __future__ import annotations


class PlazaError(Exception):
    """Root of every error Plaza raises on purpose."""


class ConfigError(PlazaError):
    """The app's configuration (config.yml, bot.yml, modules it names) is invalid."""


class BadInput(PlazaError):
    """The client sent input we refuse; the message says what is wrong and how to fix it."""

    status = 400


class PayloadTooLarge(BadInput):
    status = 413


class UnknownPayload(BadInput):
    """A button payload names an intent or bot this app does not have."""


class NotFound(PlazaError):
    status = 404


class ConflictError(PlazaError):
    """A concurrent writer changed what this turn read; retry the turn on fresh state."""


class CapacityExceeded(ConflictError):
    """The seats a turn staged were taken by someone else before it committed."""


class ActionError(PlazaError):
    """An action raised or returned something invalid."""


class UnstorableValue(PlazaError):
    """A value orjson cannot encode (an int beyond 64 bits, a set...) reached storage.

    Entry points refuse such values (the extractors never emit them, button payloads are
    checked); meeting one at storage is a bug upstream, and the engine still stores the turn,
    with the value as its text, rather than lose it.
    """
