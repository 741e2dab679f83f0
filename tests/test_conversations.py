"""Every conversation test in tests/conversations/, through the whole engine (what `plaza test` runs)."""

from __future__ import annotations

import pytest

from plaza.testing.apps import TestApps
from plaza.testing.conversations import ConversationRunner, ConversationSpec, load_specs

from .conftest import APP_DIR

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
