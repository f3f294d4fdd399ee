"""The deadline policy of a work order, in one place (contract: Dispatch, escalation and SLA).

- To acknowledge: a new clock for every level the order reaches (dispatch, each escalation,
  a transfer), counted from the moment it got there.
- To resolve: counted once, from the issue's submission; neither escalation nor a transfer
  restarts it, and a reopen (回访 不满意) keeps it: its timer runs again unless it already fired.
- Both on the service's SLA calendar (`natural`, or `working`: see `calendar.py`). A working-time
  deadline counted through a year without official holiday data names those years.

Pure: the calendar is passed in, and so is every instant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from kernel.sla.calendar import WorkingCalendar

CalendarKind = Literal["natural", "working"]


@dataclass(frozen=True)
class Terms:
    """A service's SLA as kept with its work order: ISO 8601 durations and the calendar they run on."""

    acknowledge: str
    resolve: str
    calendar: CalendarKind = "natural"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Terms:
        return cls(acknowledge=doc["acknowledge"], resolve=doc["resolve"], calendar=doc.get("calendar", "natural"))

    def to_doc(self) -> dict[str, Any]:
        return {"acknowledge": self.acknowledge, "resolve": self.resolve, "calendar": self.calendar}


@dataclass(frozen=True)
class Deadline:
    due: datetime
    # Years without official calendar data the count ran through (Monday to Friday stood in).
    fallback_years: tuple[int, ...] = ()


def acknowledge_due(calendar: WorkingCalendar, terms: Terms, level_since: datetime) -> Deadline:
    """A new acknowledge clock, from when the order reached its current level."""
    due, years = calendar.reach(level_since, terms.acknowledge, terms.calendar)
    return Deadline(due, tuple(years))


def resolve_due(calendar: WorkingCalendar, terms: Terms, submitted_at: datetime) -> Deadline:
    """The resolve deadline, counted from the issue's submission."""
    due, years = calendar.reach(submitted_at, terms.resolve, terms.calendar)
    return Deadline(due, tuple(years))


def resolve_rearmed_on_reopen(resolve_due: datetime, overdue: bool) -> datetime | None:
    """A reopened order keeps its resolve deadline; its timer is armed again (at that same
    deadline) unless it already fired, i.e. the order is overdue."""
    return None if overdue else resolve_due


def overdue_hours(calendar: WorkingCalendar, terms: Terms, due: datetime, now: datetime) -> int:
    """How late an order is at `now`, in whole hours (rounded up) on its SLA calendar."""
    return math.ceil(calendar.late_by(due, now, terms.calendar).total_seconds() / 3600)
