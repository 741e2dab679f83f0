"""`LookupExtractor`: catalog matching, accents/case/punctuation, articles, typos, scale."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from plaza.nlu.lookup import LookupExtractor, deletion_hashes, max_edits, osa_distance, query_hashes
from plaza.nlu.types import LookupTable

CATALOG = {
    "district": [
        ("Le Marais", ["Le Marais", "Marais"]),
        ("Saint-Germain-des-Prés", ["Saint-Germain", "Saint Germain des Prés"]),
        ("Bastille", []),
    ],
    "cuisine": [
        ("italian", ["italian", "italien", "italienne"]),
        ("japanese", ["japonais", "japanese"]),
    ],
    "restaurant": [
        ("L'Ambroisie", ["l'Ambroisie"]),
        ("Tables", []),
        ("Le Comptoir du Relais", ["Comptoir du Relais"]),
    ],
}


@pytest.fixture(scope="module")
def lookup() -> LookupExtractor:
    return LookupExtractor(CATALOG)


def found(lookup: LookupExtractor, text: str) -> list[tuple[str, str, str, int, float]]:
    return [(e.entity, e.value, e.text, e.start, e.confidence) for e in lookup.extract(text)]


@pytest.mark.parametrize(
    ("text", "entity", "value", "span"),
    [
        ("je voudrais une table au Marais", "district", "Le Marais", "Marais"),
        ("dans le marais", "district", "Le Marais", "le marais"),  # the article joins the span
        ("LE MARAIS", "district", "Le Marais", "LE MARAIS"),
        ("near Saint-Germain-des-Prés", "district", "Saint-Germain-des-Prés", "Saint-Germain-des-Prés"),
        ("saint germain des pres", "district", "Saint-Germain-des-Prés", "saint germain des pres"),
        ("à Saint-Germain", "district", "Saint-Germain-des-Prés", "Saint-Germain"),
        ("chez L’AMBROISIE ce soir", "restaurant", "L'Ambroisie", "L’AMBROISIE"),
        ("ambroisie", "restaurant", "L'Ambroisie", "ambroisie"),
        ("au comptoir du relais", "restaurant", "Le Comptoir du Relais", "comptoir du relais"),
        ("something japanese", "cuisine", "japanese", "japanese"),
        ("une cuisine italienne", "cuisine", "italian", "italienne"),
    ],
)
def test_exact_matches(lookup: LookupExtractor, text: str, entity: str, value: str, span: str) -> None:
    assert found(lookup, text) == [(entity, value, span, text.index(span), 1.0)]


def test_entity_fields(lookup: LookupExtractor) -> None:
    [entity] = lookup.extract("dans le marais")
    assert entity.extractor == "lookup"
    assert dict(entity.additional_info or {}) == {"surface": "Le Marais", "fuzzy": False, "edits": 0}
    assert lookup.entity_types == frozenset({"district", "cuisine", "restaurant"})


@pytest.mark.parametrize(
    ("text", "value", "span", "edits"),
    [
        ("something in the marias tonight", "Le Marais", "the marias", 1),  # transposition
        ("bastile", "Bastille", "bastile", 1),  # deletion
        ("une bonne italiene", "italian", "italiene", 1),
        ("saint germain des prés", "Saint-Germain-des-Prés", "saint germain des prés", 0),
        ("l'ambroisi", "L'Ambroisie", "l'ambroisi", 1),
        ("ambrosiie", "L'Ambroisie", "ambrosiie", 1),  # transposition
        ("embroizie", "L'Ambroisie", "embroizie", 2),  # 9+ letters: two edits
        ("bastilles", "Bastille", "bastilles", 1),  # a plural is one edit
    ],
)
def test_typos(lookup: LookupExtractor, text: str, value: str, span: str, edits: int) -> None:
    [entity] = [e for e in lookup.extract(text) if e.value == value]
    assert entity.text == span
    assert entity.start == text.index(span)
    info: Any = entity.additional_info
    assert info["edits"] == edits
    assert info["fuzzy"] is (edits > 0)
    assert (entity.confidence < 1.0) is (edits > 0)


@pytest.mark.parametrize(
    "text",
    [
        "une table pour deux",  # "table" is a common word: never a fuzzy "Tables"
        "I want italian food",  # exact "italian" only: no restaurant
        "marx",  # short tokens need an exact match
        "du basilic et des bastions",
        "",
    ],
)
def test_no_false_matches(lookup: LookupExtractor, text: str) -> None:
    assert [e.value for e in lookup.extract(text) if e.entity != "cuisine"] == []


def test_common_words_still_match_exactly(lookup: LookupExtractor) -> None:
    assert [e.value for e in lookup.extract("a table at Tables")] == ["Tables"]


def test_longest_match_wins_across_types() -> None:
    lookup = LookupExtractor(
        {"district": [("Le Marais", ["Marais"])], "restaurant": [("Marais Bistro", ["Le Marais Bistro"])]}
    )
    assert found(lookup, "dinner at le marais bistro") == [
        ("restaurant", "Marais Bistro", "le marais bistro", 10, 1.0)
    ]


def test_same_span_of_two_types_is_kept() -> None:
    lookup = LookupExtractor({"cuisine": [("italian", ["italien"])], "restaurant": [("L'Italien", [])]})
    assert {(e.entity, e.value) for e in lookup.extract("italien")} == {
        ("cuisine", "italian"),
        ("restaurant", "L'Italien"),
    }


def test_ambiguous_surface_lists_alternatives() -> None:
    lookup = LookupExtractor(
        {"restaurant": [("Chez Paul (11e)", ["Chez Paul"]), ("Chez Paul (5e)", ["Chez Paul"])]}
    )
    [entity] = lookup.extract("chez paul")
    assert entity.value == "Chez Paul (11e)"
    assert (entity.additional_info or {})["alternatives"] == ["Chez Paul (5e)"]


def test_without_fuzzy_matching() -> None:
    lookup = LookupExtractor(CATALOG, fuzzy=False)
    assert lookup.extract("bastile") == []
    assert [e.value for e in lookup.extract("bastille")] == ["Bastille"]


def test_from_rasa_lookup_tables() -> None:
    tables = [LookupTable("cuisine", ("italien", "italienne", "japonais"))]
    lookup = LookupExtractor.from_lookup_tables(tables, {"italienne": "italien"})
    assert [(e.value, e.text) for e in lookup.extract("une pizzeria italienne")] == [("italien", "italienne")]


def test_osa_distance() -> None:
    assert osa_distance("marais", "marias", 2) == 1
    assert osa_distance("bastille", "bastile", 2) == 1
    assert osa_distance("abcdef", "abcdef", 1) == 0
    assert osa_distance("kitten", "sitting", 1) == 2  # above the limit: limit + 1
    assert osa_distance("ca", "abc", 3) == 3  # OSA, not unrestricted Damerau


@pytest.mark.parametrize(("length", "budget"), [(3, 0), (4, 0), (5, 1), (8, 1), (9, 2), (15, 2)])
def test_typo_budget(length: int, budget: int) -> None:
    assert max_edits(length) == budget


def test_query_and_index_hashes_agree() -> None:
    for word in ["marais", "ambroisie", "saintgermain", "élodie"]:
        budget = max_edits(len(word))
        assert deletion_hashes([word], budget)[0].tolist() == query_hashes(word, budget)


def test_a_large_catalog() -> None:
    rng = random.Random(3)
    names = {
        " ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10))) for _ in range(2)
        )
        for _ in range(20_000)
    }
    entries = [(name.title(), [name]) for name in sorted(names)]
    lookup = LookupExtractor({"restaurant": entries, "district": [("Le Marais", ["Marais"])]})
    name = entries[1234][1][0]
    typo = name[:2] + name[3] + name[2] + name[4:]  # transpose two letters of the first token
    assert [e.value for e in lookup.extract(f"dinner at {name} in the Marais")] == [
        entries[1234][0],
        "Le Marais",
    ]
    assert entries[1234][0] in [e.value for e in lookup.extract(f"dinner at {typo}")]
