"""The time dimension's grammar: regular expressions that find *atoms* in a message.

An atom is one self-contained piece of a time expression: a date ("vendredi prochain",
"December 3rd"), a clock time ("à 19h30", "half past 7"), a part of day ("soir", "in the
morning"), a date with a part of day ("tonight", "ce soir"), a period ("this weekend"), an
offset ("in 20 minutes"). `datetimes.py` then joins adjacent atoms ("demain" + "soir" +
"vers 20h") and resolves them against `now`. Splitting the work this way keeps the patterns
small: "vendredi prochain à 19h" needs no pattern of its own.

All patterns run on folded text (see `_text.fold`). One alternation per language set is
compiled at import; each alternative's group names are prefixed with the alternative's
name so that one `re.Match` says which alternative matched (`lastgroup`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from plaza.nlu.builtin import time_words as tw
from plaza.nlu.builtin._text import GRAMMAR_LANGUAGES, Doc, FirstCharDispatch, trie_regex
from plaza.nlu.builtin.durations import DurationMatch, find_durations, match_at
from plaza.nlu.builtin.numbers import LEXICONS, parse_number_words, word_number_pattern
from plaza.nlu.builtin.time_calendar import DateSpec, DayMonth, MonthShift, RelDay, Weekday


@dataclass(frozen=True, slots=True)
class Clock:
    """A time of day. `ambiguous`: a 12-hour reading is possible ("8" -> 08:00 or 20:00)."""

    hour: int
    minute: int
    ambiguous: bool
    minute_said: bool


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar unit around today: unit in weekend/week/month/year, `shift` 0 = this, 1 = next."""

    unit: str
    shift: int = 0
    month: int | None = None
    year: int | None = None


@dataclass(slots=True)
class Atom:
    start: int
    end: int
    core: int
    """Where the expression starts after a leading preposition ("à", "at", "on", "le")."""
    date: DateSpec | None = None
    clock: Clock | None = None
    pod: str | None = None
    period: Period | None = None
    offset: DurationMatch | None = None
    approx: bool = False
    weak: bool = False
    """Meaningful only next to other atoms: a bare hour in "between 7 and 8pm", "le 16"."""
    slots: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        slots = []
        if self.date is not None:
            slots.append("date")
        if self.clock is not None:
            slots.append("clock")
        if self.pod is not None:
            slots.append("pod")
        if self.period is not None:
            slots.append("period")
        if self.offset is not None:
            slots.append("offset")
        self.slots = frozenset(slots)


class _G:
    """Group access for one alternative: `g["h"]` reads group `<alt>_h` (None if it has none)."""

    __slots__ = ("indices", "m")

    def __init__(self, m: re.Match[str], indices: Mapping[str, int]) -> None:
        self.m = m
        self.indices = indices

    def __getitem__(self, key: str) -> str | None:
        index = self.indices.get(key)
        return None if index is None else self.m.group(index)

    def start(self, key: str) -> int:
        return self.m.start(self.indices[key])


Handler = Callable[[_G, re.Match[str]], Atom | None]

_APPROX: Final = frozenset(
    {
        "around", "about", "at around", "at about", "approximately", "approx", "roughly",
        "vers", "vers les", "environ", "a environ", "aux alentours de", "autour de", "sur les",
    }
)  # fmt: skip
_NUMBERISH_AFTER: Final = (
    r"(?!\s*(?:%|people|persons?|guests?|pax|of\s+us|euros?|dollars?|pounds?|minutes?|mins?|hours?|hrs?"
    r"|days?|weeks?|months?|years?|percent|kids|children|adults?|covers?|seats?|tables?|pizzas?))"
)
_AFTER_DAY_NUMBER: Final = (
    r"(?!\s*(?:h(?![a-z])|heures?|:|/|\d|[.,]\d|euros?|%|personnes?|pers\b|couverts?|people|persons?|guests?"
    r"|pax|am\b|pm\b|o'?clock))"
)


def _spaces(text: str) -> str:
    return " ".join(text.split())


def _rename(name: str, pattern: str) -> str:
    pattern = re.sub(r"\(\?P<(\w+)>", lambda m: f"(?P<{name}_{m.group(1)}>", pattern)
    return re.sub(r"\(\?P=(\w+)\)", lambda m: f"(?P={name}_{m.group(1)})", pattern)


def _hour_clock(
    h: int, minute: int, ampm: str | None, *, leading_zero: bool, minute_said: bool
) -> Clock | None:
    if ampm:
        if not 1 <= h <= 12 or minute > 59:
            return None
        return Clock(h % 12 + (12 if ampm == "p" else 0), minute, False, minute_said)
    if h > 23 or minute > 59:
        return None
    return Clock(h, minute, 1 <= h <= 11 and not leading_zero, minute_said)


