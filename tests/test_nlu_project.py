"""Many bots side by side: each bot's model is cached by fingerprint; changing one bot retrains
only that bot and the router (its shard, past the shard limit), and the router sends each
message to the right bot."""

from __future__ import annotations

from pathlib import Path

import pytest

from plaza.domain import load_bot_domain
from plaza.nlu import router_shards
from plaza.nlu.model import PipelineConfig, fingerprint
from plaza.nlu.project import load_nlu, own_data, plan, prune, train_job
from plaza.nlu.types import Example, TrainingData

CONFIG = PipelineConfig.from_dict({"calibration_folds": 0})

BOTS = {
    "florist": [
        "I want to order {x}",
        "send {x} to my mum",
        "a bouquet of {x}",
        "do you deliver {x}",
        "{x} for a birthday",
    ],
    "cinema": [
        "two tickets for {x}",
        "when is {x} showing",
        "book seats for {x}",
        "is {x} on tonight",
        "the next {x} screening",
    ],
}
THINGS = {
    "florist": ["roses", "tulips", "lilies", "peonies", "sunflowers", "orchids"],
    "cinema": ["Dune", "the new Bond film", "Amelie", "Inception", "the matinee", "Barbie"],
    "bakery": ["croissants", "a baguette", "sourdough", "eclairs", "a birthday cake", "brioche"],
}
WITH_BAKERY = {
    **BOTS,
    "bakery": ["can I pre-order {x}", "do you still have {x}", "{x} for tomorrow morning", "how much is {x}"],
}
"""Three bots: past a limit of one bot per shard, the bakery has a router shard of its own."""


COMMON = ["hello", "hi there", "good morning", "hey", "hello again", "hi", "good evening", "hey you"]


def make_app(root: Path, bots: dict[str, list[str]] = BOTS) -> None:
    (root / "intents").mkdir(parents=True)
    for bot, templates in bots.items():
        (root / "bots" / bot).mkdir(parents=True)
        (root / "bots" / bot / "bot.yml").write_text(
            f"name: {bot}\ntitle: {{en: {bot}}}\nintents:\n  order: {{en: Order}}\n", encoding="utf-8"
        )
        lines = [f"    - {t.format(x=x)}" for t in templates for x in THINGS[bot]]
        (root / "intents" / f"{bot}.en.yml").write_text(
            'version: "3.1"\nnlu:\n- intent: order\n  examples: |\n' + "\n".join(lines) + "\n",
            encoding="utf-8",
        )
    (root / "intents" / "common.en.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n'
        + "\n".join(f"    - {c}" for c in COMMON)
        + "\n",
        encoding="utf-8",
    )


def domains(root: Path, bots: dict[str, list[str]] = BOTS) -> dict:
    return {bot: load_bot_domain(root / "bots" / bot / "bot.yml") for bot in bots}


def test_changing_one_bot_retrains_only_that_bot_and_the_router(tmp_path: Path) -> None:
    make_app(tmp_path)
    models = tmp_path / ".plaza" / "models"
    first = plan(tmp_path, domains(tmp_path), ["en"], CONFIG, models)
    assert {(j.name, j.cached) for j in first} == {
        ("florist", False),
        ("cinema", False),
        ("concierge", False),
        ("_router", False),
    }
    for job in first:
        train_job(job, CONFIG)
    assert all(j.cached for j in plan(tmp_path, domains(tmp_path), ["en"], CONFIG, models))

    florist = tmp_path / "intents" / "florist.en.yml"
    florist.write_text(
        florist.read_text(encoding="utf-8") + "    - a dozen red roses please\n", encoding="utf-8"
    )
    stale = {j.name for j in plan(tmp_path, domains(tmp_path), ["en"], CONFIG, models) if not j.cached}
    assert stale == {"florist", "_router"}


def test_the_router_sends_each_message_to_its_bot(tmp_path: Path) -> None:
    make_app(tmp_path)
    nlu, _jobs = load_nlu(tmp_path, domains(tmp_path), ["en"], "en", CONFIG, tmp_path / ".plaza" / "models")
    assert nlu.route("could you send some tulips to my mum", "en")[0][0] == "florist"
    assert nlu.route("are there two tickets left for Dune", "en")[0][0] == "cinema"
    assert nlu.route("hello there", "en")[0][0] == "concierge"


def test_an_english_sentence_encoder_is_left_out_of_other_languages_models(tmp_path: Path) -> None:
    make_app(tmp_path)
    for path in (tmp_path / "intents").glob("*.en.yml"):  # the same data, declared French too
        (tmp_path / "intents" / path.name.replace(".en.", ".fr.")).write_text(path.read_text())
    with_encoder = PipelineConfig.from_dict({"calibration_folds": 0, "sentence_encoder": "minilm"})
    plain = {
        (j.name, j.language): j.directory
        for j in plan(tmp_path, domains(tmp_path), ["en", "fr"], CONFIG, tmp_path)
    }
    jobs = plan(tmp_path, domains(tmp_path), ["en", "fr"], with_encoder, tmp_path)
    assert {j.directory == plain[j.name, j.language] for j in jobs if j.language == "fr"} == {True}
    assert {j.directory == plain[j.name, j.language] for j in jobs if j.language == "en"} == {False}
    assert with_encoder.for_language("fr").sentence_encoder is None
    assert with_encoder.for_language("en") is with_encoder


