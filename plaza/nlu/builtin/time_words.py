"""Calendar vocabulary of the time dimension (folded: lower-case, no accents).

Kept apart from the grammar so the words can be reviewed (and extended) by someone who
does not want to read regular expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from plaza.nlu.builtin.numbers import ORDINAL_WORDS

WEEKDAYS: Final[Mapping[str, Mapping[str, int]]] = {
    "en": {
        "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
        "tues": 1, "thurs": 3, "fri": 4,
    },
    "fr": {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6},
}  # fmt: skip

WEEKDAY_ABBREVIATIONS_EN: Final[Mapping[str, int]] = {
    "mon": 0, "tue": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "sat": 5, "sun": 6,
}  # fmt: skip
"""Too ambiguous alone ("sun", "wed", and "mon" in French): only after on/this/next."""

MONTHS: Final[Mapping[str, Mapping[str, int]]] = {
    "en": {
        "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
        "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
        "oct": 10, "nov": 11, "dec": 12,
    },
    "fr": {
        "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
        "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
        "janv": 1, "fev": 2, "fevr": 2, "avr": 4, "juil": 7, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    },
}  # fmt: skip

PARTS_OF_DAY: Final[Mapping[str, tuple[int, int]]] = {
    "morning": (6, 12),
    "lunch": (12, 14),
    "afternoon": (12, 18),
    "evening": (18, 24),
    "night": (18, 24),
}
"""Part of day -> [start hour, end hour) of its interval; 24 is midnight of the next day."""

POD_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "morning": "morning", "afternoon": "afternoon", "evening": "evening", "night": "night",
        "lunchtime": "lunch", "lunch time": "lunch",
    },
    "fr": {
        "matin": "morning", "matinee": "morning", "apres-midi": "afternoon", "apres midi": "afternoon",
        "aprem": "afternoon", "soir": "evening", "soiree": "evening", "nuit": "night",
    },
}  # fmt: skip

EN_HOUR_WORDS: Final[Mapping[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip

EN_MINUTE_WORDS: Final[Mapping[str, int]] = {
    "five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "twenty-five": 25, "twenty five": 25,
    "thirty": 30, "thirty-five": 35, "thirty five": 35, "forty": 40, "forty-five": 45,
    "forty five": 45, "fifty": 50, "fifty-five": 55, "fifty five": 55, "quarter": 15, "half": 30,
}  # fmt: skip

FR_HOUR_WORDS: Final[Mapping[str, int]] = {
    "une": 1, "un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16, "dix-sept": 17, "dix sept": 17, "dix-huit": 18, "dix huit": 18,
    "dix-neuf": 19, "dix neuf": 19, "vingt": 20, "vingt et une": 21, "vingt-et-une": 21,
    "vingt et un": 21, "vingt-deux": 22, "vingt deux": 22, "vingt-trois": 23, "vingt trois": 23,
    "zero": 0,
}  # fmt: skip

FR_MINUTE_WORDS: Final[Mapping[str, int]] = {
    "cinq": 5, "dix": 10, "quinze": 15, "vingt": 20, "vingt-cinq": 25, "vingt cinq": 25,
    "trente": 30, "trente-cinq": 35, "trente cinq": 35, "quarante": 40, "quarante-cinq": 45,
    "quarante cinq": 45, "cinquante": 50, "cinquante-cinq": 55, "cinquante cinq": 55,
}  # fmt: skip

FR_FRACTIONS: Final[Mapping[str, int]] = {
    "et quart": 15, "et demi": 30, "et demie": 30, "trois quarts": 45,
    "moins le quart": -15, "moins quart": -15, "moins cinq": -5, "moins dix": -10,
    "moins vingt": -20, "moins vingt-cinq": -25, "moins vingt cinq": -25,
}  # fmt: skip
"""Minute offsets after an hour word: "huit heures et demie", "midi moins le quart"."""

ORDINAL_DAYS_EN: Final[Mapping[str, int]] = {w: v for w, v in ORDINAL_WORDS["en"].items() if v <= 31}
