"""Times at the API edge: RFC 3339 with an offset, or a bare date meaning 00:00 Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_instant(value: str) -> datetime:
    """Raises ValueError for anything but a bare date or a date-time with an offset."""
    value = value.strip()
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), SHANGHAI)
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs an offset (Z or +08:00)")
    return parsed
