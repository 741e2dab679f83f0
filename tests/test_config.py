"""`config.yml` checks that protect the NLU's own labels and the router's sharding."""

from __future__ import annotations

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
