from __future__ import annotations

import json
from pathlib import Path

import pytest

from plaza.nlu.training_data import (
    TrainingDataError,
    load_jsonl,
    load_training_data,
    load_yaml,
    parse_annotated,
    parse_jsonl,
    parse_yaml,
)
from plaza.nlu.types import EntitySpan, Example, LookupTable, RegexFeature

NLU_YML = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hey
    - hello there
- intent: book_table
  examples: |
    - a table for [four](party_size) at [8pm](time)
    - [veggie](cuisine:vegetarian) food please
    - [Bastille]{"entity":"location","role":"origin"} to [Opera]{"entity":"location","role":"to","group":1}
    - [Paris][{"entity": "city"}, {"entity": "location", "value": "paris-fr"}]
- intent: check_balance
  examples:
    - text: |
        how much is on my [savings](account) account
      metadata: {sentiment: neutral}
    - what's my balance
- synonym: vegetarian
  examples: |
    - veg
    - Veggie Food
- lookup: cities
  examples: |
    - Paris
    - Lyon
- regex: zipcode
  examples: |
    - \\b\\d{5}\\b
"""


def test_yaml_all_forms() -> None:
    data = parse_yaml(NLU_YML, source="nlu.yml")
    texts = [(e.text, e.intent) for e in data.examples]
    assert texts == [
        ("hey", "greet"),
        ("hello there", "greet"),
        ("a table for four at 8pm", "book_table"),
        ("veggie food please", "book_table"),
        ("Bastille to Opera", "book_table"),
        ("Paris", "book_table"),
        ("how much is on my savings account", "check_balance"),
        ("what's my balance", "check_balance"),
    ]
    ex = data.examples
    assert ex[2].entities == (EntitySpan(12, 16, "party_size", "four"), EntitySpan(20, 23, "time", "8pm"))
    assert ex[3].entities == (EntitySpan(0, 6, "cuisine", "vegetarian"),)
    assert ex[4].entities == (
        EntitySpan(0, 8, "location", "Bastille", "origin"),
        EntitySpan(12, 17, "location", "Opera", "to", "1"),
    )
    assert ex[5].entities == (EntitySpan(0, 5, "city", "Paris"), EntitySpan(0, 5, "location", "paris-fr"))
    assert ex[6].entities == (EntitySpan(18, 25, "account", "savings"),)
    assert data.synonyms == {
        "veggie": "vegetarian",
        "paris": "paris-fr",
        "veg": "vegetarian",
        "veggie food": "vegetarian",
    }
    assert data.lookups == [LookupTable("cities", ("Paris", "Lyon"))]
    assert data.regexes == [RegexFeature("zipcode", (r"\b\d{5}\b",))]
    for e in ex:
        for s in e.entities:
            assert e.text[s.start : s.end] in (
                "four",
                "8pm",
                "veggie",
                "Bastille",
                "Opera",
                "Paris",
                "savings",
            )


def test_parse_annotated_offsets_after_several_annotations() -> None:
    text, spans, synonyms = parse_annotated("[a](x) b [cc](y:z) d")
    assert text == "a b cc d"
    assert spans == (EntitySpan(0, 1, "x", "a"), EntitySpan(4, 6, "y", "z"))
    assert synonyms == {"cc": "z"}


def test_brackets_without_annotation_are_text() -> None:
    text, spans, _ = parse_annotated("press [enter] to continue")
    assert text == "press [enter] to continue"
    assert spans == ()


def test_empty_and_other_rasa_keys(tmp_path: Path) -> None:
    assert parse_yaml("").examples == []
    data = parse_yaml("version: '3.1'\nnlu:\nresponses:\n  utter_hi:\n  - text: hi\n")
    assert data.examples == []
    path = tmp_path / "a.yml"
    path.write_text(NLU_YML, encoding="utf-8")
    assert len(load_yaml(path).examples) == 8


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('nlu:\n- intent: greet\n  examples: |\n    - hi\n    - [x]{"entity": }\n', 5, "invalid JSON"),
        ('nlu:\n- intent: greet\n  examples: |\n    - [x]{"role": "r"}\n', 4, 'needs an "entity"'),
        ("nlu:\n- intent: greet\n", 2, "has no `examples`"),
        ("nlu:\n- intent: greet\n  synonym: x\n  examples: |\n    - a\n", 2, "exactly one of"),
        ("nlu:\n  intent: greet\n", 2, "`nlu` must be a list"),
        ("nlu:\n- intent: a\n  examples: |\n    - x\n  bad: [unclosed\n", None, "invalid YAML"),
        ('nlu:\n- intent: greet\n  examples:\n    - hi\n    - "x \\ud800"\n', 5, "lone surrogate"),
        (
            'nlu:\n- intent: greet\n  examples: |\n    - [x]{"entity": "e", "value": "\\ud800"}\n',
            4,
            "lone surrogate",
        ),
        ('nlu:\n- intent: greet\n  examples: |\n    - [x]{"entity": "e", "value": true}\n', 4, "not true"),
        ("nlu:\n- regex: r\n  examples: |\n    - a(b\n", 4, "invalid regex"),
        ("nlu:\n- intent: greet\n  examples: |\n    - \n", 4, "empty example"),
        ("- a\n- b\n", 1, "must be a mapping"),
    ],
)
def test_yaml_errors_name_file_and_line(content: str, line: int | None, message: str) -> None:
    with pytest.raises(TrainingDataError, match=message) as info:
        parse_yaml(content, source="intents/x.yml")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.source == "intents/x.yml"
    if line is not None:
        assert err.line == line
        assert str(err).startswith(f"intents/x.yml:{line}: ")
    else:
        assert err.line is not None


def test_what_rasa_skips_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Rasa 3 skips a block line without '- ' (a comment, say) and accepts any top-level key."""
    content = (
        "version: '3.1'\n"
        "flows:\n  check_balance: {}\n"
        "nlu:\n- intent: greet\n  examples: |\n    # English\n    - hi\n    hello\n    - hey\n"
    )
    with caplog.at_level("WARNING", logger="plaza.nlu.training_data"):
        data = parse_yaml(content, source="intents/x.yml")
    assert [e.text for e in data.examples] == ["hi", "hey"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3
    assert warnings[0].startswith("intents/x.yml:2: top-level key 'flows' skipped")
    assert warnings[1].startswith("intents/x.yml:7: line skipped")
    assert warnings[1].endswith("'# English'")
    assert warnings[2].startswith("intents/x.yml:9: line skipped")
    assert warnings[2].endswith("'hello'")


def test_jsonl_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_text('{"text": "hi", "intent": "greet"}\n', encoding="utf-8-sig")
    assert load_jsonl(path).examples == [Example("hi", "greet")]


def test_missing_file() -> None:
    with pytest.raises(TrainingDataError, match="cannot read"):
        load_yaml("/nonexistent/nlu.yml")
    with pytest.raises(TrainingDataError, match="cannot read"):
        load_jsonl("/nonexistent/train.jsonl")


def test_jsonl(tmp_path: Path) -> None:
    rows = [
        {
            "text": "book a thai table",
            "intent": "book",
            "entities": [{"start": 7, "end": 11, "entity": "cuisine", "value": "thai"}],
        },
        {
            "text": "veggie please",
            "intent": "book",
            "entities": [{"start": 0, "end": 6, "entity": "cuisine", "value": "vegetarian"}],
        },
        {"text": "hi", "intent": "greet"},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    data = load_jsonl(path)
    assert data.examples == [
        Example("book a thai table", "book", (EntitySpan(7, 11, "cuisine", "thai"),)),
        Example("veggie please", "book", (EntitySpan(0, 6, "cuisine", "vegetarian"),)),
        Example("hi", "greet"),
    ]
    assert data.synonyms == {"veggie": "vegetarian"}
    assert load_training_data(path).examples == data.examples


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"text": "", "intent": "a"}', "`text`"),
        ('{"text": "hi"}', "`intent`"),
        ('{"text": "hi", "intent": "a", "entities": {}}', "must be a list"),
        (
            '{"text": "hi", "intent": "a", "entities": [{"start": 0, "end": 9, "entity": "x"}]}',
            "outside the text",
        ),
        ('{"text": "hi", "intent": "a", "entities": [{"start": "0", "end": 1, "entity": "x"}]}', "integers"),
        ('{"text": "hi", "intent": "a", "entities": [{"start": 0, "end": 1}]}', "`entity`"),
        ('{"text": "\\ud800 x", "intent": "a"}', "lone surrogate"),
        ('{"text": "hi", "intent": "a\\udfff"}', "lone surrogate"),
        (
            '{"text": "hi", "intent": "a", "entities": [{"start": 0, "end": 1, "entity": "x", '
            '"value": {"a": 1}}]}',
            'entity `value` must be a string or a number, not {"a": 1}',
        ),
        (
            '{"text": "hi", "intent": "a", "entities": [{"start": 0, "end": 1, "entity": "x", '
            '"role": ["r"]}]}',
            "entity `role` must be",
        ),
    ],
)
def test_jsonl_errors(line: str, message: str) -> None:
    good = '{"text": "hello", "intent": "greet"}'
    with pytest.raises(TrainingDataError, match=message) as info:
        parse_jsonl([good, line], source="t.jsonl")
    assert info.value.line == 2
    assert str(info.value).startswith("t.jsonl:2: ")


def test_unknown_suffix() -> None:
    with pytest.raises(TrainingDataError, match="unknown training data format"):
        load_training_data("data.csv")
