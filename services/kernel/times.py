"""Times at the API edge: RFC 3339 with an offset, or a bare date meaning 00:00 Asia/Shanghai.

Every instant taken from a request lies within [EARLIEST, LATEST): outside it `OutOfRange`
(a ValueError) is raised, before anything computes with it. The range keeps what follows safe:
UTC conversion and day arithmetic near year 1 or 9999 overflow (OverflowError), and an ObjectId
holds its time as unsigned 32-bit seconds (1970 to 2106; `struct.error` beyond).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive


class OutOfRange(ValueError):
    """A well-formed time outside [EARLIEST, LATEST)."""

    def __init__(self) -> None:
        super().__init__(
            f"out of range: times from {EARLIEST:%Y-%m-%dT%H:%M:%SZ} to before {LATEST:%Y-%m-%dT%H:%M:%SZ} are taken"
        )


def in_range(instant: datetime) -> datetime:
    """`instant` (aware) when EARLIEST <= instant < LATEST, else OutOfRange."""
    try:
        inside = EARLIEST <= instant < LATEST
    except OverflowError:  # comparing shifts by the offset, which can leave years 1 to 9999
        inside = False
    if not inside:
        raise OutOfRange()
    return instant


def parse_instant(value: str) -> datetime:
    """Raises ValueError for anything but a bare date or a date-time with an offset, and
    OutOfRange (a ValueError) for one outside [EARLIEST, LATEST)."""
    value = value.strip()
    if len(value) == 10:
        return in_range(datetime.combine(date.fromisoformat(value), time(), SHANGHAI))
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs an offset (Z or +08:00)")
    return in_range(parsed)


def utcnow() -> datetime:
    """Now, aware, in UTC: every time is stored in UTC and shown in SHANGHAI."""
    return datetime.now(UTC)
