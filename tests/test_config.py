"""`config.yml` checks: the NLU's own labels, the router's sharding, the NLU settings' ranges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plaza.config import load_config
from plaza.errors import ConfigError


def write(root: Path, text: str) -> Path:
    (root / "config.yml").write_text(text, encoding="utf-8")
    return root


def test_bot_names_and_the_shard_size_are_read(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "bots: [taxi, fleur-bleue, shop_2]\nnlu: {router_shard_bots: 8}\n"), {}
    )
    assert config.bots == ["taxi", "fleur-bleue", "shop_2"]
    assert config.nlu.router_shard_bots == 8
    assert load_config(write(tmp_path, "bots: [taxi]\n"), {}).nlu.router_shard_bots == 32


@pytest.mark.parametrize(
    ("bots", "message"),
    [
        ("[_elsewhere]", "bot name '_elsewhere'"),
        ("[_router]", "bot name '_router'"),
        ("[concierge]", "bot name 'concierge'"),
        ("[out_of_scope]", "bot name 'out_of_scope'"),
        ("[common]", "bot name 'common'"),
        ("[Concierge]", "bot name 'Concierge'"),
        ("['../etc']", "bot name '../etc'"),
        ("[taxi, taxi]", "a bot is listed twice"),
        ("[taxi, Taxi]", "a bot is listed twice"),
    ],
)
def test_a_bot_cannot_take_a_reserved_or_unsafe_name(tmp_path: Path, bots: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(write(tmp_path, f"bots: {bots}\n"), {})


def test_a_shard_needs_at_least_one_bot(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="router_shard_bots"):
        load_config(write(tmp_path, "bots: [taxi]\nnlu: {router_shard_bots: 0}\n"), {})


@pytest.mark.parametrize(
    ("nlu", "message"),
    [
        (
            "{fallback_threshold: 1.5}",
            "nlu.fallback_threshold: Input should be less than or equal to 1, got 1.5",
        ),
        ("{fallback_threshold: -0.1}", "nlu.fallback_threshold: Input should be greater than or equal to 0"),
        ("{fallback_threshold: .nan}", "nlu.fallback_threshold: Input should be a finite number, got nan"),
        (
            "{language_confidence: 2}",
            "nlu.language_confidence: Input should be less than or equal to 1, got 2",
        ),
        ("{language_confidence: .inf}", "nlu.language_confidence: Input should be a finite number, got inf"),
    ],
)
def test_confidences_are_probabilities(tmp_path: Path, nlu: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        load_config(write(tmp_path, f"bots: [taxi]\nnlu: {nlu}\n"), {})
    assert "\n" not in str(raised.value)  # one line, not pydantic's four-line report


@pytest.mark.parametrize("value", ["0", "1", "0.45"])
def test_confidence_boundaries_stay_valid(tmp_path: Path, value: str) -> None:
    nlu = load_config(write(tmp_path, f"bots: [taxi]\nnlu: {{fallback_threshold: {value}}}\n"), {}).nlu
    assert nlu.fallback_threshold == float(value)


def test_an_empty_pipeline_means_no_overrides(tmp_path: Path) -> None:
    """`pipeline:` with every option under it commented out is YAML's null."""
    text = "bots: [taxi]\nnlu:\n  pipeline:\n    # intent_c: 0.5\n  fallback_threshold: 0.5\n"
    assert load_config(write(tmp_path, text), {}).nlu.pipeline == {}


def test_a_rasa_style_pipeline_list_is_explained(tmp_path: Path) -> None:
    text = "bots: [taxi]\nnlu:\n  pipeline:\n    - name: WhitespaceTokenizer\n    - name: DIETClassifier\n"
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), {})
    message = str(raised.value)
    assert message.endswith(
        "is invalid: nlu.pipeline: Plaza's pipeline is a mapping of options"
        " (e.g. `pipeline: {intent_c: 0.5}`, docs/nlu.md), not Rasa's list of components"
    )
    assert "\n" not in message
