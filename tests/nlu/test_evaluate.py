from __future__ import annotations

import json
from pathlib import Path

import pytest

from plaza.cli import main
from plaza.nlu.types import Example
from tests.nlu.model_data import restaurant_taxi_data

KEYS = {
    "intent_accuracy",
    "intent_macro_f1",
    "entity_f1",
    "in_scope_accuracy",
    "oos_recall",
    "train_seconds",
    "parse_ms_p50",
    "parse_ms_p99",
    "peak_rss_mb",
}


def _write(path: Path, examples: list[Example]) -> Path:
    rows = [
        {
            "text": e.text,
            "intent": e.intent,
            "entities": [
                {"start": s.start, "end": s.end, "entity": s.entity, "value": s.value} for s in e.entities
            ],
        }
        for e in examples
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    examples = restaurant_taxi_data().examples
    test = examples[::4]
    train = [e for i, e in enumerate(examples) if i % 4]
    return _write(tmp_path / "train.jsonl", train), _write(tmp_path / "test.jsonl", test)


def _last_json(out: str) -> dict[str, object]:
    return json.loads(out.strip().splitlines()[-1])


def test_eval_prints_json_last(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train, test = files
    assert main(["nlu", "eval", "--train", str(train), "--test", str(test)]) == 0
    result = _last_json(capsys.readouterr().out)
    assert set(result) >= KEYS
    assert 0.5 <= result["intent_accuracy"] <= 1.0  # type: ignore[operator]
    assert isinstance(result["entity_f1"], float)
    assert isinstance(result["oos_recall"], float)  # the test split holds out-of-scope examples
    assert isinstance(result["in_scope_accuracy"], float)
    assert result["oos_recall_weight"] == 0.3  # the training split's few OOS examples
    assert result["parse_ms_p50"] <= result["parse_ms_p99"]  # type: ignore[operator]


def test_eval_reports_a_set_oos_recall_weight(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = files
    args = ["nlu", "eval", "--train", str(train), "--test", str(test), "--set", "oos_recall_weight=0.5"]
    assert main(args) == 0
    assert _last_json(capsys.readouterr().out)["oos_recall_weight"] == 0.5


def test_eval_without_entities_or_oos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples = [Example(e.text, e.intent) for e in restaurant_taxi_data(with_oos=False).examples]
    train = _write(tmp_path / "train.jsonl", examples)
    test = _write(tmp_path / "test.jsonl", examples[::3])
    assert main(["nlu", "eval", "--train", str(train), "--test", str(test)]) == 0
    result = _last_json(capsys.readouterr().out)
    assert result["entity_f1"] is None
    assert result["oos_recall"] is None
    assert result["in_scope_accuracy"] is None
    assert result["oos_recall_weight"] is None  # no OOS examples: the quantile threshold
    assert result["n_intents"] == 5


def test_eval_report(files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, test = files
    report = tmp_path / "report"
    assert main(["nlu", "eval", "--train", str(train), "--test", str(test), "--report", str(report)]) == 0
    capsys.readouterr()
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "| book_table |" in md
    assert "## Entities" in md
    from PIL import Image

    with Image.open(report / "confusion.png") as img:
        assert img.size[0] > 200
        assert img.size[1] > 200
    for line in (report / "errors.jsonl").read_text(encoding="utf-8").splitlines():
        assert {"text", "gold_intent", "intent"} <= set(json.loads(line))


def test_bad_path_exits_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, _ = files
    assert main(["nlu", "eval", "--train", str(train), "--test", str(tmp_path / "nope.jsonl")]) == 2
    captured = capsys.readouterr()
    assert "nope.jsonl" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_malformed_line_exits_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, test = files
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "intent": "greet"}\n{"text": "oops"\n', encoding="utf-8")
    assert main(["nlu", "eval", "--train", str(bad), "--test", str(test)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err
    assert "Traceback" not in err


def test_rasa_yaml_files_are_evaluated_as_they_are(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, _ = files
    test = tmp_path / "nlu.yml"
    test.write_text(
        "version: '3.1'\nnlu:\n- intent: order_taxi\n  examples: |\n"
        "    - i need a cab from [opera](location) to [bastille](location)\n"
        "- intent: greet\n  examples: |\n    - hello\n",
        encoding="utf-8",
    )
    assert main(["nlu", "eval", "--train", str(train), "--test", str(test)]) == 0
    result = _last_json(capsys.readouterr().out)
    assert result["n_test"] == 2
    assert isinstance(result["entity_f1"], float)


def test_unknown_language_exits_2(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train, test = files
    with pytest.raises(SystemExit) as exit_info:
        main(["nlu", "eval", "--train", str(train), "--test", str(test), "--lang", "klingon"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'klingon'" in capsys.readouterr().err


def test_empty_file_exits_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, _ = files
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert main(["nlu", "eval", "--train", str(train), "--test", str(empty)]) == 2
    assert "no examples" in capsys.readouterr().err


def test_confusion_png_with_77_classes_stays_legible(tmp_path: Path) -> None:
    from PIL import Image

    from plaza.nlu.evaluate import EvalResult, Prediction
    from plaza.nlu.report import draw_confusion

    labels = [f"intent_number_{i:02d}_with_a_long_name" for i in range(77)]
    preds = [
        Prediction(
            f"text {i}",
            labels[i % 77],
            labels[(i * 7) % 77] if i % 5 == 0 else labels[i % 77],
            0.9,
            labels[i % 77],
            frozenset(),
            frozenset(),
            0.1,
        )
        for i in range(400)
    ]
    result = EvalResult({}, preds, [], {}, labels)
    draw_confusion(result, tmp_path / "c.png")
    with Image.open(tmp_path / "c.png") as img:
        width, height = img.size
    assert width >= 77 * 14  # at least 14 px per cell
    assert height >= 77 * 14


def test_eval_takes_pipeline_options(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = files
    config = tmp_path / "config.yml"
    config.write_text("nlu:\n  pipeline:\n    intent_c: 0.5\n    pair_window: 0\n", encoding="utf-8")
    argv = [
        "nlu",
        "eval",
        "--train",
        str(train),
        "--test",
        str(test),
        "--config",
        str(config),
        "--set",
        "intent_c=2",
    ]
    assert main(argv) == 0
    result = _last_json(capsys.readouterr().out)
    assert result["pipeline"] == {"intent_c": 2.0, "pair_window": 0}  # --set wins over the file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "intent_c"], "expected KEY=VALUE"),
        (["--set", "no_such_option=1"], "unknown NLU pipeline option(s): no_such_option"),
        (["--set", "intent_c=lots"], "'intent_c' must be float"),
        (["--set", "sentence_encoder=bert"], "unknown sentence_encoder 'bert'"),
        (["--config", "/nonexistent/config.yml"], "--config /nonexistent/config.yml"),
        # out of range: these ended in a scikit-learn, crfsuite or numpy traceback
        (["--set", "intent_c=0"], "'intent_c' must be a finite number above 0, got 0.0"),
        (["--set", "intent_c=.nan"], "'intent_c' must be a finite number above 0, got nan"),
        (["--set", "intent_loss=hinge"], "'intent_loss' must be 'svm' or 'logreg', got 'hinge'"),
        (["--set", "oos_false_rejection=1.5"], "'oos_false_rejection' must be a number from 0 to 1, got 1.5"),
        (["--set", "crf_algorithm=bogus"], "'crf_algorithm' must be 'lbfgs', 'l2sgd', 'ap', 'pa' or 'arow'"),
        (["--set", "seed=-1"], "'seed' must be an integer from 0 to 4294967295, got -1"),
        # ... or were silently meaningless
        (["--set", "oos_threshold=2.0"], "'oos_threshold' must be null (calibrated) or a number from 0 to 1"),
        (
            ["--set", "calibration_folds=100"],
            "'calibration_folds' must be 0 (no calibration) or from 2 to 10",
        ),
        (
            ["--set", "char_ngram_min=6", "--set", "char_ngram_max=3"],
            "'char_ngram_min' (6) must not exceed 'char_ngram_max' (3)",
        ),
    ],
)
def test_bad_pipeline_options_exit_2(
    files: tuple[Path, Path], args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = files
    assert main(["nlu", "eval", "--train", str(train), "--test", str(test), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("plaza nlu eval: error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1  # one line: no traceback
    assert captured.out == ""


def test_a_config_file_is_range_checked(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = files
    config = tmp_path / "config.yml"
    config.write_text("nlu:\n  pipeline:\n    intent_tol: 0\n", encoding="utf-8")
    assert main(["nlu", "eval", "--train", str(train), "--test", str(test), "--config", str(config)]) == 2
    message = "NLU pipeline option 'intent_tol' must be a finite number above 0, got 0.0"
    assert capsys.readouterr().err == f"plaza nlu eval: error: {message}\n"


def test_eval_detects_the_data_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        Example("je voudrais réserver une table pour ce soir", "book"),
        Example("une table pour quatre personnes demain à midi", "book"),
        Example("réserve-nous une table vendredi soir", "book"),
        Example("quel temps fait-il à Paris aujourd'hui", "weather"),
        Example("est-ce qu'il va pleuvoir demain", "weather"),
        Example("la météo de ce week-end s'il te plaît", "weather"),
    ]
    train = _write(tmp_path / "train.jsonl", rows)
    test = _write(tmp_path / "test.jsonl", rows[:2])
    args = ["nlu", "eval", "--train", str(train), "--test", str(test), "--set", "sentence_encoder=minilm"]
    assert main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["language"] == "fr"
    # The English-only encoder is left out of a French model, as a French bot's would be (so this
    # runs without the [embeddings] extra), and the user is told.
    assert "sentence_encoder" not in summary["pipeline"]
    assert "not used for 'fr' data" in captured.err
    assert main([*args[:6], "--lang", "en"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["language"] == "en"


def test_auto_without_the_extra_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from plaza.nlu import evaluate as evaluate_module

    monkeypatch.setattr(evaluate_module, "encoder_installed", lambda: False)
    rows = [Example("book a table for two", "book"), Example("will it rain tomorrow", "weather")] * 3
    train = _write(tmp_path / "train.jsonl", rows)
    args = ["nlu", "eval", "--train", str(train), "--test", str(train), "--set", "sentence_encoder=auto"]
    assert main(args) == 0
    captured = capsys.readouterr()
    note = "sentence_encoder 'auto' has no encoder to consider: pip install 'plaza[embeddings]'"
    assert note in captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["sentence_encoder_used"] is None
    assert summary["encoder_check"] is None
