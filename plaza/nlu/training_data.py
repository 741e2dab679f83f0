"""Loading NLU training data: Rasa's YAML `nlu:` format and a JSONL format, into `TrainingData`.

The YAML is read through PyYAML's *node* API (not `safe_load`) so every example keeps its line
number: a bot author who mistypes an annotation gets `intents/taxi.en.yml:42: ...`, not a
traceback.  Every problem is raised as `TrainingDataError`, a `ValueError` naming file and line.

Annotation forms accepted inside an example (all of Rasa 3's):

* `[value](entity)`
* `[value](entity:canonical)` (old style synonym)
* `[value]{"entity": "e", "value": "v", "role": "r", "group": "g"}`
* `[value][{"entity": "e1"}, {"entity": "e2", "role": "r"}]` (several entities on one span)

An annotation whose value differs from its surface text also records a synonym
(surface, lower-cased -> value), as Rasa's synonym mapper learns it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from plaza.nlu.types import EntitySpan, Example, LookupTable, RegexFeature, TrainingData

__all__ = [
    "TrainingDataError",
    "is_yaml",
    "load_jsonl",
    "load_training_data",
    "load_yaml",
    "parse_annotated",
    "parse_jsonl",
    "parse_yaml",
]


logger = logging.getLogger(__name__)


class TrainingDataError(ValueError):
    """Malformed training data; the message names the source and, when known, the line (1-based)."""

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


# Keys of other Rasa file kinds that may share a file with `nlu:`; they are not ours to read.
# Any other key is skipped with a warning, as Rasa's schema accepts any key (`flows:`, …).
_IGNORED_TOP_KEYS = frozenset(
    {
        "version",
        "rules",
        "stories",
        "responses",
        "intents",
        "entities",
        "slots",
        "forms",
        "actions",
        "session_config",
        "e2e_actions",
        "config",
        "test_stories",
    }
)

_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)"
    r"|(?P<dict>\{[^}]*\})"
    r"|(?P<list>\[\s*\{.*?\}\s*\]))"
)


def parse_annotated(
    annotated: str, *, source: str = "<string>", line: int | None = None
) -> tuple[str, tuple[EntitySpan, ...], dict[str, str]]:
    """Strip entity annotations from one example.

    Returns the plain text, its entity spans (character offsets into the plain text) and the
    synonyms the annotations imply (surface lower-cased -> canonical value).
    """
    out: list[str] = []
    spans: list[EntitySpan] = []
    synonyms: dict[str, str] = {}
    pos = 0
    length = 0
    for m in _ANNOTATION.finditer(annotated):
        before = annotated[pos : m.start()]
        out.append(before)
        length += len(before)
        surface = m.group("text")
        start, end = length, length + len(surface)
        out.append(surface)
        length = end
        pos = m.end()
        for entity, value, role, group in _annotation_targets(m, source=source, line=line):
            if not entity.strip():
                raise TrainingDataError(
                    f"empty entity name in annotation {m.group(0)!r}", source=source, line=line
                )
            canonical = surface if value is None else value
            spans.append(EntitySpan(start, end, entity.strip(), canonical, role, group))
            if canonical != surface:
                synonyms[surface.lower()] = canonical
    out.append(annotated[pos:])
    text = "".join(out)
    if not text.strip():
        raise TrainingDataError("empty example", source=source, line=line)
    return text, tuple(spans), synonyms


def _annotation_targets(
    m: re.Match[str], *, source: str, line: int | None
) -> list[tuple[str, str | None, str | None, str | None]]:
    """The (entity, value, role, group) tuples one annotation match stands for."""
    if m.group("entity") is not None:
        return [(m.group("entity"), m.group("value"), None, None)]
    raw = m.group("dict") if m.group("dict") is not None else m.group("list")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TrainingDataError(
            f"invalid JSON in entity annotation {m.group(0)!r}: {exc.msg}", source=source, line=line
        ) from None
    items = parsed if isinstance(parsed, list) else [parsed]
    targets: list[tuple[str, str | None, str | None, str | None]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str):
            raise TrainingDataError(
                f'entity annotation {m.group(0)!r} needs an "entity" string', source=source, line=line
            )
        value, role, group = (_entity_field(k, item.get(k), source, line) for k in ("value", "role", "group"))
        targets.append((_unicode(item["entity"], source, line), value, role, group))
    return targets


def _entity_field(key: str, value: Any, source: str, line: int | None) -> str | None:
    """An annotation's `value`, `role` or `group` as text, in YAML and JSONL alike.

    A string or a number; an object, a list or a boolean would become Python's repr of it
    (`"{'a': 1}"`, `"True"`), which no message ever says.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TrainingDataError(
            f"entity `{key}` must be a string or a number, not {json.dumps(value)}",
            source=source,
            line=line,
        )
    return _unicode(str(value), source, line)


