"""Dates, times and counts said the way each language says them (en, fr).

Not through the `locale` module: it is process-global and often missing on servers.
"""

from __future__ import annotations

from datetime import date, datetime, time

_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}
_RELATIVE = {"en": ("today", "tomorrow"), "fr": ("aujourd'hui", "demain")}


def _lang(language: str) -> str:
    return language if language in _WEEKDAYS else "en"


def month_name(month: int, language: str) -> str:
    return _MONTHS[_lang(language)][month - 1]


def weekday_name(day: date, language: str) -> str:
    return _WEEKDAYS[_lang(language)][day.weekday()]


def format_date(day: date, language: str, today: date | None = None) -> str:
    """'today', 'tomorrow', else 'Saturday 21 November' / 'samedi 21 novembre'."""
    lang = _lang(language)
    if today is not None:
        if day == today:
            return _RELATIVE[lang][0]
        if (day - today).days == 1:
            return _RELATIVE[lang][1]
    name = f"{_WEEKDAYS[lang][day.weekday()]} {day.day} {_MONTHS[lang][day.month - 1]}"
    if today is not None and day.year != today.year:
        name += f" {day.year}"
    return name


def format_time(at: time, language: str) -> str:
    """'8:00 pm' / '20h00'."""
    if _lang(language) == "fr":
        return f"{at.hour}h{at.minute:02d}"
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d} {'am' if at.hour < 12 else 'pm'}"


def format_when(at: datetime, language: str, today: date | None = None) -> str:
    joiner = " à " if _lang(language) == "fr" else " at "
    return format_date(at.date(), language, today) + joiner + format_time(at.timetz(), language)


def people(count: int, language: str) -> str:
    if _lang(language) == "fr":
        return f"{count} personne" + ("s" if count > 1 else "")
    return f"{count} " + ("person" if count == 1 else "people")
