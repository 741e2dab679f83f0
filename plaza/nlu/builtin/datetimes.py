"""The `time` dimension: join the grammar's atoms into expressions and resolve them.

Pipeline: atoms (`time_grammar`) -> overlap resolution (longest wins) -> intervals
("de 19h à 21h", "between 7 and 8pm", "du lundi au mercredi") -> groups of adjacent atoms
that fill different slots (date, part of day, clock: "demain" + "soir" + "vers 20h") ->
resolution against `now` (`time_calendar`).

Resolution rules (documented in docs/builtin-extractors.md):
- future bias: a clock time without a date is its next occurrence ("at 8pm" said at 21:00
  is tomorrow 20:00); a day without a year is its next occurrence (today counts);
- an hour from 1 to 11 without am/pm, "h" with a leading zero or a part of day is ambiguous
  and takes its next occurrence among the two 12-hour readings ("at 8" at 15:00 -> 20:00,
  at 21:00 -> 08:00 tomorrow); with an explicit date, the first reading that is still in the
  future that day ("tomorrow at 8" -> 08:00); a part of day decides ("tonight at 9" -> 21:00);
- a date with a part of day and no clock is an interval ("tomorrow morning"); a part of day
  alone ("in the evening") is not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from plaza.nlu.builtin._text import Doc, grammar_key, longest_first, make_entity
from plaza.nlu.builtin.time_calendar import (
    DateSpec,
    DayMonth,
    Weekday,
    add_months,
    elapsed,
    resolve_date,
    start_of_weekend,
    wall_clock,
)
from plaza.nlu.builtin.time_grammar import GRAMMARS, Atom, Clock, Period
from plaza.nlu.builtin.time_words import PARTS_OF_DAY
from plaza.nlu.types import Entity, JSONValue

_GRAIN_ORDER: Final = ("minute", "hour", "day", "week", "month", "year")
_STANDALONE: Final = frozenset({"period", "offset", "dates"})


@dataclass(slots=True)
class _Span:
    """An interval between two atoms: both clock times or both dates."""

    start: int
    end: int
    first: Atom
    second: Atom
    kind: str  # "clock" or "dates"

    @property
    def slots(self) -> frozenset[str]:
        return frozenset({self.kind})

    @property
    def weak(self) -> bool:
        return False

    @property
    def approx(self) -> bool:
        return self.first.approx or self.second.approx


_Item = Atom | _Span

_IVL_PREFIX_RE: Final = re.compile(r"(?<![\w'])(from|between|de|du|entre|des)\s+\Z")
_IVL_SEP_RE: Final = re.compile(r"\s*(-|to|till|until|thru|through|and|a|au|et|jusqu'a|jusqu'au)\s*")
_JOIN_RE: Final = re.compile(r"[\s,]*(?:(?:for|pour|on|le)\s+)?")


def _is_clock(atom: Atom) -> bool:
    return "clock" in atom.slots and atom.slots <= {"clock", "pod"}


def _interval(folded: str, a: Atom, b: Atom) -> _Span | None:
    sep_match = _IVL_SEP_RE.fullmatch(folded, a.end, b.core)
    if sep_match is None:
        return None
    sep = sep_match.group(1)
    prefix_match = _IVL_PREFIX_RE.search(folded, max(0, a.start - 12), a.core)
    prefix = prefix_match.group(1) if prefix_match else ""
    if (sep in ("and", "et") and prefix not in ("between", "entre")) or (
        sep in ("a", "au") and prefix not in ("de", "du", "des")
    ):
        return None
    start = min(prefix_match.start(), a.start) if prefix_match else a.start
    if _is_clock(a) and _is_clock(b):
        return _Span(start, b.end, a, b, "clock")
    if a.slots == {"date"} and b.slots == {"date"}:
        if a.weak and isinstance(a.date, DayMonth) and a.date.month is None:
            if not (isinstance(b.date, DayMonth) and b.date.month is not None):
                return None
            a = Atom(a.start, a.end, a.core, date=DayMonth(a.date.day, b.date.month, b.date.year))
        return _Span(start, b.end, a, b, "dates")
    return None


def _items(folded: str, atoms: list[Atom]) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    while i < len(atoms):
        if i + 1 < len(atoms):
            span = _interval(folded, atoms[i], atoms[i + 1])
            if span is not None:
                items.append(span)
                i += 2
                continue
        items.append(atoms[i])
        i += 1
    return items


def _groups(folded: str, items: list[_Item]) -> list[list[_Item]]:
    groups: list[list[_Item]] = []
    current: list[_Item] = []
    slots: set[str] = set()
    for item in items:
        if (
            current
            and _JOIN_RE.fullmatch(folded, current[-1].end, item.start)
            and slots.isdisjoint(item.slots)
            and _STANDALONE.isdisjoint(slots | item.slots)
        ):
            current.append(item)
            slots |= item.slots
            continue
        if current:
            groups.append(current)
        current, slots = [item], set(item.slots)
    if current:
        groups.append(current)
    return groups


# ---- resolution ----------------------------------------------------------------------------


def _hours(clock: Clock, pod: str | None) -> list[int]:
    """Candidate 24-hour readings of a clock time, earliest first."""
    if not clock.ambiguous:
        return [clock.hour]
    h = clock.hour
    if pod in ("afternoon", "evening", "night"):
        return [h + 12]
    if pod == "morning":
        return [h]
    if pod == "lunch":
        return [h + 12] if h <= 3 else [h]
    return [h, h + 12]


def _floor(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _clock_on(day: date | None, clock: Clock, pod: str | None, now: datetime) -> datetime:
    """A clock time on `day`, or at its next occurrence when `day` is None."""
    tz, floor = now.tzinfo, _floor(now)
    hours = _hours(clock, pod)
    if day is not None:
        options = [wall_clock(day, h, clock.minute, tz) for h in hours]
        return next((dt for dt in options if dt >= floor), options[0])
    today = now.date()
    for offset in range(3):
        for h in hours:
            dt = wall_clock(today + timedelta(days=offset), h, clock.minute, tz)
            if dt >= floor:
                return dt
    return wall_clock(today + timedelta(days=1), hours[0], clock.minute, tz)


def _grain(clock: Clock) -> str:
    return "minute" if clock.minute_said or clock.minute else "hour"


def _finer(a: str, b: str) -> str:
    return a if _GRAIN_ORDER.index(a) <= _GRAIN_ORDER.index(b) else b


def _clock_span(span: _Span, day: date | None, pod: str | None, now: datetime) -> tuple[datetime, datetime]:
    a, b = span.first, span.second
    assert a.clock is not None
    assert b.clock is not None
    pod_a, pod_b = a.pod or pod, b.pod or pod
    tz = now.tzinfo
    if b.clock.ambiguous and pod_b is None and not a.clock.ambiguous:
        first = _clock_on(day, a.clock, pod_a, now)
        options = [
            wall_clock(first.date() + timedelta(days=d), h, b.clock.minute, tz)
            for d in (0, 1)
            for h in _hours(b.clock, None)
        ]
        return first, next(dt for dt in options if dt > first)
    second = _clock_on(day, b.clock, pod_b, now)
    hours_a = _hours(a.clock, pod_a) if pod_a else _hours(a.clock, None)
    options = [
        wall_clock(second.date() - timedelta(days=d), h, a.clock.minute, tz) for d in (0, 1) for h in hours_a
    ]
    before = [dt for dt in options if dt < second]
    return (max(before) if before else options[0]), second


def _date_span(span: _Span, today: date) -> tuple[date, date] | None:
    a, b = span.first.date, span.second.date
    if a is None or b is None:
        return None
    first, second = resolve_date(a, today), resolve_date(b, today)
    if first is None or second is None:
        return None
    if second < first:
        if isinstance(b, Weekday):
            second += timedelta(days=7 * ((first - second).days // 7 + 1))
        elif isinstance(b, DayMonth) and b.year is None and b.month is not None:
            second = resolve_date(DayMonth(b.day, b.month, first.year + 1), today) or second
    return first, second + timedelta(days=1)


def _period(period: Period, now: datetime) -> tuple[JSONValue, str, str]:
    """(value, type, grain) of "this weekend", "next week", "in December", "next year"."""
    today, tz = now.date(), now.tzinfo
    if period.unit == "weekend":
        saturday = start_of_weekend(today, next_one=period.shift > 0)
        value = {
            "from": wall_clock(saturday, 0, 0, tz).isoformat(),
            "to": wall_clock(saturday + timedelta(days=2), 0, 0, tz).isoformat(),
        }
        return value, "interval", "day"
    if period.unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * period.shift)
        return wall_clock(monday, 0, 0, tz).isoformat(), "value", "week"
    if period.unit == "month":
        if period.month is not None:
            year = period.year or (today.year if period.month >= today.month else today.year + 1)
            first = date(year, period.month, 1)
        else:
            first = add_months(today.replace(day=1), period.shift)
        return wall_clock(first, 0, 0, tz).isoformat(), "value", "month"
    return wall_clock(date(today.year + period.shift, 1, 1), 0, 0, tz).isoformat(), "value", "year"


def _resolve(doc: Doc, group: list[_Item], now: datetime) -> Entity | None:
    if all(item.weak for item in group):
        return None
    date_spec: DateSpec | None = None
    clock: Clock | None = None
    pod: str | None = None
    span: _Span | None = None
    period: Period | None = None
    offset_seconds: int | None = None
    for item in group:
        if isinstance(item, _Span):
            span = item
            continue
        date_spec = item.date or date_spec
        clock = item.clock or clock
        pod = item.pod or pod
        period = item.period or period
        if item.offset is not None:
            offset_seconds = item.offset.seconds
    approx = any(item.approx for item in group)
    start, end = group[0].start, group[-1].end
    today, tz = now.date(), now.tzinfo
    value: JSONValue
    kind, has_date, has_time = "value", date_spec is not None, clock is not None
    either_half = False

    if period is not None:
        value, kind, grain = _period(period, now)
        has_date = True
    elif offset_seconds is not None:
        value = _floor(elapsed(now, offset_seconds)).isoformat()
        grain, has_date, has_time = "minute", True, True
    elif span is not None and span.kind == "dates":
        days = _date_span(span, today)
        if days is None:
            return None
        value = {
            "from": wall_clock(days[0], 0, 0, tz).isoformat(),
            "to": wall_clock(days[1], 0, 0, tz).isoformat(),
        }
        kind, grain, has_date = "interval", "day", True
    else:
        day = resolve_date(date_spec, today) if date_spec is not None else None
        if date_spec is not None and day is None:
            return None
        if span is not None:
            first, second = _clock_span(span, day, pod, now)
            value = {"from": first.isoformat(), "to": second.isoformat()}
            assert span.first.clock is not None
            assert span.second.clock is not None
            kind, has_time = "interval", True
            grain = _finer(_grain(span.first.clock), _grain(span.second.clock))
        elif clock is not None:
            value = _clock_on(day, clock, pod, now).isoformat()
            grain = _grain(clock)
            either_half = len(_hours(clock, pod)) > 1
        elif day is not None and pod is not None:
            start_hour, end_hour = PARTS_OF_DAY[pod]
            value = {
                "from": wall_clock(day, start_hour, 0, tz).isoformat(),
                "to": wall_clock(day, end_hour, 0, tz).isoformat(),
            }
            kind, grain = "interval", "hour"
        elif day is not None:
            value, grain = wall_clock(day, 0, 0, tz).isoformat(), "day"
        else:
            return None  # a part of day alone: too vague to report
    info: dict[str, JSONValue] = {"type": kind, "grain": grain, "has_date": has_date, "has_time": has_time}
    if approx:
        info["approximate"] = True
    if either_half:
        info["either_half_day"] = True  # "at 8": the other 12-hour reading is as plausible
    return make_entity(doc, "time", value, start, end, info)


def extract_times(doc: Doc, language: str, now: datetime) -> list[Entity]:
    """`time` entities, resolved against the aware datetime `now`."""
    grammar = GRAMMARS[grammar_key(language)]
    atoms = grammar.atoms(doc, language)
    if not atoms:
        return []
    items = _items(doc.folded, longest_first(atoms, lambda a: a.weak))  # a weak reading loses ties
    out: list[Entity] = []
    for group in _groups(doc.folded, items):
        try:
            entity = _resolve(doc, group, now)
        except OverflowError:
            continue  # past year 9999 ("in 99999999 days"): no calendar has it, so no time
        if entity is not None:
            out.append(entity)
    return out
