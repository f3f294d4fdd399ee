"""Working-time calendar for SLA deadlines (contract: Dispatch, escalation and SLA, "Working calendar").

Pure code: nothing here does I/O except `load_holidays`, which reads `LOUZHANG_HOLIDAYS_FILE` once
(and the warning logged for a year without data).

Working days
    For a year listed in the holidays file, the file decides: weekends are off except its `workdays`
    (调休, make-up working days), weekdays are on except its `holidays`. Otherwise the
    `chinesecalendar` package decides (official data 2004-2026 in 1.11.0). For a year neither has,
    Monday to Friday are working days and one warning per year is logged (logger
    `kernel.sla.calendar`).

Fallback years (`WorkingCalendar.reach`, `fallback_note`)
    A working-time deadline whose count runs through a year without official data (from the first
    to the last Asia/Shanghai year of start and deadline) is "in fallback" for those years: the work
    order carries them (`calendar_fallback`), routing's /readyz reports them in its `calendar` check
    (`fallback_note`) and the reporting dashboard shows a banner. Natural-time deadlines never are.

Working time (`WorkingCalendar.add`)
    Time counts only within the working hours (`LOUZHANG_WORK_HOURS`, e.g. 09:00-17:00) of working
    days, on the wall clock of the calendar's zone (Asia/Shanghai). Inputs may be in any zone but
    must be timezone-aware; the result is in UTC.

    1. A start outside working time begins at the start of the next working period: before the
       hours of a working day → that day's start; at or after the end, or on a day off → the next
       working day's start. An instant exactly at the end of the working hours therefore counts as
       the next working day's start.
    2. The day part (`P nD`, a week being seven days) moves forward n working days, keeping the
       same position within the working day: Fri 15:00 + P1D = next working day 15:00; Sat 11:00 +
       P1D = (Mon 09:00 →) Tue 09:00.
    3. The time part then consumes working seconds across working periods: Fri 16:00 + PT2H = next
       working day 10:00. A deadline landing exactly at the end of a working period stays there:
       16:00 + PT1H = 17:00 the same day, not 09:00 the next working day.

    Time is counted in whole microseconds, so fractional seconds add up exactly, and adding PT a
    then PT b equals adding PT (a + b).

Natural time (`WorkingCalendar.deadline(..., "natural")`)
    Elapsed time: start + the duration with a day being 24 hours, computed in UTC.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Literal

import chinese_calendar
import yaml

from kernel.durations import parse as parse_duration
from kernel.times import SHANGHAI

log = logging.getLogger(__name__)

_MICRO = 1_000_000
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _micros(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _MICRO + t.microsecond


@dataclass(frozen=True)
class WorkHours:
    """Daily working hours on the calendar's wall clock; `end` is after `start` (no overnight shifts)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are wall-clock times without a timezone")
        if self.end <= self.start:
            raise ValueError(f"working hours end ({self.end:%H:%M}) must be after their start ({self.start:%H:%M})")

    @classmethod
    def parse(cls, text: str) -> WorkHours:
        """`"09:00-17:00"` → WorkHours; ValueError for anything else."""
        match = _HOURS.match(text)
        if not match:
            raise ValueError(f"working hours {text!r} must look like HH:MM-HH:MM, e.g. 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise ValueError(
                f"working hours {text!r}: hours must be 00-23 and minutes 00-59, e.g. 09:00-17:00"
            ) from None
        if end <= start:
            raise ValueError(f"working hours {text!r}: the end must be after the start (no overnight shifts)")
        return cls(start, end)

    @property
    def length(self) -> timedelta:
        return timedelta(microseconds=_micros(self.end) - _micros(self.start))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


# ---- holidays file ----------------------------------------------------------------------------

_KEYS = ("holidays", "workdays")


@dataclass(frozen=True)
class HolidayData:
    """Official arrangements for the years it covers (see `load_holidays` for the file format)."""

    years: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = "<data>"

    def covers(self, year: int) -> bool:
        return year in self.years

    def is_workday(self, d: date) -> bool | None:
        """The file's answer, or None for a year it does not cover."""
        if d.year not in self.years:
            return None
        if d.weekday() >= 5:
            return d in self.workdays
        return d not in self.holidays

    @classmethod
    def from_mapping(cls, data: object, source: str = "<data>") -> HolidayData:
        """Validate a parsed document (`{year: {holidays: [...], workdays: [...]}}`); ValueError names the problem."""
        if not isinstance(data, dict) or not data:
            raise ValueError(
                f"{source}: expected a mapping of years to {{holidays: [...], workdays: [...]}}, "
                f"got {'nothing' if data is None or data == {} else type(data).__name__}"
            )
        years: set[int] = set()
        holidays: set[date] = set()
        workdays: set[date] = set()
        for key, entry in data.items():
            year = _year(key, source)
            if year in years:
                raise ValueError(f"{source}: year {year} is listed twice")
            years.add(year)
            where = f"{source}: year {year}"
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: expected a mapping with 'holidays' and/or 'workdays', got {entry!r}")
            unknown = sorted(str(k) for k in entry if k not in _KEYS)
            if unknown:
                raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; only 'holidays' and 'workdays'")
            off = _dates(entry.get("holidays"), year, f"{where}: holidays")
            on = _dates(entry.get("workdays"), year, f"{where}: workdays")
            both = sorted(off & on)
            if both:
                raise ValueError(f"{where}: {', '.join(map(str, both))} listed both as holiday and as workday")
            weekdays = sorted(d for d in on if d.weekday() < 5)
            if weekdays:
                raise ValueError(
                    f"{where}: workdays {', '.join(f'{d} ({d:%A})' for d in weekdays)} fall on a weekday; "
                    "'workdays' lists only weekend days that are working days (调休)"
                )
            holidays |= off
            workdays |= on
        return cls(frozenset(years), frozenset(holidays), frozenset(workdays), source)


