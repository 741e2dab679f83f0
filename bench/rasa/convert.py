"""Convert Plaza's benchmark JSON-lines files to Rasa 3 NLU training data (nlu.yml).

Input: one JSON object per line, ``{"text", "intent", "entities": [{"start", "end", "entity",
"value"}]}`` (the format of /work/shared/data/nlu/*/*.jsonl).  Output: Rasa's YAML format, one
``- intent:`` block per intent (in order of first appearance), entities annotated inline as
``[surface text](entity)`` or, when the value differs from the surface text,
``[surface text]{"entity": "...", "value": "..."}``.

    python bench/rasa/convert.py IN.jsonl OUT.yml

Only the standard library: runs under Plaza's Python 3.11 and under Rasa's Python 3.10.
Exits with status 2 and ``file:line: reason`` on a malformed line, a span outside its text,
overlapping spans, or text that Rasa's inline annotation would misread (a ``](``, ``]{`` or
``][`` sequence, a bracket inside an entity, or a line break).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class ConversionError(ValueError):
    pass


def annotate(text: str, entities: list[dict[str, Any]]) -> str:
    """Return ``text`` with Rasa inline entity annotations."""
    if "\n" in text or "\r" in text:
        raise ConversionError("line break in text")
    if "](" in text or "]{" in text or "][" in text:
        raise ConversionError("text contains a sequence Rasa reads as an annotation")
    out: list[str] = []
    cursor = 0
    for ent in sorted(entities, key=lambda e: (int(e["start"]), int(e["end"]))):
        start, end = int(ent["start"]), int(ent["end"])
        if start < cursor:
            raise ConversionError(f"overlapping entity at {start}")
        if not 0 <= start < end <= len(text):
            raise ConversionError(f"entity span {start}:{end} outside the text")
        surface = text[start:end]
        if "[" in surface or "]" in surface:
            raise ConversionError(f"bracket inside entity {surface!r}")
        out.append(text[cursor:start])
        value = ent.get("value", surface)
        if value == surface:
            out.append(f"[{surface}]({ent['entity']})")
        else:
            spec = json.dumps({"entity": ent["entity"], "value": value}, ensure_ascii=False)
            out.append(f"[{surface}]{spec}")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def convert(rows: list[dict[str, Any]]) -> str:
    by_intent: dict[str, list[str]] = {}
    for row in rows:
        by_intent.setdefault(str(row["intent"]), []).append(annotate(row["text"], row.get("entities") or []))
    lines = ['version: "3.1"', "", "nlu:"]
    for intent, examples in by_intent.items():
        lines.append(f"- intent: {json.dumps(intent)}")
        lines.append("  examples: |")
        lines.extend(f"    - {example}" for example in examples)
    return "\n".join(lines) + "\n"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "intent" not in row:
                    raise ConversionError("expected an object with 'text' and 'intent'")
                annotate(row["text"], row.get("entities") or [])
            except (json.JSONDecodeError, ConversionError, KeyError, TypeError) as exc:
                raise ConversionError(f"{path}:{number}: {exc}") from exc
            rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: convert.py IN.jsonl OUT.yml", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    try:
        rows = read_jsonl(source)
    except (OSError, ConversionError) as exc:
        print(exc, file=sys.stderr)
        return 2
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(convert(rows), encoding="utf-8")
    intents = len({row["intent"] for row in rows})
    entities = sum(len(row.get("entities") or []) for row in rows)
    print(f"{source} -> {target}: {len(rows)} examples, {intents} intents, {entities} entities")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
