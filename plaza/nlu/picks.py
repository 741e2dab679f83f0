"""Which of the items just shown a message picks: "the second one", "la première", "the last one".

One rule for every list a user picks from by rank: a bot's cards (the restaurant's search
results, `actions/restaurant.py`) and the buttons of the dialogue's "Which one?"
(`plaza/router.py`).  It reads the built-in `ordinal` and `time` entities the caller already has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from plaza.nlu.lookup import normalise

__all__ = ["MAX_PICK_WORDS", "picked_index"]

MAX_PICK_WORDS: Final = 6
""""Je prends le deuxième, merci" is a pick; a longer message is about something else, unless
the ordinal names what it picks ("the first one for 2 on Saturday at 1pm")."""
LAST_WORDS: Final = re.compile(r"(?<![\w'])(?:last|derni[eè]re?)(?![\w'])", re.IGNORECASE)
"""'The last one', 'la dernière': the built-in `ordinal` entity covers first to nth, not last."""
PICK_NOUNS: Final = re.compile(r"\s*(?:one|place|restaurant|option|adresse|resto)s?\b")
"""What may follow an ordinal that picks ("the first one", "la deuxième adresse")."""


def picked_index(
    text: str,
    ordinals: Iterable[tuple[int, int, Any]],
    times: Iterable[tuple[int, int]],
    count: int,
    *,
    long_picks: bool = True,
) -> int | None:
    """The index among `count` shown items that `text` picks, if it picks one.

    `ordinals` are the (start, end, rank) of its `ordinal` entities and `times` the (start, end)
    of its `time` ones.  An ordinal that a date goes on from ("le premier décembre") picks
    nothing; "the 3rd" alone is the third item even if it could be a date.  The first ordinal
    that counts decides: one beyond the list picks nothing.  `long_picks=False` refuses a long
    message even when a noun follows the ordinal: "the first one but on Friday" may pick a
    restaurant and change the day, but not a button that names a time.
    """
    if count <= 0:
        return None
    short = len(text.split()) <= MAX_PICK_WORDS
    spans = list(times)
    for start, end, rank in ordinals:
        if not isinstance(rank, int) or any(a <= start and b > end for a, b in spans):
            continue
        if not short and not (long_picks and PICK_NOUNS.match(normalise(text[end:]))):
            continue  # "first time here, what would you recommend...": not a pick
        return rank - 1 if 1 <= rank <= count else None
    return count - 1 if short and LAST_WORDS.search(text) else None
