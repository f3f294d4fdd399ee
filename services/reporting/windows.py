"""Splitting a report window into pre-aggregated months and days, and raw edges.

Days and months are those of Asia/Shanghai. The parts together cover [start, end)
exactly once: whole months from the month counters, whole days from the day
counters, and the partial days at either edge from the per-issue documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reporting.fold import SHANGHAI, day_of

# An open start: before any issue this system can hold.
BEGINNING = datetime(2000, 1, 1, tzinfo=SHANGHAI)

Span = tuple[datetime, datetime]


def month_of(day: datetime) -> datetime:
    return day.replace(day=1)


def next_month(month: datetime) -> datetime:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def next_day(day: datetime) -> datetime:
    # Shanghai keeps no daylight saving time: every day is 24 hours.
    return (day + timedelta(days=1)).astimezone(SHANGHAI)


def ceil_day(instant: datetime) -> datetime:
    day = day_of(instant)
    return day if day == instant else next_day(day)


@dataclass
class Plan:
    raw: list[Span] = field(default_factory=list)
    days: list[Span] = field(default_factory=list)
    months: list[Span] = field(default_factory=list)


def plan(start: datetime | None, end: datetime) -> Plan:
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