# --------------------------------------------------------------------------------------------- YAML


def load_yaml(path: str | Path) -> TrainingData:
    """Read a Rasa YAML NLU file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"cannot read file: {exc}", source=str(p)) from None
    return parse_yaml(text, source=str(p))


def parse_yaml(text: str, *, source: str = "<string>") -> TrainingData:
    """Parse Rasa YAML NLU content (see the module docstring for what is accepted)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise TrainingDataError(f"invalid YAML: {problem}", source=source, line=line) from None
    data = TrainingData()
    if root is None:
        return data
    top = _mapping(root, source, "the top level")
    for key_node, value_node in top:
        key = _scalar(key_node, source, "a top-level key")
        if key == "nlu":
            if _is_null(value_node):
                continue
            if not isinstance(value_node, yaml.SequenceNode):
                raise TrainingDataError("`nlu` must be a list", source=source, line=_line(value_node))
            for item in value_node.value:
                _read_nlu_item(item, data, source)
        elif key not in _IGNORED_TOP_KEYS:
            where = _line(key_node)
            logger.warning("%s:%d: top-level key %r skipped (only `nlu` is read)", source, where, key)
    return data


def _read_nlu_item(node: yaml.Node, data: TrainingData, source: str) -> None:
    pairs = _mapping(node, source, "an `nlu` item")
    fields = {_scalar(k, source, "a key"): v for k, v in pairs}
    kinds = [k for k in ("intent", "synonym", "lookup", "regex") if k in fields]
    if len(kinds) != 1:
        raise TrainingDataError(
            "an `nlu` item needs exactly one of `intent`, `synonym`, `lookup`, `regex`",
            source=source,
            line=_line(node),
        )
    kind = kinds[0]
    name = _unicode(_scalar(fields[kind], source, f"the {kind} name").strip(), source, _line(fields[kind]))
    if not name:
        raise TrainingDataError(f"empty {kind} name", source=source, line=_line(fields[kind]))
    if "examples" not in fields:
        raise TrainingDataError(f"{kind} {name!r} has no `examples`", source=source, line=_line(node))
    lines = list(_example_lines(fields["examples"], source))
    if kind == "intent":
        for text, line in lines:
            plain, spans, synonyms = parse_annotated(text, source=source, line=line)
            data.examples.append(Example(plain, name, spans))
            data.synonyms.update(synonyms)
    elif kind == "synonym":
        for text, _line_no in lines:
            data.synonyms[text.lower()] = name
    elif kind == "lookup":
        data.lookups.append(LookupTable(name, tuple(t for t, _ in lines)))
    else:
        for pattern, line in lines:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise TrainingDataError(
                    f"invalid regex for {name!r}: {exc}", source=source, line=line
                ) from None
        data.regexes.append(RegexFeature(name, tuple(t for t, _ in lines)))


def _example_lines(node: yaml.Node, source: str) -> Iterable[tuple[str, int]]:
    """(text, line) for each example: a `|` block of `- ` lines, or a list of strings / `text:` dicts."""
    if isinstance(node, yaml.ScalarNode):
        # Content of a `|` block starts on the line after the indicator.
        first = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
        for offset, raw in enumerate(str(node.value).split("\n")):
            stripped = raw.strip()
            if not stripped:
                continue
            if not stripped.startswith("-"):
                # Rasa skips such a line with a warning (a `# comment` inside the block, say).
                logger.warning(
                    "%s:%d: line skipped, not an example (an example starts with '- '): %r",
                    source,
                    first + offset,
                    stripped,
                )
                continue
            text = stripped[1:].strip()
            if not text:
                raise TrainingDataError("empty example", source=source, line=first + offset)
            yield _unicode(text, source, first + offset), first + offset
        return
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                yield _unicode(str(item.value).strip(), source, _line(item)), _line(item)
            elif isinstance(item, yaml.MappingNode):
                sub = {_scalar(k, source, "a key"): v for k, v in item.value}
                if "text" not in sub:
                    raise TrainingDataError(
                        "an example given as a mapping needs `text`", source=source, line=_line(item)
                    )
                text = _scalar(sub["text"], source, "`text`").strip()
                yield _unicode(text, source, _line(sub["text"])), _line(sub["text"])
            else:
                raise TrainingDataError(
                    "an example must be a string or a mapping with `text`", source=source, line=_line(item)
                )
        return
    raise TrainingDataError("`examples` must be a `|` block or a list", source=source, line=_line(node))


