"""Where an issue counts: its cell (submission day in Asia/Shanghai, building, service), and the
stored counter documents (`reporting_cells`) that cell's counters are added to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kernel.times import SHANGHAI

# The building or service of a cell that sums every building or service.
ALL = "*"


@dataclass(frozen=True)
class Cell:
    """Where an issue counts: its submission day (Asia/Shanghai), building and service."""

    day: datetime
    building_id: str
    service_code: str


def day_of(instant: datetime) -> datetime:
    """00:00 Asia/Shanghai of the instant's day."""
    local = instant.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def month_of(day: datetime) -> datetime:
    return day.replace(day=1)


def next_month(month: datetime) -> datetime:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def next_day(day: datetime) -> datetime:
    # Shanghai keeps no daylight saving time: every day is 24 hours.
    return (day + timedelta(days=1)).astimezone(SHANGHAI)


def targets(cell: Cell) -> list[tuple[str, dict[str, Any]]]:
    """The cells an issue's counters go to: (day, month) × (its building, the whole district)
    × (its service, every service). The district cells answer district-wide reports without
    summing every building."""
    out = []
    for grain, period in (("day", cell.day), ("month", month_of(cell.day))):
        for building in (cell.building_id, ALL):
            for service in (cell.service_code, ALL):
                fields = {"grain": grain, "period": period, "building_id": building, "service_code": service}
                out.append((cell_key(grain, period, building, service), fields))
    return out


def cell_key(grain: str, period: datetime, building_id: str, service_code: str) -> str:
    return f"{grain}|{period.date().isoformat()}|{building_id}|{service_code}"
