"""`plaza nlu eval --train TRAIN.jsonl --test TEST.jsonl [--report DIR]`: train, parse, score.

The test messages are parsed one at a time, as the server does, so the latency percentiles
are per-message figures.  The last line of standard output is one JSON object (the keys are
listed in `EvalResult.summary`); progress goes to standard error.  Bad input exits with
status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plaza.nlu.calibration import recall_weight
from plaza.nlu.language import LanguageDetector
from plaza.nlu.metrics import ClassScore, EntityCounts, entity_counts, macro_f1, oos_figures, per_class_scores
from plaza.nlu.model import DEFAULT_CONFIG, IntentEntityModel
from plaza.nlu.pipeline_config import AUTO_ENCODER, ModelError, PipelineConfig
from plaza.nlu.sentence_encoder import INSTALL_HINT
from plaza.nlu.sentence_encoder import is_installed as encoder_installed
from plaza.nlu.training_data import TrainingDataError, is_yaml, load_jsonl, load_yaml
from plaza.nlu.types import OUT_OF_SCOPE, TrainingData

__all__ = ["EvalResult", "Prediction", "evaluate", "pipeline_from_args", "run_from_args"]

Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class Prediction:
    text: str
    gold_intent: str
    intent: str
    confidence: float
    best_in_scope: str
    """The top intent before the out-of-scope decision."""
    gold_entities: frozenset[Span]
    entities: frozenset[Span]
    parse_ms: float


@dataclass(slots=True)
class EvalResult:
    summary: dict[str, Any]
    predictions: list[Prediction]
    class_scores: list[ClassScore]
    entity_scores: dict[str, EntityCounts] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    """Confusion-matrix order: the trained intents, then gold-only labels, `out_of_scope` last."""


def evaluate(
    train: TrainingData,
    test: TrainingData,
    config: PipelineConfig | None = None,
    *,
    progress: Callable[[str, float], None] | None = None,
    language: str = "en",
) -> EvalResult:
    config = (config or PipelineConfig()).for_language(language)
    t0 = time.perf_counter()
    model = IntentEntityModel.train(train, config, progress=progress)
    train_seconds = time.perf_counter() - t0
    for e in train.examples[:20]:  # warm the per-word caches a little, as a running server would be
        model.parse(e.text)
    predictions: list[Prediction] = []
    for k, e in enumerate(test.examples):
        start = time.perf_counter()
        out = model.parse(e.text)
        ms = (time.perf_counter() - start) * 1000
        best = out.scores[0].name
        predictions.append(
            Prediction(
                e.text,
                e.intent,
                out.intent.name,
                out.intent.confidence,
                best,
                frozenset((s.start, s.end, s.entity) for s in e.entities),
                frozenset((x.start, x.end, x.entity) for x in out.entities),
                ms,
            )
        )
        if progress is not None and k % 200 == 0:
            progress("evaluate", k / max(1, len(test.examples)))
    gold = [p.gold_intent for p in predictions]
    pred = [p.intent for p in predictions]
    labels = list(model.intents) + sorted(set(gold) - set(model.intents))
    if OUT_OF_SCOPE in labels or OUT_OF_SCOPE in pred:
        labels = [lab for lab in labels if lab != OUT_OF_SCOPE] + [OUT_OF_SCOPE]
    class_scores = per_class_scores(gold, pred, labels)
    has_entities = any(e.entities for e in test.examples)
    total, by_type = entity_counts(
        [set(p.gold_entities) for p in predictions], [set(p.entities) for p in predictions]
    )
    in_acc, oos_rec = oos_figures(gold, pred)
    times = np.array([p.parse_ms for p in predictions]) if predictions else np.zeros(1)
    n = max(1, len(predictions))
    summary: dict[str, Any] = {
        "intent_accuracy": _r(sum(g == p for g, p in zip(gold, pred, strict=True)) / n),
        "intent_macro_f1": _r(macro_f1(class_scores, gold, model.intents)),
        "entity_f1": _r(total.f1) if has_entities else None,
        "entity_precision": _r(total.precision) if has_entities else None,
        "entity_recall": _r(total.recall) if has_entities else None,
        "in_scope_accuracy": None if in_acc is None else _r(in_acc),
        "oos_recall": None if oos_rec is None else _r(oos_rec),
        "intent_accuracy_without_oos_decision": _r(
            sum(g == p.best_in_scope for g, p in zip(gold, predictions, strict=True)) / n
        ),
        "oos_threshold": _r(model.threshold),
        "oos_recall_weight": _recall_weight(train, config),
        "train_seconds": round(train_seconds, 2),
        "parse_ms_p50": round(float(np.percentile(times, 50)), 4),
        "parse_ms_p99": round(float(np.percentile(times, 99)), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "n_train": len(train.examples),
        "n_test": len(test.examples),
        "n_intents": len(model.intents),
        "language": language,
        "pipeline": {k: v for k, v in config.to_dict().items() if v != getattr(DEFAULT_CONFIG, k)},
        "sentence_encoder_used": model.config.sentence_encoder,
        "encoder_check": None if model.encoder_check is None else model.encoder_check.to_dict(),
        "encoder_skip": _encoder_skip_figures(model, test),
    }
    return EvalResult(summary, predictions, class_scores, by_type, labels)


def _recall_weight(train: TrainingData, config: PipelineConfig) -> float | None:
    """The OOS recall's weight the threshold was chosen with.

    None when no weight applied: no `out_of_scope` training examples, or a fixed `oos_threshold`.
    """
    n_oos = sum(e.intent == OUT_OF_SCOPE for e in train.examples)
    if n_oos == 0 or config.oos_threshold is not None:
        return None
    return _r(recall_weight(config.oos_recall_weight, n_oos))


def _encoder_skip_figures(model: IntentEntityModel, test: TrainingData) -> dict[str, Any] | None:
    """The learned skip rule and the share of test messages parsed without the encoder."""
    skip = model.encoder_skip
    if skip is None:
        return None
    skipped = sum(model.skips_encoder(e.text) for e in test.examples)
    return {
        "confidence": _r(skip.confidence),
        "held_out_share": _r(skip.share),
        "test_share": _r(skipped / max(1, len(test.examples))),
    }


def data_language(data: TrainingData, sample: int = 500) -> str:
    """The language most of the data's messages are in, as the platform's detector reads them.

    A French data set evaluated without `--lang` should be trained as the platform trains a
    French bot (`PipelineConfig.for_language`), not as English.
    """
    detector = LanguageDetector.default()
    votes = Counter(detector.detect(e.text)[0] for e in data.examples[:sample])
    return votes.most_common(1)[0][0] if votes else "en"


def _r(x: float) -> float:
    return round(float(x), 6)


class _StderrProgress:
    """A one-line progress display on standard error (a plain line per stage when not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.stage = ""

    def __call__(self, stage: str, fraction: float) -> None:
        if self.tty:
            sys.stderr.write(f"\r{stage:<12} {fraction * 100:5.1f}%")
            sys.stderr.flush()
        elif stage != self.stage:
            sys.stderr.write(f"{stage}...\n")
        self.stage = stage

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def pipeline_from_args(config_file: str | None, settings: list[str]) -> PipelineConfig:
    """Pipeline options from `--config FILE`, then from each `--set KEY=VALUE`.

    The file is Plaza's config.yml (its `nlu.pipeline` is read) or a bare mapping of options; a
    `--set` value is read as YAML (`--set sentence_encoder=minilm`, `--set intent_c=0.5`).
    """
    import yaml  # noqa: PLC0415 - only this command reads YAML here

    options: dict[str, Any] = {}
    if config_file:
        try:
            raw = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ModelError(f"--config {config_file}: {exc}") from None
        if isinstance(raw, dict) and isinstance(raw.get("nlu"), dict):
            raw = raw["nlu"].get("pipeline") or {}
        if not isinstance(raw, dict):
            raise ModelError(f"--config {config_file}: expected a mapping of pipeline options")
        options.update(raw)
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            raise ModelError(f"--set {setting!r}: expected KEY=VALUE")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ModelError(f"--set {setting!r}: {exc}") from None
    return PipelineConfig.from_dict(options)


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def load_eval_data(path: str) -> TrainingData:
    """Rasa YAML for a `.yml`/`.yaml` file, JSONL for any other name (the evaluation format)."""
    return load_yaml(path) if is_yaml(path) else load_jsonl(path)


def run_from_args(args: argparse.Namespace) -> int:
    try:
        train = load_eval_data(args.train)
        test = load_eval_data(args.test)
    except TrainingDataError as exc:
        _err(f"plaza nlu eval: error: {exc}")
        return 2
    for name, data in (("--train", train), ("--test", test)):
        if not data.examples:
            _err(f"plaza nlu eval: error: {name} file has no examples")
            return 2
    try:
        config = pipeline_from_args(getattr(args, "config", None), getattr(args, "set", None) or [])
    except ModelError as exc:
        _err(f"plaza nlu eval: error: {exc}")
        return 2
    language = getattr(args, "lang", None) or data_language(train)
    if config.for_language(language) != config:
        encoder = config.sentence_encoder
        _err(f"plaza nlu eval: note: sentence_encoder {encoder!r} is not used for {language!r} data")
    elif config.sentence_encoder == AUTO_ENCODER and not encoder_installed():
        _err(f"plaza nlu eval: note: sentence_encoder 'auto' has no encoder to consider: {INSTALL_HINT}")
    bar = _StderrProgress()
    try:
        result = evaluate(train, test, config, progress=bar, language=language)
    except ModelError as exc:
        bar.close()
        _err(f"plaza nlu eval: error: {exc}")
        return 2
    bar.close()
    if args.report:
        from plaza.nlu.report import write_report  # noqa: PLC0415 - imports Pillow

        try:
            written = write_report(result, Path(args.report))
        except OSError as exc:
            _err(f"plaza nlu eval: error: cannot write the report: {exc}")
            return 2
        _err(f"report written to {written}")
    sys.stdout.write(json.dumps(result.summary, ensure_ascii=False) + "\n")
    return 0
