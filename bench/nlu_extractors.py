"""Micro-benchmark of the rule-based NLU: built-in extractors, language detection, lookup.

    python bench/nlu_extractors.py

Prints microseconds per message (best of several rounds, single thread).
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from plaza.nlu.builtin import extract

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))

MESSAGES = [
    ("en", "I want italian food"),
    ("en", "hi"),
    ("en", "a table for 4 tomorrow at 8pm please"),
    ("en", "next friday 7pm"),
    ("en", "can we move it to half past 7?"),
    ("en", "my number is +1 (415) 555-0100"),
    ("en", "how much is it, $20?"),
    ("fr", "bonjour"),
    ("fr", "je voudrais réserver une table pour deux"),
    ("fr", "vendredi prochain à 19h"),
    ("fr", "demain soir vers 20h pour quatre personnes"),
    ("fr", "c'est quinze euros cinquante"),
    ("fr", "mon numéro : 06 12 34 56 78, mail jean.dupont@example.fr"),
    ("fr", "ok"),
    ("xx", "ce soir à 19h30"),
]


def _per_call(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def bench_builtin() -> None:
    print("built-in extractors (all dimensions)")
    total = 0.0
    for lang, text in MESSAGES:
        us = _per_call(partial(extract, text, lang, NOW), 300)
        total += us
        print(f"  {us:8.1f} us  [{lang}] {text}")
    print(f"  {total / len(MESSAGES):8.1f} us  mean -> {1e6 / (total / len(MESSAGES)):,.0f} messages/s")


def bench_language() -> None:
    from plaza.nlu.language import LanguageDetector

    detector = LanguageDetector.default()
    print("language detection")
    total = 0.0
    for _, text in MESSAGES:
        us = _per_call(partial(detector.detect, text), 2000)
        total += us
    print(f"  {total / len(MESSAGES):8.1f} us  mean per message")


def _random_name(rng: random.Random) -> str:
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10)))
        for _ in range(rng.randint(1, 3))
    )


def bench_lookup() -> None:
    from plaza.nlu.lookup import LookupExtractor

    rng = random.Random(7)
    texts = [
        "je voudrais une table au Marais chez l'Ambroisie",
        "an italian restaurant near saint germain please",
        "something in the marias tonight",
    ]
    base = {
        "district": [("Le Marais", ["Le Marais", "Marais"]), ("Saint-Germain", ["Saint-Germain-des-Prés"])],
        "cuisine": [("italian", ["italian", "italien", "italienne"])],
        "restaurant": [("L'Ambroisie", ["l'Ambroisie"])],
    }
    for size in (100, 1_000, 100_000):
        entries = {k: list(v) for k, v in base.items()}
        entries["restaurant"] += [(f"r{i}", [_random_name(rng)]) for i in range(size)]
        start = time.perf_counter()
        extractor = LookupExtractor(entries)
        build_ms = (time.perf_counter() - start) * 1e3
        us = sum(_per_call(partial(extractor.extract, t), 300) for t in texts) / len(texts)
        print(f"lookup {size:>7,} entries: build {build_ms:8.1f} ms, extract {us:8.1f} us/message")


if __name__ == "__main__":
    bench_builtin()
    try:
        bench_language()
        bench_lookup()
    except ImportError as exc:  # pragma: no cover - while the modules are written
        print("skipped:", exc)
