"""Small, deterministic training sets shared by the NLU model tests (not a test module)."""

from __future__ import annotations

import itertools

from plaza.nlu.types import OUT_OF_SCOPE, EntitySpan, Example, LookupTable, RegexFeature, TrainingData

CUISINES = ["italian", "french", "thai", "japanese", "indian", "mexican", "chinese", "greek"]
PLACES = ["bastille", "opera", "the airport", "gare du nord", "montmartre", "la defense", "the station"]


def _span(
    text: str, value: str, entity: str, role: str | None = None, canonical: str | None = None
) -> EntitySpan:
    start = text.index(value)
    return EntitySpan(start, start + len(value), entity, canonical or value, role)


def restaurant_taxi_data(with_oos: bool = True) -> TrainingData:
    """Five intents, entities with a synonym and roles, optional out-of-scope examples."""
    examples: list[Example] = []
    book = [
        "book a table at a {c} restaurant",
        "i want {c} food tonight",
        "find me a {c} place for dinner",
        "reserve a {c} restaurant please",
        "table for two at a {c} restaurant",
        "any good {c} restaurant near me",
    ]
    for tpl, c in zip(itertools.cycle(book), CUISINES * 2, strict=False):
        text = tpl.format(c=c)
        examples.append(Example(text, "book_table", (_span(text, c, "cuisine"),)))
    text = "book a table at a veggie restaurant"
    examples.append(Example(text, "book_table", (_span(text, "veggie", "cuisine", canonical="vegetarian"),)))
    taxi = [
        "take me from {a} to {b}",
        "i need a cab from {a} to {b}",
        "taxi from {a} to {b} please",
        "a ride from {a} to {b}",
    ]
    for i, (tpl, a) in enumerate(zip(itertools.cycle(taxi), PLACES * 2, strict=False)):
        b = PLACES[(i + 3) % len(PLACES)]
        text = tpl.format(a=a, b=b)
        start_b = text.rindex(b)
        examples.append(
            Example(
                text,
                "order_taxi",
                (
                    _span(text, a, "location", role="origin"),
                    EntitySpan(start_b, start_b + len(b), "location", b, "destination"),
                ),
            )
        )
    greet = ["hello", "hi there", "good morning", "hey", "hello bot", "hi", "good evening", "hey there"]
    examples += [Example(text, "greet") for text in greet]
    bye = ["bye", "goodbye", "see you later", "bye bye", "see you", "good night", "farewell", "ciao"]
    examples += [Example(text, "goodbye") for text in bye]
    menu = [
        "show me the menu",
        "what is on the menu",
        "can i see the menu",
        "menu please",
        "what dishes do you have",
        "what do you serve",
        "the menu",
        "list the dishes",
    ]
    examples += [Example(text, "ask_menu") for text in menu]
    if with_oos:
        oos = [
            "what is the capital of peru",
            "how tall is mount everest",
            "tell me a joke",
            "what is the meaning of life",
            "who won the football match",
            "how do magnets work",
            "sing me a song",
            "what is quantum physics",
            "who is the president",
            "explain relativity",
        ]
        examples += [Example(text, OUT_OF_SCOPE) for text in oos]
    return TrainingData(
        examples=examples,
        synonyms={"veggie": "vegetarian"},
        lookups=[LookupTable("cuisines", tuple(CUISINES))],
        regexes=[RegexFeature("booking_ref", (r"\bREF-\d{4}\b",))],
    )


def router_data() -> TrainingData:
    """Bots as labels, no entities: the router's training set."""
    bots = {
        "restaurant": [
            "book a table",
            "i want to eat italian",
            "reserve dinner for four",
            "a table tonight",
            "restaurant near me",
            "lunch reservation",
            "show me the menu",
            "dinner for two",
        ],
        "taxi": [
            "i need a taxi",
            "take me to the airport",
            "order a cab",
            "ride to the station",
            "how much is a taxi",
            "cab to work",
            "pick me up at home",
            "taxi please",
        ],
        "cinema": [
            "what films are on",
            "two tickets for the new movie",
            "cinema showtimes",
            "book a film",
            "movie tonight",
            "which movies play today",
            "tickets for avatar",
            "film schedule",
        ],
    }
    return TrainingData(examples=[Example(t, bot) for bot, texts in bots.items() for t in texts])