def _year(key: object, source: str) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        year = key
    elif isinstance(key, str) and key.strip().isdigit():
        year = int(key)
    else:
        raise ValueError(f"{source}: {key!r} is not a year (write e.g. 2027:)")
    if not 1 <= year <= 9999:
        raise ValueError(f"{source}: {year} is not a year")
    return year


def _dates(value: object, year: int, where: str) -> set[date]:
    if value is None:
        return set()
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of dates, got {value!r}")
    out: set[date] = set()
    for i, item in enumerate(value):
        d: date | None = None
        if isinstance(item, datetime):
            d = None
        elif isinstance(item, date):
            d = item
        elif isinstance(item, str):
            try:
                d = date.fromisoformat(item.strip())
            except ValueError:
                d = None
        if d is None:
            raise ValueError(f"{where}[{i}]: {item!r} is not a date (write YYYY-MM-DD)")
        if d.year != year:
            raise ValueError(f"{where}[{i}]: {d} is outside {year}")
        out.add(d)
    return out


class _Loader(yaml.SafeLoader):
    """Safe loading that leaves YAML timestamps as text, so a bad date gets a message naming it."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_holidays(path: str | Path) -> HolidayData:
    """Read a holidays file (`LOUZHANG_HOLIDAYS_FILE`), YAML or JSON:

    ```yaml
    2027:
      holidays: [2027-01-01, 2027-02-06]   # days off, weekdays included (weekend days may be listed too)
      workdays: [2027-02-14]               # weekend days that are working days (调休)
    ```

    A listed year is covered: the file decides for it, overriding the package. Either list may be
    left out. ValueError names the problem (not a date, a date outside its year, a date both holiday
    and workday, a weekday listed as workday, an unknown key); OSError if the file cannot be read.
    """
    source = str(path)
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as e:
        raise ValueError(f"{source}: not valid YAML or JSON: {e}") from None
    return HolidayData.from_mapping(data, source)


@functools.cache
def package_covers(year: int) -> bool:
    """Whether the `chinesecalendar` package has official data for `year` (1.11.0: 2004-2026)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def fallback_note(years: Iterable[int]) -> str:
    """The `calendar` check on routing's /readyz: `ok`, or `fallback: 2027 weekdays only` naming the
    years without official data that deadlines of open work orders were counted through."""
    listed = sorted(set(years))
    if not listed:
        return "ok"
    return f"fallback: {', '.join(map(str, listed))} weekdays only"


# ---- the calendar -----------------------------------------------------------------------------


