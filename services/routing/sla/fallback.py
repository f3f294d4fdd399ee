"""Where routing shows the working calendar's fallback: the `calendar` check on /readyz and /metrics.

The rules (which years a deadline fell back on, how the check reads) are pure, in
`kernel.sla.calendar`; this is the I/O around them. The check is derived from the open work
orders (their `calendar_fallback`), so every replica answers alike and a restart forgets nothing;
it is cached for a few seconds since /readyz is polled, and refreshed at once when this process
counts a new fallback. A year without data never makes routing unready: deadlines are still
computed (Monday to Friday), and taking pods out of service would stop dispatch altogether.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge

from chassis.outage import is_outage
from kernel.sla.calendar import WorkingCalendar, fallback_note
from kernel.times import SHANGHAI

FALLBACK = Counter(
    "louzhang_calendar_fallback_total",
    "Working-time SLA deadlines counted Monday to Friday through a year without official holiday data, by year",
    ["year"],
)
DATA_UNTIL = Gauge(
    "louzhang_calendar_data_until_year",
    "The last year of unbroken official holiday data from the current year on (the package or LOUZHANG_HOLIDAYS_FILE)",
)

_counted = 0  # grows with every fallback this process counts: a reason to refresh the check


def counted(years: Iterable[int]) -> None:
    """A deadline was counted through these years without data."""
    global _counted
    for year in years:
        FALLBACK.labels(year=str(year)).inc()
        _counted += 1


class CalendarStatus:
    """The `calendar` check: `ok`, or `fallback: 2027 weekdays only`."""

    def __init__(
        self, calendar: WorkingCalendar, open_years: Callable[[], Awaitable[list[int]]], ttl_s: float = 5.0
    ) -> None:
        self.calendar = calendar
        self.open_years = open_years
        self.ttl_s = ttl_s
        self._note: str | None = None
        self._at = 0.0
        self._seen = -1

    def refresh_gauge(self) -> None:
        DATA_UNTIL.set(self.calendar.covered_until(datetime.now(SHANGHAI).year))

    def last(self) -> str:
        """The check as last computed, without asking the database."""
        return self._note or "unknown: not checked yet"

    async def check(self) -> str:
        fresh = self._note is not None and self._seen == _counted and time.monotonic() - self._at < self.ttl_s
        if fresh:
            assert self._note is not None
            return self._note
        seen = _counted
        try:
            years = await self.open_years()
        except Exception as exc:
            if not is_outage(exc):
                raise
            return self.last()
        self.refresh_gauge()
        self._note, self._at, self._seen = fallback_note(years), time.monotonic(), seen
        return self._note
