"""Values on their way into JSON columns: what orjson cannot encode, where it is, and a storable copy.

orjson refuses an int beyond 64 bits, a key it cannot write and nesting deeper than 254 levels.
The entry points refuse such values (the extractors, button payloads, request bodies), so these
are the storage layer's last resort: the engine stores a turn that still holds one with the
value as its text rather than lose the turn (`plaza.storage.turns.storable_turn`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import orjson

__all__ = ["MAX_INPUT_DEPTH", "ORJSON_OPTIONS", "deeper_than", "storable", "unencodable_path"]

ORJSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS
"""How JSON columns are written (SQLAlchemy's JSON type accepts non-string keys too)."""
MAX_INPUT_DEPTH: Final = 32
"""The deepest nesting a request's stored JSON may have (metadata, payload entities): far past
any real client's, far below orjson's 254."""
_MAX_STORED_DEPTH: Final = 200
"""Past this depth `storable` writes a value as JSON text, leaving orjson room to spare."""


def deeper_than(value: Any, limit: int) -> bool:
    """Whether `value`'s lists and objects nest more than `limit` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _encodable(value: Any) -> bool:
    try:
        orjson.dumps(value, option=ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return False
    return True


def _text(value: Any) -> str:
    """A value as text; an int by its exact digits (`str(int)` refuses more than 4,300 of them)."""
    return str(Decimal(value)) if isinstance(value, int) and not isinstance(value, bool) else str(value)


def unencodable_path(value: Any, path: str = "$", depth: int = 0) -> str | None:
    """Where the first value orjson cannot encode is, as `$.key[index] = value`; None if nowhere."""
    if isinstance(value, Mapping | list | tuple) and depth >= _MAX_STORED_DEPTH:
        return f"{path} (nested more than {_MAX_STORED_DEPTH} levels)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{_text(key)[:40]}"
            if not _encodable({key: None}):
                return f"{where} (the key)"
            found = unencodable_path(item, where, depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unencodable_path(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    return None if _encodable(value) else f"{path} = {_text(value)[:40]}"


def storable(value: Any, depth: int = 0) -> Any:
    """A copy of `value` in which everything orjson cannot encode is its text (an int its exact digits).

    Stored this way nothing is lost but that value's type. A list or object nested past
    `_MAX_STORED_DEPTH` becomes its JSON text. Walks the whole value, so only for a value
    `dumps` has refused.
    """
    if isinstance(value, Mapping | list | tuple) and depth >= _MAX_STORED_DEPTH:
        return _deep_text(value)
    if isinstance(value, Mapping):
        return {(k if _encodable({k: None}) else _text(k)): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item, depth + 1) for item in value]
    return value if _encodable(value) else _text(value)


def _deep_text(value: Any) -> str:
    """A deeply nested value as JSON text (the standard library has no depth limit of its own)."""
    try:
        return json.dumps(value, default=_text)
    except (RecursionError, ValueError):  # deeper than Python's stack, or NaN-like surprises
        return "<nested too deeply to store>"