@dataclass
class WorkingCalendar:
    """Working days and working-time deadlines; see the module docstring for the rules."""

    hours: WorkHours
    holidays: HolidayData | None = None
    tz: tzinfo = SHANGHAI
    _cache: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    _warned: set[int] = field(default_factory=set, init=False, repr=False, compare=False)

    @classmethod
    def from_config(cls, work_hours: str, holidays_file: str | Path | None = None) -> WorkingCalendar:
        """From `LOUZHANG_WORK_HOURS` and `LOUZHANG_HOLIDAYS_FILE` (unset/empty: no file)."""
        holidays = load_holidays(holidays_file) if holidays_file else None
        return cls(WorkHours.parse(work_hours), holidays)

    # ---- coverage ----

    def covers(self, year: int) -> bool:
        """Whether official data decides `year` (the holidays file, else the package), not the fallback."""
        return (self.holidays is not None and self.holidays.covers(year)) or package_covers(year)

    def covered_until(self, year: int) -> int:
        """The last year of unbroken official data from `year` on; `year - 1` when `year` has none."""
        last = year - 1
        while last < 9999 and self.covers(last + 1):
            last += 1
        return last

    def fallback_years(self, start: datetime, end: datetime) -> list[int]:
        """The years without official data from `start` to `end` (Asia/Shanghai years, both included)."""
        _require_aware(start)
        _require_aware(end)
        first, last = start.astimezone(self.tz).year, end.astimezone(self.tz).year
        return [year for year in range(first, last + 1) if not self.covers(year)]

    # ---- working days ----

    def is_workday(self, d: date) -> bool:
        """The holidays file for a year it covers, else chinesecalendar, else Monday to Friday (with a warning)."""
        if isinstance(d, datetime):
            d = d.date()
        known = self._cache.get(d)
        if known is None:
            known = self._cache[d] = self._decide(d)
        return known

    def _decide(self, d: date) -> bool:
        if self.holidays is not None:
            answer = self.holidays.is_workday(d)
            if answer is not None:
                return answer
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            pass
        if d.year not in self._warned:
            self._warned.add(d.year)
            file = (
                f"the holidays file {self.holidays.source} does not cover it"
                if self.holidays is not None
                else "LOUZHANG_HOLIDAYS_FILE is not set"
            )
            log.warning(
                "no official holiday data for %d (the chinesecalendar package lacks it and %s): working-time "
                "SLA deadlines in %d count Monday to Friday as working days, ignoring public holidays and "
                "make-up working days (调休). Add the year's official arrangement to the file named by "
                "LOUZHANG_HOLIDAYS_FILE (see docs/calendar.md).",
                d.year,
                file,
                d.year,
            )
        return d.weekday() < 5

    def next_workday(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += timedelta(days=1)
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def workdays(self, first: date, last: date) -> Iterable[date]:
        """Working days from `first` to `last`, both included."""
        d = first
        while d <= last:
            if self.is_workday(d):
                yield d
            d += timedelta(days=1)

    # ---- deadlines ----

    def add(self, start: datetime, duration: str) -> datetime:
        """The working-time deadline `duration` (ISO 8601, e.g. PT2H, P1D) after `start`, in UTC."""
        parts = parse_duration(duration)
        day, offset = self._position(start)
        for _ in range(parts.days):
            day = self.next_workday(day)
        remaining = round(parts.seconds * _MICRO)
        if remaining > 0:
            length = _micros(self.hours.end) - _micros(self.hours.start)
            room = length - offset
            if remaining <= room:
                offset += remaining
            else:
                remaining -= room
                day = self.next_workday(day)
                while remaining > length:
                    remaining -= length
                    day = self.next_workday(day)
                offset = remaining
        local = datetime.combine(day, self.hours.start) + timedelta(microseconds=offset)
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """The working time between two instants (zero when `end` is not after `start`)."""
        _require_aware(start)
        _require_aware(end)
        first, last = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta(0)
        for day in self.workdays(first.date(), last.date()):
            opens = datetime.combine(day, self.hours.start, self.tz)
            closes = datetime.combine(day, self.hours.end, self.tz)
            overlap = min(closes, last) - max(opens, first)
            if overlap > timedelta(0):
                total += overlap
        return total

    def late_by(self, due: datetime, now: datetime, calendar: Literal["natural", "working"]) -> timedelta:
        """How long past `due` it is at `now`, on the service's SLA calendar."""
        if calendar == "working":
            return self.working_time(due, now)
        return max(now - due, timedelta(0))

    def left(self, due: datetime, now: datetime, calendar: Literal["natural", "working"]) -> timedelta:
        """The time left until `due` on the SLA calendar; negative once past it (by how much)."""
        if now <= due:
            return self.working_time(now, due) if calendar == "working" else due - now
        return -self.late_by(due, now, calendar)

    def deadline(self, start: datetime, duration: str, calendar: Literal["natural", "working"]) -> datetime:
        """`start` + `duration` on the service's SLA calendar, in UTC."""
        if calendar == "working":
            return self.add(start, duration)
        if calendar == "natural":
            _require_aware(start)
            return start.astimezone(UTC) + parse_duration(duration).natural
        raise ValueError(f"calendar must be 'natural' or 'working', not {calendar!r}")

    def reach(
        self, start: datetime, duration: str, calendar: Literal["natural", "working"]
    ) -> tuple[datetime, list[int]]:
        """The deadline (as `deadline`) and the years without official data its count ran through,
        where Monday to Friday stood in for the official arrangement; always none on natural time."""
        due = self.deadline(start, duration, calendar)
        return due, self.fallback_years(start, due) if calendar == "working" else []

    def _position(self, instant: datetime) -> tuple[date, int]:
        """The working day and the microseconds into its working hours at which counting starts (rule 1)."""
        _require_aware(instant)
        local = instant.astimezone(self.tz)
        day = local.date()
        t = _micros(local.time())
        if self.is_workday(day):
            if t < _micros(self.hours.start):
                return day, 0
            if t < _micros(self.hours.end):
                return day, t - _micros(self.hours.start)
        return self.next_workday(day), 0


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no timezone; SLA times must be timezone-aware")
