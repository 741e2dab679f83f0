"""Checks the restaurant demo world (`data/*.json`) and the NLU training data (`intents/*.yml`).

Self-contained on purpose (stdlib + PyYAML): it validates the files as data, whatever the state
of the loaders, so a typo in a hand-edited catalog or example fails here with a readable message.
The labelling rules these tests enforce are described in `data/README.md`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
INTENTS = ROOT / "intents"
LANGS = ("en", "fr")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIETS = ("vegetarian", "vegan", "gluten_free", "halal", "kosher")
PRICES = ("cheap", "moderate", "upscale", "fine_dining")
ENTITY_TYPES = frozenset({"cuisine", "district", "restaurant", "price", "diet", "booking_ref"})
BOOKING_REF = re.compile(r"PLZ-[A-HJ-NP-Z2-9]{6}")

RESTAURANT_INTENTS = frozenset(
    {
        "search_restaurant",
        "book_table",
        "inform",
        "ask_address",
        "ask_diet",
        "ask_opening_hours",
        "ask_price",
        "my_bookings",
        "change_booking",
        "cancel_booking",
    }
)
COMMON_INTENTS = frozenset(
    {"greet", "goodbye", "thank", "help", "affirm", "deny", "cancel", "human", "out_of_scope"}
)
MIN_EXAMPLES = {"search_restaurant": 100, "inform": 100, "out_of_scope": 150}
MIN_RESTAURANT_EXAMPLES = 60
MIN_COMMON_EXAMPLES = 40

RESTAURANT_KEYS = {
    "id": str,
    "name": str,
    "aliases": list,
    "cuisine": str,
    "district": str,
    "address": str,
    "lat": float,
    "lon": float,
    "price_level": int,
    "phone": str,
    "opening_hours": dict,
    "slot_minutes": int,
    "capacity_per_slot": int,
    "max_party_size": int,
    "diets": list,
    "dishes": dict,
    "vegetarian_dishes": dict,
    "description": dict,
}
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TIME_RANGE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
# ARCEP sets 01 99 00 xx xx aside for fiction: these numbers never ring anyone.
PHONE = re.compile(r"\+33 1 99 00 \d\d \d\d")
ADDRESS = re.compile(r".+, (75\d{3}) Paris")
# Paris inside the périphérique, generously.
PARIS_BOX = {"lat": (48.815, 48.905), "lon": (2.22, 2.47)}
MAX_KM_FROM_DISTRICT = 1.2

# Words that belong to services the platform will add later (taxi, shop, doctor, cinema): they
# must not be taught as out_of_scope now.  Matched on normalised whole words.
FUTURE_SERVICE_WORDS = frozenset(
    {
        "taxi", "cab", "uber", "vtc", "ride", "chauffeur", "driver", "airport", "aeroport",
        "shop", "shopping", "buy", "purchase", "order", "commande", "commander", "acheter", "achete",
        "panier",
        "doctor", "docteur", "medecin", "appointment", "rdv", "rendez", "sick", "malade", "pharmacy",
        "pharmacie", "symptom", "symptome",
        "cinema", "movie", "movies", "film", "films", "seance", "showtime", "showtimes",
    }
)  # fmt: skip


# ------------------------------------------------------------------------------------------ helpers


def fold(text: str) -> str:
    """Lower-case, strip accents, turn punctuation into spaces, drop a leading article."""
    low = text.lower().replace("œ", "oe").replace("’", "'")
    low = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    low = re.sub(r"[^\w]+", " ", low).strip()
    for article in ("the ", "le ", "la ", "les ", "l "):
        if low.startswith(article):
            return low[len(article) :]
    return low


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111.2
    dx = (lon2 - lon1) * 111.2 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


@cache
def load_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def restaurants() -> list[dict[str, Any]]:
    return load_json("restaurants.json")  # type: ignore[no-any-return]


def cuisines() -> dict[str, Any]:
    return load_json("cuisines.json")  # type: ignore[no-any-return]


def districts() -> dict[str, Any]:
    return load_json("districts.json")  # type: ignore[no-any-return]


# Rasa 3 annotation forms we allow: `[text](entity)` and `[text]{"entity": ..., "value": ...}`.
ANNOTATION = re.compile(r"\[(?P<text>[^\[\]]+)\](?:\((?P<entity>[^()]+)\)|(?P<dict>\{[^{}]*\}))")


@dataclass(frozen=True)
class Span:
    entity: str
    value: str
    surface: str
    start: int
    end: int


@dataclass(frozen=True)
class Ex:
    file: str
    line: int
    intent: str
    raw: str
    text: str
    spans: tuple[Span, ...]


def parse_example(raw: str, where: str) -> tuple[str, tuple[Span, ...]]:
    out: list[str] = []
    spans: list[Span] = []
    pos = length = 0
    for m in ANNOTATION.finditer(raw):
        before = raw[pos : m.start()]
        out.append(before)
        length += len(before)
        surface = m.group("text")
        if m.group("entity") is not None:
            entity, value = m.group("entity"), surface
            assert ":" not in entity, (
                f"{where}: use the JSON form, not the old `(entity:value)`: {m.group(0)}"
            )
        else:
            try:
                spec = json.loads(m.group("dict"))
            except json.JSONDecodeError as exc:
                raise AssertionError(f"{where}: bad JSON in annotation {m.group(0)}: {exc}") from None
            assert isinstance(spec, dict), f"{where}: {m.group(0)}"
            assert set(spec) == {"entity", "value"}, (
                f"{where}: annotation keys must be entity+value: {m.group(0)}"
            )
            entity, value = spec["entity"], spec["value"]
            assert isinstance(entity, str), f"{where}: {m.group(0)}"
            assert isinstance(value, str), f"{where}: {m.group(0)}"
            assert value != surface, f"{where}: use the short form [x](entity) when the value is the text"
        spans.append(Span(entity, value, surface, length, length + len(surface)))
        out.append(surface)
        length += len(surface)
        pos = m.end()
    out.append(raw[pos:])
    text = "".join(out)
    for char in "[]{}":
        assert char not in text, f"{where}: stray {char!r} (malformed annotation?) in {raw!r}"
    assert text == text.strip(), f"{where}: leading/trailing spaces in {raw!r}"
    assert "  " not in text, f"{where}: double space in {raw!r}"
    return text, tuple(spans)


@dataclass
class NluFile:
    path: Path
    examples: list[Ex]
    synonyms: dict[str, dict[str, str]]  # entity -> folded surface -> value
    regexes: dict[str, list[str]]


def example_lines(block: str) -> Iterator[tuple[int, str]]:
    for offset, raw in enumerate(block.split("\n")):
        stripped = raw.strip()
        if stripped:
            assert stripped.startswith("- "), f"example line must start with '- ': {stripped!r}"
            yield offset, stripped[2:].strip()


@cache
def nlu_file(name: str) -> NluFile:
    path = INTENTS / name
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict), name
    assert set(doc) == {"version", "nlu"}, f"{name}: top-level keys {sorted(doc)}"
    assert doc["version"] == "3.1", f'{name}: version must be the string "3.1"'
    lines = text.split("\n")
    heads = {}
    for i, line in enumerate(lines):
        m = re.match(r"- (intent|synonym|regex|lookup): (.+)$", line)
        if m:
            heads[(m.group(1), m.group(2).strip())] = i + 1
    nf = NluFile(path, [], defaultdict(dict), {})
    seen_items: set[tuple[str, str]] = set()
    for item in doc["nlu"]:
        assert isinstance(item, dict), f"{name}: bad nlu item {item!r:.80}"
        assert set(item) in (
            {"intent", "examples"},
            {"synonym", "examples"},
            {"regex", "examples"},
            {"lookup", "examples"},
        ), f"{name}: bad nlu item {item!r:.80}"
        kind = next(k for k in item if k != "examples")
        label = str(item[kind])
        assert (kind, label) not in seen_items, f"{name}: {kind} {label!r} appears twice"
        seen_items.add((kind, label))
        assert isinstance(item["examples"], str), f"{name}: {kind} {label}: examples must be a `|` block"
        first = heads[(kind, label)] + 2
        rows = list(example_lines(item["examples"]))
        assert rows, f"{name}: {kind} {label} has no examples"
        if kind == "intent":
            for offset, raw in rows:
                where = f"{name}:{first + offset}"
                plain, spans = parse_example(raw, where)
                nf.examples.append(Ex(name, first + offset, label, raw, plain, spans))
        elif kind == "synonym":
            entity = "price" if label in PRICES else "diet" if label in DIETS else None
            assert entity is not None, f"{name}: synonym block for unknown value {label!r}"
            for _, surface in rows:
                key = fold(surface)
                assert surface.lower() != label, f"{name}: synonym {surface!r} is the value itself"
                previous = nf.synonyms[entity].setdefault(key, label)
                assert previous == label, f"{name}: {surface!r} is a synonym of both {previous} and {label}"
        elif kind == "regex":
            nf.regexes[label] = [p for _, p in rows]
    return nf


def intent_files(lang: str) -> tuple[str, str]:
    return f"restaurant.{lang}.yml", f"common.{lang}.yml"


def examples(lang: str) -> list[Ex]:
    return [e for name in intent_files(lang) for e in nlu_file(name).examples]


def catalog_forms() -> dict[str, dict[str, str]]:
    """Entity type -> folded surface form -> canonical value, from the JSON catalogs."""
    forms: dict[str, dict[str, str]] = {"cuisine": {}, "district": {}, "restaurant": {}}
    for key, c in cuisines().items():
        for s in (key, c["en"], c["fr"], *c["synonyms"]["en"], *c["synonyms"]["fr"]):
            forms["cuisine"][fold(s)] = key
    for key, d in districts().items():
        for s in (key, d["name"], d["fr"], *d["synonyms"]):
            forms["district"][fold(s)] = key
    for r in restaurants():
        for s in (r["id"], r["name"], *r["aliases"]):
            forms["restaurant"][fold(s)] = r["id"]
    return forms


def forms_for(lang: str) -> dict[str, dict[str, str]]:
    forms = catalog_forms()
    rest = nlu_file(f"restaurant.{lang}.yml")
    for entity, canon in (("price", PRICES), ("diet", DIETS)):
        forms[entity] = {fold(v): v for v in canon} | dict(rest.synonyms[entity])
    return forms


# ------------------------------------------------------------------------------------- the catalogs


def test_catalog_files_are_json_of_the_right_shape() -> None:
    assert isinstance(restaurants(), list)
    assert isinstance(cuisines(), dict)
    assert isinstance(districts(), dict)


def test_restaurant_schema() -> None:
    for r in restaurants():
        rid = r.get("id", "?")
        assert set(r) == set(RESTAURANT_KEYS), f"{rid}: keys differ: {sorted(set(r) ^ set(RESTAURANT_KEYS))}"
        for key, typ in RESTAURANT_KEYS.items():
            value = r[key]
            ok = isinstance(value, typ) and not isinstance(value, bool)
            if typ is float:
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            assert ok, f"{rid}: {key} should be {typ.__name__}, got {value!r}"
        assert SLUG.fullmatch(r["id"]), f"{rid}: id must be a lower-case slug"
        assert r["name"], rid
        assert r["name"].strip() == r["name"], rid
        assert all(isinstance(a, str) and a.strip() for a in r["aliases"]), rid
        assert r["price_level"] in (1, 2, 3, 4), rid
        assert r["slot_minutes"] in (15, 30), rid
        assert 8 <= r["capacity_per_slot"] <= 40, rid
        assert 1 <= r["max_party_size"] <= min(20, r["capacity_per_slot"]), rid
        assert set(r["diets"]) <= set(DIETS), f"{rid}: unknown diets {set(r['diets']) - set(DIETS)}"
        assert len(set(r["diets"])) == len(r["diets"]), rid
        assert PHONE.fullmatch(r["phone"]), (
            f"{rid}: phone {r['phone']!r} is not in the fictional 01 99 00 range"
        )
        for key in ("dishes", "vegetarian_dishes", "description"):
            assert set(r[key]) == set(LANGS), f"{rid}: {key} needs exactly {LANGS}"
        assert 3 <= len(r["dishes"]["en"]) <= 5, f"{rid}: 3-5 signature dishes"
        for key in ("dishes", "vegetarian_dishes"):
            en, fr = r[key]["en"], r[key]["fr"]
            assert len(en) == len(fr), f"{rid}: {key} en/fr are not aligned"
            assert all(isinstance(d, str) and d.strip() for d in en + fr), rid
            assert len(set(en)) == len(en), f"{rid}: duplicate {key}"
        for lang in LANGS:
            desc = r["description"][lang]
            assert isinstance(desc, str), f"{rid}: description.{lang}"
            assert desc.endswith("."), f"{rid}: description.{lang} should be a sentence"
            assert len(desc) > 20, f"{rid}: description.{lang} is too short"
        if r["vegetarian_dishes"]["en"]:
            assert "vegetarian" in r["diets"] or "vegan" in r["diets"], (
                f"{rid}: has vegetarian dishes, say so"
            )
        if "vegetarian" in r["diets"]:
            assert r["vegetarian_dishes"]["en"], f"{rid}: vegetarian diet but no vegetarian dishes listed"


def test_restaurant_ids_names_and_aliases_are_unique() -> None:
    ids = Counter(r["id"] for r in restaurants())
    assert not [k for k, n in ids.items() if n > 1], "duplicate ids"
    owner: dict[str, str] = {}
    for r in restaurants():
        for form in {fold(r["name"]), fold(r["id"]), *(fold(a) for a in r["aliases"])}:
            assert owner.setdefault(form, r["id"]) == r["id"], (
                f"{form!r} names both {owner[form]} and {r['id']}"
            )
    phones = Counter(r["phone"] for r in restaurants())
    assert not [k for k, n in phones.items() if n > 1], "duplicate phone numbers"
    addresses = Counter(r["address"] for r in restaurants())
    assert not [k for k, n in addresses.items() if n > 1], "duplicate addresses"


def test_restaurant_references_resolve() -> None:
    for r in restaurants():
        assert r["cuisine"] in cuisines(), f"{r['id']}: unknown cuisine {r['cuisine']!r}"
        assert r["district"] in districts(), f"{r['id']}: unknown district {r['district']!r}"
    used_cuisines = {r["cuisine"] for r in restaurants()}
    used_districts = {r["district"] for r in restaurants()}
    assert set(cuisines()) == used_cuisines, (
        f"cuisines without a restaurant: {set(cuisines()) - used_cuisines}"
    )
    assert set(districts()) == used_districts, (
        f"districts without a restaurant: {set(districts()) - used_districts}"
    )


def test_opening_hours_parse() -> None:
    for r in restaurants():
        rid, hours, slot = r["id"], r["opening_hours"], r["slot_minutes"]
        assert tuple(hours) == DAYS, f"{rid}: opening_hours needs the 7 keys in order {DAYS}"
        assert any(hours.values()), f"{rid}: never open"
        for day, ranges in hours.items():
            assert isinstance(ranges, list), f"{rid}.{day}"
            last_end = -1
            for rng in ranges:
                assert TIME_RANGE.fullmatch(rng), f"{rid}.{day}: {rng!r} is not HH:MM-HH:MM"
                start, end = (minutes(t) for t in rng.split("-"))
                assert start < end, (
                    f"{rid}.{day}: {rng} ends before it starts (ranges may not cross midnight)"
                )
                assert start > last_end, f"{rid}.{day}: ranges overlap or are out of order"
                assert start % slot == 0, f"{rid}.{day}: {rng} does not start on a {slot}-minute slot"
                assert end % slot == 0, f"{rid}.{day}: {rng} does not end on a {slot}-minute slot"
                assert start >= 11 * 60, f"{rid}.{day}: {rng} starts before 11:00"
                assert end <= 23 * 60 + 30, f"{rid}.{day}: {rng} takes tables after 23:30"
                last_end = end


def test_locations_are_plausible() -> None:
    for r in restaurants():
        rid = r["id"]
        lo, hi = PARIS_BOX["lat"]
        assert lo < r["lat"] < hi, f"{rid}: latitude outside Paris"
        lo, hi = PARIS_BOX["lon"]
        assert lo < r["lon"] < hi, f"{rid}: longitude outside Paris"
        d = districts()[r["district"]]
        dist = km(r["lat"], r["lon"], d["lat"], d["lon"])
        assert dist < MAX_KM_FROM_DISTRICT, f"{rid}: {dist:.2f} km from the centre of {r['district']}"
        m = ADDRESS.fullmatch(r["address"])
        assert m, f"{rid}: address must look like '12 Rue X, 750xx Paris'"
        assert m.group(1) in d["postcodes"], f"{rid}: postcode {m.group(1)} is not in {r['district']}"


def test_demo_world_has_choices_and_edge_cases() -> None:
    rs = restaurants()
    assert len(rs) >= 30
    assert len(districts()) >= 12
    assert len(cuisines()) >= 15
    by_cuisine = Counter(r["cuisine"] for r in rs)
    by_district = Counter(r["district"] for r in rs)
    assert by_cuisine["italian"] >= 3
    for key in ("bastille", "marais"):
        assert by_district[key] >= 3, key
    assert all(n >= 2 for n in by_district.values()), by_district
    assert set(Counter(r["price_level"] for r in rs)) == {1, 2, 3, 4}
    assert sum(r["capacity_per_slot"] <= 12 for r in rs) >= 2, "need small places so 'full' happens in demos"
    assert sum(not r["opening_hours"]["sun"] for r in rs) >= 3, "some places closed on Sunday"
    assert sum(not r["opening_hours"]["mon"] for r in rs) >= 3, "some places closed on Monday"
    assert sum(any(x.endswith("23:30") for x in v) for r in rs for v in r["opening_hours"].values()) > 0
    all_afternoon = [r for r in rs if any(minutes(x[6:]) - minutes(x[:5]) >= 8 * 60
                                          for v in r["opening_hours"].values() for x in v)]  # fmt: skip
    assert len(all_afternoon) >= 2, "a couple of places open all afternoon"
    for diet in DIETS:
        assert any(diet in r["diets"] for r in rs), f"nobody serves {diet}"
    assert {r["slot_minutes"] for r in rs} == {15, 30}


def test_cuisines_schema_and_unambiguous_synonyms() -> None:
    owner: dict[str, str] = {}
    for key, c in cuisines().items():
        assert SLUG.fullmatch(key), key
        assert set(c) == {"en", "fr", "synonyms"}, key
        assert set(c["synonyms"]) == set(LANGS), key
        for lang in LANGS:
            assert isinstance(c[lang], str), key
            assert c[lang], key
            syns = c["synonyms"][lang]
            assert syns, f"{key}.{lang}"
            assert all(isinstance(s, str) and s == s.strip().lower() for s in syns), f"{key}.{lang}"
            assert len(set(syns)) == len(syns), f"{key}.{lang}: duplicate synonym"
        for s in {key, c["en"], c["fr"], *c["synonyms"]["en"], *c["synonyms"]["fr"]}:
            assert owner.setdefault(fold(s), key) == key, (
                f"{s!r} is a synonym of both {owner[fold(s)]} and {key}"
            )


def test_districts_schema_and_unambiguous_synonyms() -> None:
    owner: dict[str, str] = {}
    for key, d in districts().items():
        assert SLUG.fullmatch(key), key
        assert set(d) == {"name", "fr", "synonyms", "postcodes", "lat", "lon"}, key
        assert all(isinstance(s, str) and s == s.strip().lower() for s in d["synonyms"]), key
        assert all(re.fullmatch(r"750\d\d", p) for p in d["postcodes"]), key
        for s in {key, d["name"], d["fr"], *d["synonyms"]}:
            assert owner.setdefault(fold(s), key) == key, f"{s!r} names both {owner[fold(s)]} and {key}"


def test_catalog_surface_forms_do_not_collide_across_types() -> None:
    forms = catalog_forms()
    for a, b in (("cuisine", "district"), ("cuisine", "restaurant"), ("district", "restaurant")):
        common = set(forms[a]) & set(forms[b])
        assert not common, f"{a} and {b} share surface forms {sorted(common)}"


# -------------------------------------------------------------------------------------- NLU files


@pytest.mark.parametrize("lang", LANGS)
def test_yaml_parses_and_has_the_expected_items(lang: str) -> None:
    rest, common = (nlu_file(n) for n in intent_files(lang))
    assert {e.intent for e in rest.examples} == RESTAURANT_INTENTS
    assert {e.intent for e in common.examples} == COMMON_INTENTS
    assert not common.synonyms, "entities belong to the restaurant files"
    assert not common.regexes, "entities belong to the restaurant files"
    assert set(rest.synonyms) == {"price", "diet"}
    assert set(rest.regexes) == {"booking_ref"}


def test_both_languages_have_the_same_intents() -> None:
    for en_name, fr_name in zip(intent_files("en"), intent_files("fr"), strict=True):
        en = {e.intent for e in nlu_file(en_name).examples}
        fr = {e.intent for e in nlu_file(fr_name).examples}
        assert en == fr, f"{en_name} vs {fr_name}: {sorted(en ^ fr)}"


@pytest.mark.parametrize("lang", LANGS)
def test_enough_examples_per_intent(lang: str) -> None:
    counts = Counter(e.intent for e in examples(lang))
    for intent, n in counts.items():
        default = MIN_RESTAURANT_EXAMPLES if intent in RESTAURANT_INTENTS else MIN_COMMON_EXAMPLES
        assert n >= MIN_EXAMPLES.get(intent, default), f"{lang}: {intent} has only {n} examples"


@pytest.mark.parametrize("lang", LANGS)
def test_no_duplicate_examples_and_none_in_two_intents(lang: str) -> None:
    seen: dict[str, Ex] = {}
    for e in examples(lang):
        key = fold(e.text) or e.text  # emoji/punctuation-only examples fold to ""
        other = seen.setdefault(key, e)
        if other is e:
            continue
        where = f"{e.file}:{e.line} and {other.file}:{other.line}"
        assert other.intent != e.intent, f"duplicate example in {e.intent} ({where}): {e.text!r}"
        raise AssertionError(f"{e.text!r} is labelled both {other.intent} and {e.intent} ({where})")


@pytest.mark.parametrize("lang", LANGS)
def test_annotations_use_known_entities_with_resolvable_values(lang: str) -> None:
    forms = forms_for(lang)
    for e in examples(lang):
        where = f"{e.file}:{e.line}"
        for s in e.spans:
            assert s.entity in ENTITY_TYPES, f"{where}: unknown entity {s.entity!r}"
            assert e.intent in RESTAURANT_INTENTS, f"{where}: entities only in restaurant intents"
            assert s.surface, f"{where}: empty annotation"
            assert s.surface == s.surface.strip(), f"{where}: spaces inside [{s.surface}]"
            if s.entity == "booking_ref":
                assert BOOKING_REF.fullmatch(s.value), f"{where}: booking ref {s.value!r}"
                assert s.surface.upper() == s.value, f"{where}: {s.surface!r} vs {s.value!r}"
                continue
            known = forms[s.entity]
            assert s.value in known.values(), f"{where}: {s.entity} value {s.value!r} is not a catalog key"
            # The surface must name that value: exactly (folded), or as a small typo of one of its forms.
            folded = fold(s.surface)
            if known.get(folded) == s.value:
                continue
            best = min(known, key=lambda f: (edit_distance(folded, f), f))
            dist = edit_distance(folded, best)
            message = f"{where}: [{s.surface}] is annotated {s.entity}={s.value} but reads like {best!r}"
            assert known[best] == s.value, message
            assert dist <= max(1, len(folded) // 4), message


@pytest.mark.parametrize("lang", LANGS)
def test_a_surface_form_always_means_the_same_value(lang: str) -> None:
    """Rasa's synonym mapper is global: one surface text must not map to two values."""
    meaning: dict[str, tuple[str, str, str]] = {}
    for e in examples(lang):
        for s in e.spans:
            key = s.surface.lower()
            prev = meaning.setdefault(key, (s.entity, s.value, f"{e.file}:{e.line}"))
            assert prev[:2] == (s.entity, s.value), (
                f"{e.file}:{e.line}: [{s.surface}] {s.entity}={s.value}, but {prev[0]}={prev[1]} at {prev[2]}"
            )
    for entity, table in nlu_file(f"restaurant.{lang}.yml").synonyms.items():
        for surface, (ent, value, where) in meaning.items():
            if fold(surface) in table:
                assert (ent, value) == (entity, table[fold(surface)]), (
                    f"{where}: [{surface}] is {ent}={value} but the synonym block says {table[fold(surface)]}"
                )


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_words_are_annotated_wherever_they_are_used(lang: str) -> None:
    """A district or cuisine named in a restaurant example is annotated, so the tagger sees consistent labels.

    (Mentions inside an annotated restaurant name, like "Trattoria" in Trattoria Bellini, do not count.)
    """
    forms = catalog_forms()
    watched = {f: t for t in ("cuisine", "district") for f in forms[t] if len(f) >= 4}
    watched |= {f: "restaurant" for f in forms["restaurant"] if len(f) >= 5}
    longest = max(len(f.split()) for f in watched)
    for e in examples(lang):
        if e.intent not in RESTAURANT_INTENTS:
            continue
        masked = e.text
        for s in sorted(e.spans, key=lambda s: -s.start):
            masked = masked[: s.start] + " | " + masked[s.end :]
        words = fold(masked).split()
        for n in range(longest, 0, -1):
            for i in range(len(words) - n + 1):
                phrase = " ".join(words[i : i + n])
                assert phrase not in watched, (
                    f"{e.file}:{e.line}: {phrase!r} ({watched[phrase]}) is not annotated in {e.raw!r}"
                )