def _shift(clock: Clock, minutes: int) -> Clock:
    total = (clock.hour * 60 + clock.minute + minutes) % (24 * 60)
    return Clock(total // 60, total % 60, clock.ambiguous, True)


class Grammar:
    """The atom grammar for one language ("en", "fr") or both ("*")."""

    def __init__(self, langs: tuple[str, ...]) -> None:
        self.langs = langs
        self.en = "en" in langs
        self.fr = "fr" in langs
        self.weekdays = {w: d for code in langs for w, d in tw.WEEKDAYS[code].items()}
        self.months = {w: n for code in langs for w, n in tw.MONTHS[code].items()}
        self.pods = {w: p for code in langs for w, p in tw.POD_WORDS[code].items()}
        self._alternatives: list[str] = []
        self._handlers: dict[str, Handler] = {}
        self._indices: dict[int, dict[str, dict[str, int]]] = {}
        self._build()
        self.pattern = FirstCharDispatch(self._alternatives)
        self.triggers = self._triggers()
        self.starters = self._starters()

    def _group_indices(self, pattern: re.Pattern[str]) -> Mapping[str, Mapping[str, int]]:
        """Alternative -> {short group name -> group index} for one compiled sub-pattern."""
        cached = self._indices.get(id(pattern))  # Pattern.__hash__ hashes the whole program
        if cached is None:
            cached = {}
            for full, index in pattern.groupindex.items():
                alt, _, short = full.partition("_")
                if short:
                    cached.setdefault(alt, {})[short] = index
                else:
                    cached.setdefault(alt, {})
            self._indices[id(pattern)] = cached
        return cached

    # ----------------------------------------------------------------------------------------
    def _add(self, name: str, pattern: str, handler: Handler) -> None:
        body = _rename(name, pattern)
        self._alternatives.append(rf"(?P<{name}>(?<![\w']){body}(?![a-z0-9]))")
        self._handlers[name] = handler

    def _triggers(self) -> frozenset[str]:
        words = set(self.weekdays) | set(self.months) | set(self.pods)
        words |= {w.split("-")[0] for w in self.pods}
        if self.en:
            words |= {
                "today", "tonight", "tonite", "tomorrow", "tmrw", "tomorow", "tommorow", "tommorrow",
                "yesterday", "noon", "midnight", "midday", "oclock", "clock", "quarter", "half", "past",
                "weekend", "weekends", "week", "month", "year", "in", "within", "from", "later",
                "mon", "tue", "wed", "weds", "thu", "thur", "sat", "sun", "am", "pm", "a", "p",
                "at", "ish", "first", "second", "third",
            }  # fmt: skip
            words |= set(tw.EN_HOUR_WORDS)
        if self.fr:
            words |= {
                "aujourd", "aujourdhui", "demain", "hier", "apres", "avant", "midi", "minuit", "ce",
                "cet", "cette", "week", "semaine", "mois", "annee", "dans", "ici", "heure", "heures",
                "h", "plus", "jour", "end",
            }  # fmt: skip
            words |= {w.split(" ")[0].split("-")[0] for w in tw.FR_HOUR_WORDS}
        return frozenset(words)

    def _starters(self) -> frozenset[str]:
        """Every word an alternative can start with (see `Doc.scan`); a superset is harmless."""
        words: set[str] = set(self.triggers) | set(tw.WEEKDAY_ABBREVIATIONS_EN)
        lexicons = (
            tw.EN_HOUR_WORDS,
            tw.EN_MINUTE_WORDS,
            tw.FR_HOUR_WORDS,
            tw.FR_MINUTE_WORDS,
            tw.ORDINAL_DAYS_EN,
        )
        for lexicon in (*lexicons, self.pods, LEXICONS["fr"]):
            words |= {w.split(" ")[0].split("-")[0] for w in lexicon}
        words |= {
            "at", "around", "about", "approximately", "roughly", "on", "the", "this", "next", "coming",
            "in", "during", "day", "a", "last", "from", "between", "over", "environ", "vers", "aux",
            "autour", "sur", "le", "du", "au", "ce", "cet", "cette", "la", "l", "en", "dans", "tard", "tot",
            "premier", "de", "entre", "des", "weekend", "weekends",
        }  # fmt: skip
        return frozenset(words)

    # ----------------------------------------------------------------------------------------
    def _build(self) -> None:  # noqa: PLR0915 - one place lists every pattern, in priority order
        weekdays = trie_regex(self.weekdays)
        months = trie_regex(self.months)
        en_hour_words = trie_regex(tw.EN_HOUR_WORDS)
        en_minute_words = trie_regex(w for w in tw.EN_MINUTE_WORDS if w not in ("quarter", "half"))
        fr_hour_words = trie_regex(tw.FR_HOUR_WORDS)
        fr_minute_words = trie_regex(tw.FR_MINUTE_WORDS)
        fr_fractions = trie_regex(tw.FR_FRACTIONS)
        ordinal_days = trie_regex(tw.ORDINAL_DAYS_EN)
        ampm = r"(?P<ap>[ap])(?:\.\s?|\s)?m(?![a-z])\.?"
        pre_en = r"(?:(?P<pre>(?:at\s+)?(?:around|about)|approximately|roughly|at|@)\s*)?"
        pre_fr = (
            r"(?:(?P<pre>a\s+environ|environ|vers(?:\s+les)?|aux\s+alentours\s+de|autour\s+de"
            r"|sur\s+les|a)\s+)?"
        )
        pre_both = (
            r"(?:(?P<pre>(?:at\s+)?(?:around|about)|approximately|roughly|at|@|a\s+environ|environ"
            r"|vers(?:\s+les)?|aux\s+alentours\s+de|autour\s+de|sur\s+les|a)\s*)?"
        )
        pre = {(True, False): pre_en, (False, True): pre_fr}.get((self.en, self.fr), pre_both)
        pod_suffix = (
            r"(?:\s+(?P<pod>du\s+mat(?:in)?|du\s+soir|de\s+l'apres[- ]midi|de\s+l'aprem|de\s+la\s+nuit))?"
        )
        hour_unit = r"h|heures?" if self.fr else r"h"
        self.iso(r"(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?![\d/-])")
        # ---- clock times (most specific first)
        if self.en:
            self._add(
                "ampm",
                rf"{pre}(?P<h>\d{{1,2}})(?:[:.](?P<m>[0-5]\d))?\s*{ampm}",
                self._ampm,
            )
            self._add(
                "ampmw",
                rf"{pre}(?P<hw>{en_hour_words})(?:[\s-]+(?P<mw>{en_minute_words}))?\s*{ampm}",
                self._ampm,
            )
            self._add(
                "oclock",
                rf"{pre}(?P<h>\d{{1,2}}|{en_hour_words})\s*o'?\s?clock(?:\s*{ampm})?",
                self._oclock,
            )
            self._add(
                "rel",
                # "five to nine" is 8:55 but "from five to nine" a range; "7 to 9" needs "minutes"
                rf"(?<!from )(?<!between ){pre}(?:(?:a\s+)?(?P<q>quarter|half)|(?P<n>{en_minute_words})"
                rf"(?:\s+minutes?)?|(?P<nd>\d{{1,2}})(?:\s+(?P<mins>minutes?)|(?=\s+(?:past|after)\s)))"
                rf"\s+(?P<rel>past|after|to|before|till|til)\s+(?P<h>\d{{1,2}}|{en_hour_words}|noon|midnight)"
                rf"(?:\s*{ampm})?",
                self._rel,
            )
            self._add("noon", rf"{pre}(?:12\s+)?(?P<n>noon|midnight|midday)", self._noon)
        self._add(
            "colon",
            rf"{pre}(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?![\d:])(?:\s*(?P<env>environ))?",
            self._colon,
        )
        self._add(
            "hform",
            rf"{pre}(?P<h>[01]?\d|2[0-3])\s*(?P<u>{hour_unit})(?![a-z])"
            rf"(?:\s*(?P<m>[0-5]\d)(?!\d)(?:\s*(?:min(?:utes?)?|mn)(?![a-z]))?"
            + (
                rf"|\s+(?P<mw>{fr_minute_words})(?:\s+minutes?)?(?![a-z-])|\s+(?P<frac>{fr_fractions})"
                if self.fr
                else ""
            )
            + rf")?{pod_suffix if self.fr else ''}(?:\s*(?P<env>environ))?",
            self._hform,
        )
        if self.fr:
            self._add(
                "hwords",
                rf"{pre}(?P<hw>{fr_hour_words})\s+heures?(?![a-z])"
                rf"(?:\s+(?P<m>[0-5]\d)(?!\d)|\s+(?P<mw>{fr_minute_words})(?:\s+minutes?)?(?![a-z-])"
                rf"|\s+(?P<frac>{fr_fractions}))?{pod_suffix}",
                self._hform,
            )
            self._add(
                "midi",
                rf"{pre}(?P<n>midi|minuit)(?:\s+(?P<frac>{fr_fractions})|\s+(?P<mw>{fr_minute_words})(?![a-z-])"
                r"|\s*(?P<m>[0-5]\d)(?!\d))?",
                self._midi,
            )
        if self.en:
            self._add(
                "at",
                rf"(?<!for )(?P<pre>at\s+around|at\s+about|around|about|approximately|roughly|at|@)"
                rf"\s*(?P<h>\d{{1,2}}|{en_hour_words})"
                rf"(?:(?:\s+|:)(?P<m>[0-5]\d)|[\s-]+(?P<mw>{en_minute_words}))?(?P<ish>\s*-?ish)?"
                rf"(?![\w:.,/]|\s*\d){_NUMBERISH_AFTER}",
                self._at,
            )
            self._add("ish", r"(?P<h>\d{1,2})(?P<ish>\s*-?ish)", self._at)
            self._add(
                "podhour",  # "8 tonight", but not the party of "a table for 2 tonight"
                rf"(?<!for )(?<!of )(?P<h>\d{{1,2}}|{en_hour_words})(?:[:.](?P<m>[0-5]\d))?"
                r"(?=\s+(?:tonight|tonite"
                r"|this\s+(?:evening|morning|afternoon)|in\s+the\s+(?:evening|morning|afternoon)|at\s+night"
                r"|(?:tomorrow|today)\s+(?:morning|evening|afternoon|night)))",
                self._at,
            )
        weak_words = f"|{en_hour_words}" if self.en else ""
        self._add(
            "weakhour",
            r"(?:(?<=\bfrom )|(?<=\bbetween )|(?<=\bde )|(?<=\bentre )|(?<=\bdu )|(?<=\bdes ))"
            rf"(?P<h>\d{{1,2}}{weak_words})(?:[:.](?P<m>[0-5]\d))?"
            rf"(?=\s*(?:-|to|and|till|until|a|et|jusqu'a)\s*(?:\d|noon|midi|midnight|minuit{weak_words}))",
            self._weak_hour,
        )
        self._add(
            "weakend",  # the bare end of a range: "from 7 to 9", "entre 19 et 21"
            # whole words only: "on sera 4 demain" is a party of 4, not 4:00 after "a"
            r"(?:(?<=\bto )|(?<=\band )|(?<=\btill )|(?<=\buntil )|(?<=\ba )|(?<=\bet )|(?<=\bjusqu'a ))"
            rf"(?P<h>\d{{1,2}}{weak_words})(?:[:.](?P<m>[0-5]\d))?(?![\d:.,/])" + _NUMBERISH_AFTER,
            self._weak_hour,
        )
        self._add(
            "dashhour",
            r"(?P<h>\d{1,2})(?:[:.](?P<m>[0-5]\d))?(?=\s*-\s*\d{1,2}(?:[:.h][0-5]\d)?\s*(?:[ap]\.?\s?m|h))",
            self._weak_hour,
        )
        # ---- dates
        if self.en:
            self._add(
                "edm",
                rf"(?:(?P<pre>on)\s+)?(?:(?P<dow>{weekdays}),?\s+)?(?:the\s+)?"
                rf"(?:(?P<d>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dw>{ordinal_days}))(?:\s+of)?\s+(?P<mon>{months})\.?"
                r"(?:,?\s+(?P<y>\d{4}))?",
                self._day_month,
            )
            self._add(
                "emd",
                rf"(?:(?P<pre>on)\s+)?(?:(?P<dow>{weekdays}),?\s+)?(?P<mon>{months})\.?\s+(?:the\s+)?"
                rf"(?:(?P<d>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dw>{ordinal_days}))(?![a-z0-9:.]){_AFTER_DAY_NUMBER}"
                r"(?:,?\s+(?P<y>\d{4})(?![\d:]))?",
                self._day_month,
            )
        if self.fr:
            self._add(
                "fdm",
                rf"(?:(?P<pre>le|du|au)\s+)?(?:(?P<dow>{weekdays})\s+)?"
                rf"(?:(?P<d>\d{{1,2}})(?:er)?|(?P<dw>premier|{word_number_pattern(('fr',))}))"
                rf"\s+(?P<mon>{months})\.?(?:\s+(?P<y>\d{{4}}))?",
                self._day_month,
            )
        self._add(
            "slash",
            r"(?:(?P<pre>on|le)\s+)?(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?(?![\d/])",
            self._slash,
        )
        if self.en:
            self._add(
                "edowday",
                rf"(?:(?P<pre>on|this|next)\s+)?(?P<dow>{weekdays}),?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)",
                self._dow_day,
            )
            self._add(
                "edow",
                rf"(?:(?P<pre>on\s+next|on\s+this|on|this\s+coming|this|next|coming)\s+)?(?P<dow>{weekdays})"
                r"(?:\s+(?P<post>after\s+next|of\s+next\s+week|next\s+week|of\s+this\s+week|this\s+week))?",
                self._weekday,
            )
            abbreviations = trie_regex(tw.WEEKDAY_ABBREVIATIONS_EN)
            self._add(
                "eabbr",
                rf"(?P<pre>on\s+next|on\s+this|on|this|next)\s+(?P<dow>{abbreviations})\.?",
                self._weekday,
            )
            self._add(
                "erel",
                r"(?P<w>(?:the\s+)?day\s+after\s+tomorrow|(?:the\s+)?day\s+before\s+yesterday|today"
                r"|tomorrow|tmrw|tomorow|tommorow|tommorrow|yesterday)",
                self._rel_day,
            )
            self._add(
                "etonight",
                r"(?P<w>tonight|tonite|this\s+(?:morning|afternoon|evening|lunchtime))",
                self._this_pod,
            )
            self._add(
                "ethe",
                rf"(?:(?P<pre>on)\s+)?the\s+(?:(?P<d>\d{{1,2}})(?:st|nd|rd|th)|(?P<dw>{ordinal_days}))",
                self._the_day,
            )
            self._add(
                "eweekend",
                r"(?:(?P<pre>this\s+coming|this|next|the|over\s+the|on\s+the|coming)\s+)?week-?ends?",
                self._weekend,
            )
            self._add(
                "eunit",
                r"(?P<pre>this|next|the\s+following|coming|last)\s+(?P<u>week|month|year)",
                self._unit,
            )
            self._add(
                "emonth",
                rf"(?:(?P<pre>in|during)\s+(?P<mon>{months})(?:\s+(?P<y>\d{{4}}))?|(?P<mon2>{months})\s+(?P<y2>\d{{4}}))",
                self._month,
            )
            self._add(
                "epod",
                r"(?:(?P<pre>in\s+the|during\s+the|at|this)\s+)?(?P<w>morning|afternoon|evening|night|lunchtime|lunch\s+time)",
                self._pod,
            )
        if self.fr:
            self._add(
                "fdowday",
                rf"(?:(?P<pre>le|ce)\s+)?(?P<dow>{weekdays})\s+(?P<d>\d{{1,2}}|1er)(?![\w]){_AFTER_DAY_NUMBER}",
                self._dow_day,
            )
            self._add(
                "fdow",
                rf"(?:(?P<pre>ce|le)\s+)?(?P<dow>{weekdays})(?:\s+(?P<post>prochain|qui\s+vient|suivant"
                r"|d'apres|en\s+huit|en\s+8|en\s+quinze|en\s+15|de\s+la\s+semaine\s+prochaine"
                r"|la\s+semaine\s+prochaine|de\s+la\s+semaine\s+suivante|de\s+cette\s+semaine|cette\s+semaine))?",
                self._weekday,
            )
            self._add(
                "frel",
                r"(?P<w>apres[- ]demain|aujourd'hui|aujourdhui|demain|avant[- ]hier|hier)",
                self._rel_day,
            )
            self._add(
                "fthis",
                r"(?P<w>ce\s+soir|ce\s+matin|cet\s+apres[- ]midi|cette\s+apres[- ]midi|cet\s+aprem"
                r"|cette\s+nuit|cette\s+soiree|cette\s+matinee|ce\s+midi)",
                self._this_pod,
            )
            self._add(
                "fle",
                rf"(?P<pre>le|du)\s+(?P<d>\d{{1,2}}|1er)(?![\w/:.,]){_AFTER_DAY_NUMBER}",
                self._the_day,
            )
            self._add(
                "fweekend",
                r"(?:(?P<pre>ce|le|ce\s+prochain|le\s+prochain)\s+)?week-?end(?:\s+(?P<post>prochain|qui\s+vient))?",
                self._weekend,
            )
            self._add(
                "funit",
                r"(?P<pre>cette|la|le|ce|l')\s*(?P<u>semaine|mois|annee)(?:\s+(?P<post>prochaine?|qui\s+vient"
                r"|suivante?|derniere?)|-(?P<ci>ci))?",
                self._unit,
            )
            self._add(
                "fmonth",
                rf"(?:(?P<pre>en|au\s+mois\s+de|au\s+mois\s+d')\s*(?P<mon>{months})(?:\s+(?P<y>\d{{4}}))?"
                rf"|(?P<mon2>{months})\s+(?P<y2>\d{{4}}))",
                self._month,
            )
            self._add(
                "fpod",
                r"(?:(?P<pre>le|dans\s+la|en|l'|dans\s+l'|au|tard\s+le|tot\s+le)\s*)?"
                r"(?P<w>matinee|matin|apres[- ]midi|aprem|soiree|soir|nuit)",
                self._pod,
            )

    def iso(self, pattern: str) -> None:
        self._add("iso", pattern, self._iso)

    # ---- handlers ----------------------------------------------------------------------------
    def _atom(self, g: _G, m: re.Match[str], **kwargs: object) -> Atom:
        pre = g["pre"]
        core = m.start()
        approx = bool(g["env"]) or bool(g["ish"])
        if pre is not None:
            approx = approx or _spaces(pre) in _APPROX
            core = g.start("pre") + len(pre)
            while core < m.end() and m.string[core] in " @":
                core += 1
        return Atom(m.start(), m.end(), core, approx=approx, **kwargs)  # type: ignore[arg-type]

    def _iso(self, g: _G, m: re.Match[str]) -> Atom | None:
        year, month, day = int(g["y"] or 0), int(g["mo"] or 0), int(g["d"] or 0)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return self._atom(g, m, date=DayMonth(day, month, year))

    def _ampm(self, g: _G, m: re.Match[str]) -> Atom | None:
        if g["hw"] is not None:
            h = tw.EN_HOUR_WORDS[g["hw"] or ""]
            minute = tw.EN_MINUTE_WORDS[_spaces(g["mw"] or "")] if g["mw"] else 0
            said = g["mw"] is not None
        else:
            h, minute, said = int(g["h"] or 0), int(g["m"] or 0), g["m"] is not None
        clock = _hour_clock(h, minute, g["ap"], leading_zero=False, minute_said=said)
        return self._atom(g, m, clock=clock) if clock else None

    def _oclock(self, g: _G, m: re.Match[str]) -> Atom | None:
        text = g["h"] or ""
        h = int(text) if text.isdigit() else tw.EN_HOUR_WORDS[text]
        clock = _hour_clock(h, 0, g["ap"], leading_zero=text.startswith("0"), minute_said=False)
        return self._atom(g, m, clock=clock) if clock else None

    def _rel(self, g: _G, m: re.Match[str]) -> Atom | None:
        hour_text = g["h"] or ""
        if hour_text in ("noon", "midnight"):
            base: Clock | None = Clock(12 if hour_text == "noon" else 0, 0, False, False)
        else:
            h = int(hour_text) if hour_text.isdigit() else tw.EN_HOUR_WORDS[hour_text]
            base = _hour_clock(h, 0, g["ap"], leading_zero=hour_text.startswith("0"), minute_said=False)
        if base is None:
            return None
        q, n, digits = g["q"], g["n"], g["nd"]
        if q:
            minutes = tw.EN_MINUTE_WORDS[q]
        elif digits:
            minutes = int(digits)
        else:
            minutes = tw.EN_MINUTE_WORDS[_spaces(n or "")]
        if not 0 < minutes < 60 or (q == "half" and g["rel"] in ("to", "before", "till", "til")):
            return None
        offset = minutes if g["rel"] in ("past", "after") else -minutes
        return self._atom(g, m, clock=_shift(base, offset))

    def _noon(self, g: _G, m: re.Match[str]) -> Atom | None:
        hour = 0 if g["n"] == "midnight" else 12
        return self._atom(g, m, clock=Clock(hour, 0, False, False))

    def _colon(self, g: _G, m: re.Match[str]) -> Atom | None:
        text = g["h"] or ""
        clock = _hour_clock(
            int(text), int(g["m"] or 0), None, leading_zero=text.startswith("0"), minute_said=True
        )
        return self._atom(g, m, clock=clock) if clock else None

    def _hform(self, g: _G, m: re.Match[str]) -> Atom | None:
        if g["hw"] is not None:
            h, leading_zero = tw.FR_HOUR_WORDS[_spaces(g["hw"] or "")], False
        else:
            text = g["h"] or ""
            h, leading_zero = int(text), text.startswith("0")
        pod_text = g["pod"]
        pre = g["pre"]
        if pre is None and pod_text is None and h <= 5:
            return None  # "2h", "1h30", "deux heures": durations, unless "à 2h" / "2h du matin"
        if pre is None and _previous_word(m.string, m.start()) in (
            "pendant",
            "durant",
            "during",
            "en",
            "for",
        ):
            return None
        minute, said = 0, False
        if g["m"] is not None:
            minute, said = int(g["m"] or 0), True
        elif g["mw"] is not None:
            minute, said = tw.FR_MINUTE_WORDS[_spaces(g["mw"] or "")], True
        clock = _hour_clock(h, minute, None, leading_zero=leading_zero, minute_said=said)
        if clock is None:
            return None
        if g["frac"] is not None:
            clock = _shift(clock, tw.FR_FRACTIONS[_spaces(g["frac"] or "")])
        pod = None
        if pod_text is not None:
            pod = (
                "morning"
                if "mat" in pod_text
                else "afternoon"
                if "apres" in pod_text or "aprem" in pod_text
                else "evening"
            )
        return self._atom(g, m, clock=clock, pod=pod)

    def _midi(self, g: _G, m: re.Match[str]) -> Atom | None:
        clock = Clock(12 if g["n"] == "midi" else 0, 0, False, False)
        if g["frac"] is not None:
            clock = _shift(clock, tw.FR_FRACTIONS[_spaces(g["frac"] or "")])
        elif g["mw"] is not None:
            clock = _shift(clock, tw.FR_MINUTE_WORDS[_spaces(g["mw"] or "")])
        elif g["m"] is not None:
            clock = _shift(clock, int(g["m"] or 0))
        return self._atom(g, m, clock=clock)

    def _at(self, g: _G, m: re.Match[str]) -> Atom | None:
        text = g["h"] or ""
        h = int(text) if text.isdigit() else tw.EN_HOUR_WORDS[text]
        minute, said = 0, False
        if g["m"] is not None:
            minute, said = int(g["m"] or 0), True
        elif g["mw"] is not None:
            minute, said = tw.EN_MINUTE_WORDS[_spaces(g["mw"] or "")], True
        clock = _hour_clock(h, minute, None, leading_zero=text.startswith("0"), minute_said=said)
        return self._atom(g, m, clock=clock) if clock else None

    def _weak_hour(self, g: _G, m: re.Match[str]) -> Atom | None:
        text = g["h"] or ""
        minute = int(g["m"]) if g["m"] else 0
        hour = int(text) if text.isdigit() else tw.EN_HOUR_WORDS[text]
        clock = _hour_clock(hour, minute, None, leading_zero=text.startswith("0"), minute_said=bool(g["m"]))
        return Atom(m.start(), m.end(), m.start(), clock=clock, weak=True) if clock else None

    def _day_number(self, g: _G) -> int | None:
        if g["d"] is not None:
            return int(g["d"] or 0)
        word = _spaces(g["dw"] or "")
        if word in ("premier", "first"):
            return 1
        if word in tw.ORDINAL_DAYS_EN:
            return tw.ORDINAL_DAYS_EN[word]
        return parse_number_words(word, "fr")

    def _day_month(self, g: _G, m: re.Match[str]) -> Atom | None:
        day = self._day_number(g)
        month = self.months[g["mon"] or ""]
        year = int(g["y"]) if g["y"] else None
        if day is None or not 1 <= day <= 31:
            return None
        return self._atom(g, m, date=DayMonth(day, month, year))

    def _slash(self, g: _G, m: re.Match[str]) -> Atom | None:
        a, b = int(g["a"] or 0), int(g["b"] or 0)
        year_text = g["y"]
        if g["sep"] == "." and year_text is None:
            return None  # "12.5" is a number, "8.30" a time
        month_first = self.langs == ("en",)
        if a > 12 >= b:
            month_first = False
        elif b > 12 >= a:
            month_first = True
        month, day = (a, b) if month_first else (b, a)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        year = None
        if year_text is not None:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return self._atom(g, m, date=DayMonth(day, month, year))

    def _dow_day(self, g: _G, m: re.Match[str]) -> Atom | None:
        text = g["d"] or ""
        day = 1 if text == "1er" else int(text)
        if not 1 <= day <= 31:
            return None
        word = g["dow"] or ""
        return self._atom(g, m, date=DayMonth(day, dow=self.weekdays.get(word)))

    def _weekday(self, g: _G, m: re.Match[str]) -> Atom:
        word = g["dow"] or ""
        dow = self.weekdays.get(word, tw.WEEKDAY_ABBREVIATIONS_EN.get(word, 0))
        pre = _spaces(g["pre"] or "")
        post = _spaces(g["post"] or "")
        mode = "next"
        if post in ("after next",):
            mode = "after_next"
        elif (
            "next week" in post
            or "semaine prochaine" in post
            or "semaine suivante" in post
            or post
            in (
                "suivant",
                "d'apres",
            )
        ):
            mode = "next_week"
        elif "this week" in post or "cette semaine" in post:
            mode = "this_week"
        elif post in ("en huit", "en 8"):
            mode = "in_8"
        elif post in ("en quinze", "en 15"):
            mode = "in_15"
        elif pre.endswith("this") or pre == "ce":
            mode = "this"
        return self._atom(g, m, date=Weekday(dow, mode))

    def _rel_day(self, g: _G, m: re.Match[str]) -> Atom:
        word = _spaces(g["w"] or "")
        if "after" in word or word.startswith("apres"):
            days = 2
        elif "before" in word or word.startswith("avant"):
            days = -2
        elif word in ("yesterday", "hier"):
            days = -1
        elif word in ("today", "aujourd'hui", "aujourdhui"):
            days = 0
        else:
            days = 1
        return self._atom(g, m, date=RelDay(days))

    def _this_pod(self, g: _G, m: re.Match[str]) -> Atom:
        word = _spaces(g["w"] or "")
        if word == "ce midi":
            return self._atom(g, m, date=RelDay(0), clock=Clock(12, 0, False, False))
        last = word.split(" ", 1)[-1] if " " in word else word
        pod = self.pods.get(last) or ("evening" if word in ("tonight", "tonite") else "lunch")
        return self._atom(g, m, date=RelDay(0), pod=pod)

    def _the_day(self, g: _G, m: re.Match[str]) -> Atom | None:
        day = 1 if g["d"] == "1er" else self._day_number(g)
        if day is None or not 1 <= day <= 31:
            return None
        weak = g["d"] is None or self.fr and g["d"] is not None and m.group(0)[:3] in ("le ", "du ")
        atom = self._atom(g, m, date=DayMonth(day))
        atom.weak = weak
        return atom

    def _weekend(self, g: _G, m: re.Match[str]) -> Atom:
        pre = _spaces(g["pre"] or "")
        post = g["post"]
        shift = 1 if "next" in pre or "prochain" in pre or post is not None else 0
        return self._atom(g, m, period=Period("weekend", shift))

    def _unit(self, g: _G, m: re.Match[str]) -> Atom | None:
        pre = _spaces(g["pre"] or "")
        post = _spaces(g["post"] or "")
        unit = {"semaine": "week", "mois": "month", "annee": "year"}.get(g["u"] or "", g["u"] or "")
        if pre in ("last",) or post.startswith("dernier"):
            shift = -1
        elif pre in ("next", "the following", "coming") or post:
            shift = 1
        elif pre in ("this", "cette", "ce"):
            shift = 0
        else:
            return None  # "la semaine", "le mois": not a reference to a particular one
        return self._atom(g, m, period=Period(unit, shift))

    def _month(self, g: _G, m: re.Match[str]) -> Atom:
        month_word = g["mon"] or g["mon2"] or ""
        year_text = g["y"] or g["y2"]
        year = int(year_text) if year_text else None
        return self._atom(g, m, period=Period("month", 0, self.months[month_word], year))

    def _pod(self, g: _G, m: re.Match[str]) -> Atom | None:
        word = _spaces(g["w"] or "").replace("lunch time", "lunchtime")
        pod = self.pods.get(word) or self.pods.get(word.replace("-", " "))
        if pod is None:
            return None
        pre = _spaces(g["pre"] or "")
        if pre == "this":
            return self._atom(g, m, date=RelDay(0), pod=pod)
        return self._atom(g, m, pod=pod)

    # ---- scanning ----------------------------------------------------------------------------
    def atoms(self, doc: Doc, language: str) -> list[Atom]:
        """All atoms in the message, before overlap resolution."""
        if doc.words.isdisjoint(self.triggers) and not doc.has_digit:
            return []
        out: list[Atom] = []
        for m in doc.scan(self.pattern, self.starters, chars="@"):
            name = m.lastgroup or ""
            atom = self._handlers[name](_G(m, self._group_indices(m.re)[name]), m)
            if atom is not None:
                out.append(atom)
        out.extend(_offsets(doc, language))
        return out


def _previous_word(folded: str, offset: int) -> str:
    m = _PREVIOUS_WORD_RE.search(folded, 0, offset)
    return m.group(1) if m else ""


_PREVIOUS_WORD_RE: Final = re.compile(r"([a-z]+)[^a-z0-9]*\Z")
_OFFSET_RE: Final = re.compile(r"(?<![\w'])(?P<pre>in|within|dans|d'ici|sous)\s+")
_LATER_RE: Final = re.compile(r"\s+(?:from\s+now|from\s+today|later|plus\s+tard|apres)(?![a-z])")
_LATER_WORDS: Final = frozenset({"now", "today", "later", "tard", "apres"})
_OFFSET_TRIGGERS: Final = frozenset({"in", "within", "dans", "ici", "sous"}) | _LATER_WORDS


def _offset_atom(start: int, end: int, core: int, duration: DurationMatch) -> Atom:
    if duration.said_unit in ("day", "week"):
        days = duration.seconds // 86400
        return Atom(start, end, core, date=RelDay(days))
    if duration.said_unit in ("month", "year"):
        months = int(duration.said_amount) * (12 if duration.said_unit == "year" else 1)
        return Atom(start, end, core, date=MonthShift(months))
    return Atom(start, end, core, offset=duration)


def _offsets(doc: Doc, language: str) -> list[Atom]:
    """'in 20 minutes', 'dans 3 jours', '2 hours from now', '3 jours plus tard'."""
    if doc.words.isdisjoint(_OFFSET_TRIGGERS):
        return []
    out: list[Atom] = []
    folded = doc.folded
    for m in _OFFSET_RE.finditer(folded):
        duration = match_at(folded, m.end(), language)
        if duration is not None and duration.seconds > 0:
            out.append(_offset_atom(m.start(), duration.end, m.end(), duration))
    if doc.words.isdisjoint(_LATER_WORDS):
        return out
    for duration in find_durations(doc, language):
        later = _LATER_RE.match(folded, duration.end)
        if later is not None:
            out.append(_offset_atom(duration.start, later.end(), duration.start, duration))
    return out


GRAMMARS: Final[Mapping[str, Grammar]] = {key: Grammar(langs) for key, langs in GRAMMAR_LANGUAGES.items()}