def test_past_the_shard_limit_changing_one_bot_retrains_only_its_router_shard(tmp_path: Path) -> None:
    make_app(tmp_path, WITH_BAKERY)
    models = tmp_path / ".plaza" / "models"
    first = plan(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], CONFIG, models, shard_bots=1)
    shards = sorted(j.name for j in first if j.name.startswith("_router"))
    assert shards == ["_router-1-of-4", "_router-2-of-4"]  # by the names' hashes
    for job in first:
        train_job(job, CONFIG)

    florist = tmp_path / "intents" / "florist.en.yml"
    florist.write_text(
        florist.read_text(encoding="utf-8") + "    - a dozen red roses please\n", encoding="utf-8"
    )
    stale = [
        j
        for j in plan(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], CONFIG, models, shard_bots=1)
        if not j.cached
    ]
    assert len(stale) == 2
    assert stale[0].name == "florist"
    assert stale[1].name == "_router-1-of-4"  # the florist's shard; the bakery's is up to date


def test_a_start_builds_the_elsewhere_sample_only_for_the_shards_it_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every start plans every shard; the samples (2.3 s at 4,004 bots) wait until one must train."""
    make_app(tmp_path, WITH_BAKERY)
    models = tmp_path / ".plaza" / "models"
    load_nlu(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", CONFIG, models, shard_bots=1)
    built: list[int] = []
    real = router_shards.elsewhere_sample

    def counted(others: dict[str, list[str]], own_texts: set[str], size: int) -> list[Example]:
        built.append(size)
        return real(others, own_texts, size)

    monkeypatch.setattr(router_shards, "elsewhere_sample", counted)
    _, jobs = load_nlu(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", CONFIG, models, shard_bots=1)
    assert all(j.cached for j in jobs)
    assert built == []

    florist = tmp_path / "intents" / "florist.en.yml"
    florist.write_text(
        florist.read_text(encoding="utf-8") + "    - a dozen red roses please\n", encoding="utf-8"
    )
    nlu, _ = load_nlu(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", CONFIG, models, shard_bots=1)
    assert len(built) == 1  # the florist's shard, retrained; the bakery's was loaded
    assert nlu.route("a dozen red roses please", "en")[0][0] == "florist"


def test_a_sharded_router_sends_each_message_to_its_bot(tmp_path: Path) -> None:
    make_app(tmp_path, WITH_BAKERY)
    models = tmp_path / ".plaza" / "models"
    nlu, jobs = load_nlu(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", CONFIG, models, shard_bots=1)
    assert sum(j.name.startswith("_router-") for j in jobs) == 2
    assert nlu.route("can I pre-order sourdough", "en")[0][0] == "bakery"
    assert nlu.route("could you send some tulips to my mum", "en")[0][0] == "florist"
    assert nlu.route("are there two tickets left for Dune", "en")[0][0] == "cinema"
    assert nlu.route("hello there", "en")[0][0] == "concierge"
    # loaded again from the cache, it answers the same
    again, jobs = load_nlu(
        tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", CONFIG, models, shard_bots=1, train=False
    )
    assert all(j.cached for j in jobs)
    assert again.route("book seats for Inception", "en")[0][0] == "cinema"


def test_up_to_the_shard_limit_the_router_keeps_its_name_and_cache_key(tmp_path: Path) -> None:
    """The router's data as it was before shards existed: each bot's messages, then the common ones."""
    make_app(tmp_path)
    examples = [Example(e.text, bot) for bot in BOTS for e in own_data(tmp_path, bot, "en").examples]
    examples += [Example(g, "concierge") for g in COMMON]
    (router,) = [
        j for j in plan(tmp_path, domains(tmp_path), ["en"], CONFIG, tmp_path) if j.name == "_router"
    ]
    assert router.directory.name == fingerprint(TrainingData(examples=examples), CONFIG)


def test_an_unsure_message_goes_to_the_best_bot_with_or_without_shards(tmp_path: Path) -> None:
    """Unsure is not "no bot": the engaged bot or the best one answers, with its own fallback."""
    make_app(tmp_path, WITH_BAKERY)
    strict = PipelineConfig.from_dict({"calibration_folds": 0, "oos_threshold": 0.95})
    models = tmp_path / ".plaza" / "models"
    for shard_bots in (32, 1):
        nlu, _ = load_nlu(
            tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", strict, models, shard_bots=shard_bots
        )
        ranking = nlu.route("what is the weather on mars", "en")
        assert ranking[0][0] != "concierge", shard_bots
        assert ranking[0][1] < 0.95


def test_prune_removes_the_shards_of_an_old_shard_count(tmp_path: Path) -> None:
    make_app(tmp_path, WITH_BAKERY)
    models = tmp_path / ".plaza" / "models"
    load_nlu(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], "en", CONFIG, models, shard_bots=1)
    assert (models / "_router-2-of-4").is_dir()
    jobs = plan(tmp_path, domains(tmp_path, WITH_BAKERY), ["en"], CONFIG, models)
    for job in jobs:
        if not job.cached:
            train_job(job, CONFIG)
    prune(models, jobs)
    assert sorted(p.name for p in models.iterdir()) == ["_router", "bakery", "cinema", "concierge", "florist"]
