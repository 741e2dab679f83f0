"""Calendar arithmetic for the time dimension: future bias, weekday rules, DST-safe datetimes.

Two kinds of arithmetic, deliberately different around daylight-saving changes:
- wall-clock: "tomorrow at 20:00" is 20:00 on the next calendar day whatever the UTC offset
  (`wall_clock`), and "in 3 days" moves the calendar date;
- elapsed: "in 2 hours" is 7,200 real seconds later (`elapsed`), computed in UTC.
A wall-clock time that does not exist (02:30 on the spring-forward night) is moved forward
by the gap (03:30), as a clock would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True, slots=True)
class RelDay:
    """`days` after today: today (0), tomorrow (1), "dans 3 jours"."""

    days: int


@dataclass(frozen=True, slots=True)
class MonthShift:
    """`months` after today, same day of month (clamped): "in 2 months"."""

    months: int


@dataclass(frozen=True, slots=True)
class Weekday:
    """A day of the week with a modifier.

    `mode`:
    - "next": "friday", "next friday", "vendredi prochain": the first such day strictly
      after today (Duckling's reading: said on a Tuesday, "next wednesday" is tomorrow);
    - "this": "this friday", "ce vendredi": like "next" but today counts;
    - "next_week": "friday next week", "vendredi de la semaine prochaine", "vendredi suivant":
      that day in the next Monday-based week;
    - "this_week": "friday this week": that day in the current week (may be past);
    - "after_next": "friday after next": one week after "next";
    - "in_8"/"in_15": "vendredi en huit/en quinze": one/two weeks after "this".
    """

    dow: int
    mode: str = "next"


@dataclass(frozen=True, slots=True)
class DayMonth:
    """A calendar date; missing month/year are the next occurrence from today (today counts).

    `dow` (a weekday said with a bare day number, "samedi 16") picks the next month whose
    16th is a Saturday; with a month the weekday is not checked (the user's date wins).
    """

    day: int
    month: int | None = None
    year: int | None = None
    dow: int | None = None


DateSpec = RelDay | MonthShift | Weekday | DayMonth


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def add_months(d: date, months: int) -> date:
    """`d` moved by `months`, the day clamped to the month's end.

    Past year 9999 ("in 9999 years") it raises OverflowError, as date arithmetic does.
    """
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError(f"year {year} is out of range")
    for day in range(d.day, 27, -1):
        candidate = _valid(year, month + 1, day)
        if candidate is not None:
            return candidate
    return date(year, month + 1, min(d.day, 28))


def resolve_date(spec: DateSpec, today: date) -> date | None:
    """The calendar date a spec denotes, future-biased; None if it is not a valid date."""
    if isinstance(spec, RelDay):
        return today + timedelta(days=spec.days)
    if isinstance(spec, MonthShift):
        return add_months(today, spec.months)
    if isinstance(spec, Weekday):
        ahead = (spec.dow - today.weekday()) % 7
        monday = today - timedelta(days=today.weekday())
        match spec.mode:
            case "this":
                return today + timedelta(days=ahead)
            case "next_week":
                return monday + timedelta(days=7 + spec.dow)
            case "this_week":
                return monday + timedelta(days=spec.dow)
            case "after_next":
                return today + timedelta(days=(ahead or 7) + 7)
            case "in_8":
                return today + timedelta(days=ahead + 7)
            case "in_15":
                return today + timedelta(days=ahead + 14)
            case _:
                return today + timedelta(days=ahead or 7)
    if spec.month is None:
        year, month = today.year, today.month
        first: date | None = None
        for _ in range(24):
            candidate = _valid(year, month, spec.day)
            if candidate is not None and candidate >= today:
                if spec.dow is None or candidate.weekday() == spec.dow:
                    return candidate
                first = first or candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return first
    if spec.year is not None:
        return _valid(spec.year, spec.month, spec.day)
    for year in range(today.year, today.year + 9):
        candidate = _valid(year, spec.month, spec.day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def wall_clock(day: date, hour: int, minute: int, tz: tzinfo | None) -> datetime:
    """`day` at hh:mm local time (hour 24 is midnight of the next day), normalised for DST."""
    if hour >= 24:
        day, hour = day + timedelta(days=hour // 24), hour % 24
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    return local.astimezone(UTC).astimezone(tz)  # the round trip resolves DST gaps


def elapsed(now: datetime, seconds: int) -> datetime:
    """`seconds` of real time after `now`, expressed in now's time zone."""
    return (now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(now.tzinfo)


def start_of_weekend(today: date, *, next_one: bool) -> date:
    """Saturday of this weekend (the current one on Saturday/Sunday) or of the next one.

    "next weekend" follows the "next friday" rule: the first weekend starting strictly after
    today, i.e. the coming one on a weekday.
    """
    weekday = today.weekday()
    if next_one:
        return today + timedelta(days=(5 - weekday) % 7 or 7)
    if weekday == 6:
        return today - timedelta(days=1)
    return today + timedelta(days=(5 - weekday) % 7)