def _unicode(text: str, source: str, line: int | None) -> str:
    """`text`, if it can be stored: a lone surrogate (escaped in JSON or YAML) cannot be encoded."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TrainingDataError(
            f"invalid character {text[exc.start]!r} at position {exc.start} (a lone surrogate)",
            source=source,
            line=line,
        ) from None
    return text


def _mapping(node: yaml.Node, source: str, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise TrainingDataError(f"{what} must be a mapping", source=source, line=_line(node))
    return list(node.value)


def _scalar(node: yaml.Node, source: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise TrainingDataError(f"{what} must be a plain value", source=source, line=_line(node))
    return str(node.value)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


# -------------------------------------------------------------------------------------------- JSONL


def load_jsonl(path: str | Path) -> TrainingData:
    """Read one example per line: `{"text", "intent", "entities": [{"start", "end", "entity", "value"}]}`."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8-sig") as fh:  # a byte-order mark, as some editors write, is not data
            return parse_jsonl(fh, source=str(p))
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"cannot read file: {exc}", source=str(p)) from None


def parse_jsonl(lines: Iterable[str], *, source: str = "<string>") -> TrainingData:
    data = TrainingData()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, line=number
            ) from None
        example, synonyms = _jsonl_example(obj, source, number)
        data.examples.append(example)
        data.synonyms.update(synonyms)
    return data


def _jsonl_example(obj: Any, source: str, line: int) -> tuple[Example, dict[str, str]]:
    if not isinstance(obj, Mapping):
        raise TrainingDataError("each line must be a JSON object", source=source, line=line)
    text, intent = obj.get("text"), obj.get("intent")
    if not isinstance(text, str) or not text.strip():
        raise TrainingDataError("`text` must be a non-empty string", source=source, line=line)
    if not isinstance(intent, str) or not intent.strip():
        raise TrainingDataError("`intent` must be a non-empty string", source=source, line=line)
    _unicode(text, source, line)  # json.loads lets "\ud800" through
    _unicode(intent, source, line)
    raw_entities = obj.get("entities", [])
    if raw_entities is None:
        raw_entities = []
    if not isinstance(raw_entities, list):
        raise TrainingDataError("`entities` must be a list", source=source, line=line)
    spans: list[EntitySpan] = []
    synonyms: dict[str, str] = {}
    for ent in raw_entities:
        if not isinstance(ent, Mapping):
            raise TrainingDataError("each entity must be an object", source=source, line=line)
        start, end, name = ent.get("start"), ent.get("end"), ent.get("entity")
        if (
            not isinstance(start, int)
            or not isinstance(end, int)
            or isinstance(start, bool)
            or isinstance(end, bool)
        ):
            raise TrainingDataError("entity `start`/`end` must be integers", source=source, line=line)
        if not 0 <= start < end <= len(text):
            raise TrainingDataError(
                f"entity offsets {start}..{end} outside the text (length {len(text)})",
                source=source,
                line=line,
            )
        if not isinstance(name, str) or not name:
            raise TrainingDataError("entity `entity` must be a non-empty string", source=source, line=line)
        _unicode(name, source, line)
        surface = text[start:end]
        value, role, group = (_entity_field(k, ent.get(k), source, line) for k in ("value", "role", "group"))
        value = surface if value is None else value
        spans.append(EntitySpan(start, end, name, value, role, group))
        if value != surface:
            synonyms[surface.lower()] = value
    return Example(text, intent, tuple(sorted(spans, key=lambda s: (s.start, s.end)))), synonyms


def is_yaml(path: str | Path) -> bool:
    """Whether `path` names Rasa YAML (`.yml`/`.yaml`), by its suffix."""
    return Path(path).suffix.lower() in (".yml", ".yaml")


def load_training_data(*paths: str | Path) -> TrainingData:
    """Read and merge files, choosing the reader by suffix (`.yml`/`.yaml` or `.jsonl`)."""
    data = TrainingData()
    for path in paths:
        if is_yaml(path):
            data = data.merge(load_yaml(path))
        elif Path(path).suffix.lower() == ".jsonl":
            data = data.merge(load_jsonl(path))
        else:
            raise TrainingDataError(
                "unknown training data format (expected .yml, .yaml or .jsonl)", source=str(path)
            )
    return data
