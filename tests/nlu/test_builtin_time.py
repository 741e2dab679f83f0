"""The `time` dimension, English and French, against a fixed `now`.

NOW is Saturday 2026-11-21 15:00 Europe/Paris (+01:00). Each row gives the message, the span
the entity must cover (its offsets are checked against the message), the value, and the
grain / has_date / has_time flags; `type` follows from the value (dict = interval).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from plaza.nlu.builtin import extract

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=PARIS)


def times(text: str, lang: str, now: datetime = NOW) -> list[Any]:
    return extract(text, lang, now, dims=("time",))


def ivl(start: str, end: str) -> dict[str, str]:
    return {"from": start, "to": end}


def t(local: str) -> str:
    """ "2026-11-27 19:00" -> the ISO string at Paris winter time (+01:00)."""
    return local.replace(" ", "T") + ":00+01:00"


SAME = None
"""The span is the whole message."""


def check(text: str, lang: str, span: str | None, value: Any, flags: str, now: datetime = NOW) -> None:
    """`flags`: the grain, then "date" / "time" when has_date / has_time, "~" when approximate,
    "12h" when the hour has two 12-hour readings (either_half_day)."""
    span = text if span is None else span
    found = times(text, lang, now)
    assert len(found) == 1, [(e.text, e.value) for e in found]
    entity = found[0]
    start = text.index(span)
    assert (entity.start, entity.end, entity.text) == (start, start + len(span), span)
    assert entity.value == value
    words = flags.split()
    info: dict[str, Any] = {
        "type": "interval" if isinstance(value, dict) else "value",
        "grain": words[0],
        "has_date": "date" in words,
        "has_time": "time" in words,
    }
    if "~" in words:
        info["approximate"] = True
    if "12h" in words:
        info["either_half_day"] = True
    assert dict(entity.additional_info or {}) == info
    assert entity.entity == "time"
    assert entity.extractor == "builtin"


# (message, span (SAME: the whole message), value, flags)
FRENCH = [
    ("vendredi prochain à 19h", SAME, t("2026-11-27 19:00"), "hour date time"),
    ("ce soir à 19h30", SAME, t("2026-11-21 19:30"), "minute date time"),
    ("après-demain 14h", SAME, t("2026-11-23 14:00"), "hour date time"),
    ("apres demain a 14h", SAME, t("2026-11-23 14:00"), "hour date time"),
    ("dans 2 heures", SAME, t("2026-11-21 17:00"), "minute date time"),
    ("demain soir vers 20h", SAME, t("2026-11-22 20:00"), "hour date time ~"),
    ("à 20h", SAME, t("2026-11-21 20:00"), "hour time"),
    ("20h30", SAME, t("2026-11-21 20:30"), "minute time"),
    ("19h", SAME, t("2026-11-21 19:00"), "hour time"),
    ("19:45", SAME, t("2026-11-21 19:45"), "minute time"),
    ("à 8h", SAME, t("2026-11-21 20:00"), "hour time 12h"),
    ("à 08h", SAME, t("2026-11-22 08:00"), "hour time"),
    ("à 7 heures du soir", SAME, t("2026-11-21 19:00"), "hour time"),
    ("à 2h du matin", SAME, t("2026-11-22 02:00"), "hour time"),
    ("huit heures et demie", SAME, t("2026-11-21 20:30"), "minute time 12h"),
    ("huit heures moins le quart", SAME, t("2026-11-21 19:45"), "minute time 12h"),
    ("vingt heures quinze", SAME, t("2026-11-21 20:15"), "minute time"),
    ("midi", SAME, t("2026-11-22 12:00"), "hour time"),
    ("minuit", SAME, t("2026-11-22 00:00"), "hour time"),
    ("minuit cinq", SAME, t("2026-11-22 00:05"), "minute time"),
    ("de 19 à 21h", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 21:00")), "hour time"),
    ("midi et demi", SAME, t("2026-11-22 12:30"), "minute time"),
    ("ce midi", SAME, t("2026-11-21 12:00"), "hour date time"),
    ("vers 20h", SAME, t("2026-11-21 20:00"), "hour time ~"),
    ("à 20h environ", SAME, t("2026-11-21 20:00"), "hour time ~"),
    ("le 3 décembre", SAME, t("2026-12-03 00:00"), "day date"),
    ("le 1er janvier", SAME, t("2027-01-01 00:00"), "day date"),
    ("lundi 3 décembre 2026", SAME, t("2026-12-03 00:00"), "day date"),
    ("3/12", SAME, t("2026-12-03 00:00"), "day date"),
    ("le 25/12/2026", SAME, t("2026-12-25 00:00"), "day date"),
    ("2026-12-03", SAME, t("2026-12-03 00:00"), "day date"),
    ("lundi", SAME, t("2026-11-23 00:00"), "day date"),
    ("samedi", SAME, t("2026-11-28 00:00"), "day date"),
    ("ce samedi", SAME, t("2026-11-21 00:00"), "day date"),
    ("mercredi en huit", SAME, t("2026-12-02 00:00"), "day date"),
    ("vendredi de la semaine prochaine", SAME, t("2026-11-27 00:00"), "day date"),
    ("aujourd'hui", SAME, t("2026-11-21 00:00"), "day date"),
    ("demain", SAME, t("2026-11-22 00:00"), "day date"),
    ("dans 3 jours", SAME, t("2026-11-24 00:00"), "day date"),
    ("dans 2 semaines", SAME, t("2026-12-05 00:00"), "day date"),
    ("dans une demi-heure", SAME, t("2026-11-21 15:30"), "minute date time"),
    ("dans 1h30", SAME, t("2026-11-21 16:30"), "minute date time"),
    ("samedi 16 à 18h", SAME, t("2027-01-16 18:00"), "hour date time"),
    ("le 16 à 18h", SAME, t("2026-12-16 18:00"), "hour date time"),
    ("en décembre", SAME, t("2026-12-01 00:00"), "month date"),
    ("la semaine prochaine", SAME, t("2026-11-23 00:00"), "week date"),
    ("le mois prochain", SAME, t("2026-12-01 00:00"), "month date"),
    ("l'année prochaine", SAME, t("2027-01-01 00:00"), "year date"),
    ("ce soir", SAME, ivl(t("2026-11-21 18:00"), t("2026-11-22 00:00")), "hour date"),
    ("demain matin", SAME, ivl(t("2026-11-22 06:00"), t("2026-11-22 12:00")), "hour date"),
    ("demain dans la soirée", SAME, ivl(t("2026-11-22 18:00"), t("2026-11-23 00:00")), "hour date"),
    ("cet après-midi", SAME, ivl(t("2026-11-21 12:00"), t("2026-11-21 18:00")), "hour date"),
    ("ce week-end", SAME, ivl(t("2026-11-21 00:00"), t("2026-11-23 00:00")), "day date"),
    ("le week-end prochain", SAME, ivl(t("2026-11-28 00:00"), t("2026-11-30 00:00")), "day date"),
    ("de 19h à 21h", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 21:00")), "hour time"),
    ("entre 19h et 20h30", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 20:30")), "minute time"),
    ("demain de 12h à 14h", SAME, ivl(t("2026-11-22 12:00"), t("2026-11-22 14:00")), "hour date time"),
    ("du lundi au mercredi", SAME, ivl(t("2026-11-23 00:00"), t("2026-11-26 00:00")), "day date"),
    ("du 3 au 5 décembre", SAME, ivl(t("2026-12-03 00:00"), t("2026-12-06 00:00")), "day date"),
    # in context: the time is found among other words, with its own offsets
    ("je voudrais réserver pour 4 personnes demain soir à 20h", "demain soir à 20h",
     t("2026-11-22 20:00"), "hour date time"),
    ("une table pour 8 vendredi prochain à 19h svp", "vendredi prochain à 19h",
     t("2026-11-27 19:00"), "hour date time"),
    ("C'est possible DEMAIN À 13H ?", "DEMAIN À 13H", t("2026-11-22 13:00"), "hour date time"),
]  # fmt: skip

ENGLISH = [
    ("tonight at 9", SAME, t("2026-11-21 21:00"), "hour date time"),
    ("next friday 7pm", SAME, t("2026-11-27 19:00"), "hour date time"),
    ("in 20 minutes", SAME, t("2026-11-21 15:20"), "minute date time"),
    ("in half an hour", SAME, t("2026-11-21 15:30"), "minute date time"),
    ("2 hours from now", SAME, t("2026-11-21 17:00"), "minute date time"),
    ("tomorrow at 8pm", SAME, t("2026-11-22 20:00"), "hour date time"),
    ("tomorrow at 8", SAME, t("2026-11-22 08:00"), "hour date time 12h"),
    ("today at 8", SAME, t("2026-11-21 20:00"), "hour date time 12h"),
    ("8:30 pm", SAME, t("2026-11-21 20:30"), "minute time"),
    ("8.30pm", SAME, t("2026-11-21 20:30"), "minute time"),
    ("7pm", SAME, t("2026-11-21 19:00"), "hour time"),
    ("7 p.m.", SAME, t("2026-11-21 19:00"), "hour time"),
    ("at 11am", SAME, t("2026-11-22 11:00"), "hour time"),
    ("at 8", SAME, t("2026-11-21 20:00"), "hour time 12h"),
    ("at 3:30", SAME, t("2026-11-21 15:30"), "minute time 12h"),
    ("at noon", SAME, t("2026-11-22 12:00"), "hour time"),
    ("midnight", SAME, t("2026-11-22 00:00"), "hour time"),
    ("at eight o'clock", SAME, t("2026-11-21 20:00"), "hour time 12h"),
    ("seven thirty pm", SAME, t("2026-11-21 19:30"), "minute time"),
    ("a quarter past eight", SAME, t("2026-11-21 20:15"), "minute time 12h"),
    ("half past 7", SAME, t("2026-11-21 19:30"), "minute time 12h"),
    ("ten to nine", SAME, t("2026-11-21 20:50"), "minute time 12h"),
    ("a quarter to noon", SAME, t("2026-11-22 11:45"), "minute time"),
    ("around 8pm", SAME, t("2026-11-21 20:00"), "hour time ~"),
    ("around 8", SAME, t("2026-11-21 20:00"), "hour time ~ 12h"),
    ("what about 9?", "about 9", t("2026-11-21 21:00"), "hour time ~ 12h"),
    ("roughly 7:30", SAME, t("2026-11-21 19:30"), "minute time ~ 12h"),
    ("8ish", SAME, t("2026-11-21 20:00"), "hour time ~ 12h"),
    ("8 tonight", SAME, t("2026-11-21 20:00"), "hour date time"),
    ("at 7 tonight", SAME, t("2026-11-21 19:00"), "hour date time"),
    # the party size of "for 2 tonight" is not "2 tonight" (2 pm): the time is what follows
    ("a table for 2 tonight at 9", "tonight at 9", t("2026-11-21 21:00"), "hour date time"),
    ("a party of 4 tonight at 8", "tonight at 8", t("2026-11-21 20:00"), "hour date time"),
    ("eight this evening", SAME, t("2026-11-21 20:00"), "hour date time"),
    ("at 8pm on friday", SAME, t("2026-11-27 20:00"), "hour date time"),
    ("in 2 days at 8pm", SAME, t("2026-11-23 20:00"), "hour date time"),
    ("December 3rd", SAME, t("2026-12-03 00:00"), "day date"),
    ("the 3rd of December", SAME, t("2026-12-03 00:00"), "day date"),
    ("Monday, December 7", SAME, t("2026-12-07 00:00"), "day date"),
    ("on May 3rd", SAME, "2027-05-03T00:00:00+02:00", "day date"),
    ("3/12", SAME, t("2027-03-12 00:00"), "day date"),
    ("12/25/2026", SAME, t("2026-12-25 00:00"), "day date"),
    ("25/12", SAME, t("2026-12-25 00:00"), "day date"),
    ("2026-12-03", SAME, t("2026-12-03 00:00"), "day date"),
    ("on Monday", SAME, t("2026-11-23 00:00"), "day date"),
    ("friday", SAME, t("2026-11-27 00:00"), "day date"),
    ("friday after next", SAME, t("2026-12-04 00:00"), "day date"),
    ("on sat", SAME, t("2026-11-28 00:00"), "day date"),
    ("Tuesday the 24th", SAME, t("2026-11-24 00:00"), "day date"),
    ("on the 15th at 7pm", SAME, t("2026-12-15 19:00"), "hour date time"),
    ("today", SAME, t("2026-11-21 00:00"), "day date"),
    ("tomorrow", SAME, t("2026-11-22 00:00"), "day date"),
    ("the day after tomorrow", SAME, t("2026-11-23 00:00"), "day date"),
    ("in 3 days", SAME, t("2026-11-24 00:00"), "day date"),
    ("in 2 months", SAME, t("2027-01-21 00:00"), "day date"),
    ("next week", SAME, t("2026-11-23 00:00"), "week date"),
    ("next month", SAME, t("2026-12-01 00:00"), "month date"),
    ("in December", SAME, t("2026-12-01 00:00"), "month date"),
    ("tonight", SAME, ivl(t("2026-11-21 18:00"), t("2026-11-22 00:00")), "hour date"),
    ("this evening", SAME, ivl(t("2026-11-21 18:00"), t("2026-11-22 00:00")), "hour date"),
    ("tomorrow morning", SAME, ivl(t("2026-11-22 06:00"), t("2026-11-22 12:00")), "hour date"),
    ("tomorrow night", SAME, ivl(t("2026-11-22 18:00"), t("2026-11-23 00:00")), "hour date"),
    ("this weekend", SAME, ivl(t("2026-11-21 00:00"), t("2026-11-23 00:00")), "day date"),
    ("between 7 and 8pm", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 20:00")), "hour time"),
    ("from 7 to 9", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 21:00")), "hour time"),
    ("between seven and nine", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 21:00")), "hour time"),
    ("five to nine", SAME, t("2026-11-21 20:55"), "minute time 12h"),
    ("20 minutes to 9", SAME, t("2026-11-21 20:40"), "minute time 12h"),
    ("20 past 3pm", SAME, t("2026-11-21 15:20"), "minute time"),
    ("within 2 hours", SAME, t("2026-11-21 17:00"), "minute date time"),
    ("7-9pm", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-21 21:00")), "hour time"),
    ("from 7pm to 2am", SAME, ivl(t("2026-11-21 19:00"), t("2026-11-22 02:00")), "hour time"),
    ("from Monday to Wednesday", SAME, ivl(t("2026-11-23 00:00"), t("2026-11-26 00:00")), "day date"),
    ("I'd like a table for 4 tomorrow at 8pm please", "tomorrow at 8pm",
     t("2026-11-22 20:00"), "hour date time"),
    ("we are 3 at 7:30", "at 7:30", t("2026-11-21 19:30"), "minute time 12h"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "span", "value", "flags"), FRENCH)
def test_french(text: str, span: str | None, value: Any, flags: str) -> None:
    check(text, "fr", span, value, flags)


@pytest.mark.parametrize(("text", "span", "value", "flags"), ENGLISH)
def test_english(text: str, span: str | None, value: Any, flags: str) -> None:
    check(text, "en", span, value, flags)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ce soir à 19h30", "2026-11-21T19:30:00+01:00"),
        ("tomorrow at 8pm", "2026-11-22T20:00:00+01:00"),
        ("3/12", "2026-12-03T00:00:00+01:00"),  # unknown language: day/month
        ("1/2", "2027-02-01T00:00:00+01:00"),
        ("12/25", "2026-12-25T00:00:00+01:00"),  # 25 cannot be a month
    ],
)
def test_unknown_language_uses_both_grammars(text: str, value: str) -> None:
    [entity] = times(text, "xx")
    assert entity.value == value


# ---- future bias ------------------------------------------------------------------------------


def test_clock_time_already_past_today_is_tomorrow() -> None:
    evening = datetime(2026, 11, 21, 21, 0, tzinfo=PARIS)
    check("at 8pm", "en", SAME, t("2026-11-22 20:00"), "hour time", now=evening)
    check("à 20h", "fr", SAME, t("2026-11-22 20:00"), "hour time", now=evening)
    # an ambiguous hour takes its next occurrence: 08:00 tomorrow once 20:00 has passed
    check("at 8", "en", SAME, t("2026-11-22 08:00"), "hour time 12h", now=evening)


def test_tonight_interval_is_today_even_when_started() -> None:
    evening = datetime(2026, 11, 21, 21, 0, tzinfo=PARIS)
    value = ivl(t("2026-11-21 18:00"), t("2026-11-22 00:00"))
    check("tonight", "en", SAME, value, "hour date", now=evening)


@pytest.mark.parametrize(
    ("text", "lang", "value"),
    [
        # said on Friday 2026-11-20: a bare or "next" weekday is strictly after today (Duckling)
        ("friday", "en", "2026-11-27T00:00:00+01:00"),
        ("next friday", "en", "2026-11-27T00:00:00+01:00"),
        ("vendredi prochain", "fr", "2026-11-27T00:00:00+01:00"),
        ("next saturday", "en", "2026-11-21T00:00:00+01:00"),
        ("samedi prochain", "fr", "2026-11-21T00:00:00+01:00"),
        # "this"/"ce" includes today
        ("this friday", "en", "2026-11-20T00:00:00+01:00"),
        ("ce vendredi", "fr", "2026-11-20T00:00:00+01:00"),
        # "friday next week" is the Friday of the next Monday-based week
        ("friday next week", "en", "2026-11-27T00:00:00+01:00"),
        ("samedi de la semaine prochaine", "fr", "2026-11-28T00:00:00+01:00"),
    ],
)
def test_weekday_conventions(text: str, lang: str, value: str) -> None:
    friday = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
    [entity] = times(text, lang, friday)
    assert entity.value == value


def test_next_weekend_on_a_weekday_is_the_coming_one() -> None:
    friday = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
    [entity] = times("next weekend", "en", friday)
    assert entity.value == ivl("2026-11-21T00:00:00+01:00", "2026-11-23T00:00:00+01:00")


def test_date_already_past_this_year_is_next_year() -> None:
    [entity] = times("le 3 mars", "fr")
    assert entity.value == "2027-03-03T00:00:00+01:00"


# ---- daylight saving time (Europe/Paris: 2027-03-28 02:00 -> 03:00, 2027-10-31 03:00 -> 02:00) ----

BEFORE_SPRING = datetime(2027, 3, 27, 15, 0, tzinfo=PARIS)
BEFORE_AUTUMN = datetime(2027, 10, 30, 12, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "lang", "now", "value"),
    [
        ("tomorrow at 8pm", "en", BEFORE_SPRING, "2027-03-28T20:00:00+02:00"),  # wall clock
        ("demain à 20h", "fr", BEFORE_SPRING, "2027-03-28T20:00:00+02:00"),
        ("in 24 hours", "en", BEFORE_SPRING, "2027-03-28T16:00:00+02:00"),  # elapsed time
        ("dans 1 jour", "fr", BEFORE_SPRING, "2027-03-28T00:00:00+01:00"),  # calendar day
        ("demain à 2h30", "fr", BEFORE_SPRING, "2027-03-28T03:30:00+02:00"),  # 02:30 does not exist
        ("this weekend", "en", BEFORE_SPRING,
         ivl("2027-03-27T00:00:00+01:00", "2027-03-29T00:00:00+02:00")),
        ("demain matin", "fr", BEFORE_SPRING, ivl("2027-03-28T06:00:00+02:00", "2027-03-28T12:00:00+02:00")),
        ("dans 24 heures", "fr", BEFORE_AUTUMN, "2027-10-31T11:00:00+01:00"),
        ("tomorrow at 2:30am", "en", BEFORE_AUTUMN, "2027-10-31T02:30:00+02:00"),  # first of the two 02:30
        ("tomorrow at 8pm", "en", BEFORE_AUTUMN, "2027-10-31T20:00:00+01:00"),
    ],
)  # fmt: skip
def test_daylight_saving_changes(text: str, lang: str, now: datetime, value: Any) -> None:
    [entity] = times(text, lang, now)
    assert entity.value == value


def test_other_time_zones_are_kept() -> None:
    new_york = datetime(2026, 11, 21, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    [entity] = times("tomorrow at 8pm", "en", new_york)
    assert entity.value == "2026-11-22T20:00:00-05:00"


# ---- what is not a time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("for 4", "en"),
        ("a table for four", "en"),
        ("une table pour deux", "fr"),
        ("2 pizzas", "en"),
        ("I want italian food", "en"),
        ("je prends le 2", "fr"),
        ("at 8 people", "en"),
        ("may I book a table?", "en"),
        ("the sun is shining", "en"),
        ("mon ami arrive", "fr"),
        ("it costs 12.50", "en"),
        ("version 2.5", "en"),
        ("pendant 2h", "fr"),
        ("1h30", "fr"),
        ("we are 5 minutes late", "en"),
        ("in the evening", "en"),  # a part of day alone is too vague
        ("le soir", "fr"),
        ("06 12 34 56 78", "fr"),
        ("7 to 9", "en"),  # a range needs "from"/"between"
        ("the score was 7-9", "en"),
        ("2 and 3 people", "en"),
        ("a table for about 4", "en"),  # a party size, not 4 o'clock
        ("about 8 people", "en"),
        ("about two weeks", "en"),
    ],
)
def test_no_time(text: str, lang: str) -> None:
    assert times(text, lang) == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("in 99999999999999999999 days", "en"),  # raised OverflowError
        ("in 99999999 days", "en"),  # past year 9999
        ("in 9999 years", "en"),
        ("dans 99999999999999999999 minutes", "fr"),
        ("dans 10000 ans", "fr"),
    ],
)
def test_offsets_past_the_calendar_are_not_times(text: str, lang: str) -> None:
    assert times(text, lang) == []


def test_french_bare_a_number_is_not_a_clock_time() -> None:
    # "à 8" is also "we will be 8"; only "à 8h" / "à 8 heures" is a time
    [entity] = times("demain à 8", "fr")
    assert entity.text == "demain"


@pytest.mark.parametrize(
    ("text", "lang", "span"),
    [
        ("on sera 4 demain", "fr", "demain"),  # "a" ends "sera": it was 04:00 tomorrow
        ("on sera 6 samedi midi", "fr", "samedi midi"),  # it was 06:00 Saturday, and noon apart
        ("put it into 4 tomorrow", "en", "tomorrow"),  # "to" ends "into"
    ],
)
def test_a_range_word_is_a_whole_word(text: str, lang: str, span: str) -> None:
    assert [e.text for e in times(text, lang)] == [span]


def test_separate_expressions_stay_separate() -> None:
    found = times("demain pour 4 personnes, à 20h", "fr")
    assert [(e.text, e.value, (e.additional_info or {})["has_date"]) for e in found] == [
        ("demain", "2026-11-22T00:00:00+01:00", True),
        ("à 20h", "2026-11-21T20:00:00+01:00", False),
    ]