@pytest.mark.parametrize("lang", LANGS)
def test_booking_ref_regex(lang: str) -> None:
    patterns = nlu_file(f"restaurant.{lang}.yml").regexes["booking_ref"]
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    assert any(rx.fullmatch("PLZ-7KQ3M2") for rx in compiled)
    for bad in ("PLZ-7KQ3M", "PLZ-7KQ3MI", "PLZ-0KQ3M2", "PLZ-7KQ3M22"):
        assert not any(rx.fullmatch(bad) for rx in compiled), bad
    refs = 0
    for e in examples(lang):
        for s in e.spans:
            if s.entity == "booking_ref":
                refs += 1
                assert any(rx.search(e.text) for rx in compiled), (
                    f"{e.file}:{e.line}: regex misses {s.surface}"
                )
        if BOOKING_REF.search(e.text.upper()):
            assert any(s.entity == "booking_ref" for s in e.spans), f"{e.file}:{e.line}: unannotated ref"
    assert refs >= 10


@pytest.mark.parametrize("lang", LANGS)
def test_only_the_trained_entities_are_annotated(lang: str) -> None:
    """Dates, times, party sizes and numbers are left to the built-in extractors."""
    for e in examples(lang):
        for s in e.spans:
            assert (
                not re.search(r"\d", s.surface)
                or s.entity == "booking_ref"
                or (s.entity == "district" and re.fullmatch(r"\d+(e|eme|ème)|750\d\d", s.surface))
            ), f"{e.file}:{e.line}: digits inside a {s.entity} annotation: {s.surface!r}"


