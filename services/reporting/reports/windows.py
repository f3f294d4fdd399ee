"""Splitting a report window into pre-aggregated months and days, and raw edges.

Days and months are those of Asia/Shanghai. The parts together cover [start, end)
exactly once: whole months from the month counters, whole days from the day
counters, and the partial days at either edge from the per-issue documents.

A window that ends now (the reports' default) would read all of today's issues as its
raw end edge, and a busy day has thousands. Nothing is submitted after now, so that day is
taken whole from its day counters instead, less the issues submitted from the window's end
to the day's end (`less`): ordinarily none, or the few stamped by a clock a little ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kernel.times import SHANGHAI
from reporting.readmodel.cells import day_of, month_of, next_day, next_month

# An open start: before any issue this system can hold.
BEGINNING = datetime(2000, 1, 1, tzinfo=SHANGHAI)
# A window ending no earlier than this before now counts as ending now: the time from a request's
# default `to` (now) to its reads, with room for a loaded event loop. Issues submitted within it
# are still at their first steps, which change no counter (a staff action takes longer).
RECENT = timedelta(seconds=5)

Span = tuple[datetime, datetime]


def ceil_day(instant: datetime) -> datetime:
    day = day_of(instant)
    return day if day == instant else next_day(day)


@dataclass
class Plan:
    raw: list[Span] = field(default_factory=list)
    days: list[Span] = field(default_factory=list)
    months: list[Span] = field(default_factory=list)
    less: list[Span] = field(default_factory=list)  # counted in `days`, but outside the window


def plan(start: datetime | None, end: datetime, now: datetime | None = None) -> Plan:
    """The parts of [start, end); given `now`, a window ending about then (see `RECENT`) whose
    last day is partial takes that day from its counters, less [end, the day's end)."""
    whole = _plan(start, end)
    if now is None or end < now - RECENT or not whole.raw:
        return whole
    last_day = day_of(end)
    if whole.raw[-1] != (last_day, end):
        return whole  # the window starts within its last day, or ends at midnight
    rest = (end, next_day(last_day))
    return Plan(raw=whole.raw[:-1], days=[*whole.days, (last_day, rest[1])], months=whole.months, less=[rest])


def _plan(start: datetime | None, end: datetime) -> Plan:
    start = BEGINNING if start is None else start
    if start >= end:
        return Plan()
    lo, hi = ceil_day(start), day_of(end)
    if lo >= hi:
        return Plan(raw=[(start, end)])
    raw = [span for span in ((start, lo), (hi, end)) if span[0] < span[1]]
    first_month = lo if lo.day == 1 else next_month(month_of(lo))
    last_month = month_of(hi)
    if first_month >= last_month:
        return Plan(raw=raw, days=[(lo, hi)])
    days = [span for span in ((lo, first_month), (last_month, hi)) if span[0] < span[1]]
    return Plan(raw=raw, days=days, months=[(first_month, last_month)])