@pytest.mark.parametrize("lang", LANGS)
def test_out_of_scope_leaves_future_services_alone(lang: str) -> None:
    for e in examples(lang):
        if e.intent != "out_of_scope":
            continue
        hits = set(fold(e.text).split()) & FUTURE_SERVICE_WORDS
        assert not hits, f"{e.file}:{e.line}: {e.text!r} looks like a future service ({hits})"


@pytest.mark.parametrize("lang", LANGS)
def test_every_restaurant_appears_in_the_training_data(lang: str) -> None:
    named = {s.value for e in examples(lang) for s in e.spans if s.entity == "restaurant"}
    missing = {r["id"] for r in restaurants()} - named
    assert not missing, f"{lang}: restaurants never mentioned: {sorted(missing)}"
    for entity, catalog in (("cuisine", cuisines()), ("district", districts())):
        used = {s.value for e in examples(lang) for s in e.spans if s.entity == entity}
        assert not set(catalog) - used, f"{lang}: {entity} never annotated: {sorted(set(catalog) - used)}"


def test_project_loader_reads_the_files_if_present() -> None:
    """Cross-check with Plaza's own Rasa reader, when it exists, on the same example counts."""
    reader = pytest.importorskip("plaza.nlu.training_data")
    for lang in LANGS:
        for name in intent_files(lang):
            data = reader.load_yaml(INTENTS / name)
            assert len(data.examples) == len(nlu_file(name).examples), name
