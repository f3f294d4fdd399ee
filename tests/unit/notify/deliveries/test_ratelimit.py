"""notify.deliveries.ratelimit.RobotLimiter: the window arithmetic (no database is touched)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notify.deliveries.ratelimit import RobotLimiter


class _Store:
    """Stands in for chassis.store.Store: window() and next_window() never use the collection."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def col(self, name: str) -> Any:
        self.names.append(name)
        return object()


def _limiter(window_s: float) -> RobotLimiter:
    return RobotLimiter(_Store(), limit=20, window_s=window_s)  # type: ignore[arg-type]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_the_limiter_uses_its_collection() -> None:
    store = _Store()
    limiter = RobotLimiter(store, limit=20)  # type: ignore[arg-type]
    assert store.names == ["robot_windows"]
    assert limiter.limit == 20
    assert limiter.length == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 0, 0, 1, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 0, 59, 999999, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 1, 0, tzinfo=UTC), datetime(2026, 11, 20, 2, 1, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 23, 59, 30, tzinfo=UTC), datetime(2026, 11, 20, 23, 59, 0, tzinfo=UTC)),
    ],
)
def test_a_minute_window_starts_on_the_minute(now: datetime, start: datetime) -> None:
    limiter = _limiter(60)
    assert limiter.window(now) == start
    assert limiter.next_window(now) == start + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # 2026-11-20T02:00:00Z is 1_795_572_000 s after the epoch, a multiple of 3.
        (datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 0, 2, 999999, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 0, 3, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 3, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 0, 4, 500000, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, 3, tzinfo=UTC)),
        # A minute is 20 windows of 3 s: 02:01:01 falls in the window that starts at 02:01:00.
        (datetime(2026, 11, 20, 2, 1, 1, tzinfo=UTC), datetime(2026, 11, 20, 2, 1, 0, tzinfo=UTC)),
    ],
)
def test_a_three_second_window_is_aligned_to_the_epoch(now: datetime, start: datetime) -> None:
    limiter = _limiter(3)
    assert limiter.window(now) == start
    assert limiter.next_window(now) == start + timedelta(seconds=3)


@pytest.mark.parametrize("window_s", [60, 3])
def test_windows_are_epoch_multiples_and_contain_now(window_s: int) -> None:
    limiter = _limiter(window_s)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    for step_ms in range(0, 200_000, 137):
        t = now + timedelta(milliseconds=step_ms)
        start = limiter.window(t)
        assert (start - EPOCH) % timedelta(seconds=window_s) == timedelta(0)
        assert start <= t < limiter.next_window(t)
        assert limiter.next_window(t) - start == timedelta(seconds=window_s)
        assert start.tzinfo is not None


@pytest.mark.parametrize("window_s", [60, 3])
def test_every_instant_of_a_window_shares_it(window_s: int) -> None:
    """Two replicas whose clocks read different instants of one window count in the same document."""
    limiter = _limiter(window_s)
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    inside = [start + timedelta(seconds=window_s) * f for f in (0, 0.25, 0.5, 0.999)]
    assert {limiter.window(t) for t in inside} == {start}
    assert limiter.window(start + timedelta(seconds=window_s)) == limiter.next_window(start)


def test_the_next_window_is_the_window_that_follows() -> None:
    limiter = _limiter(60)
    now = datetime(2026, 11, 20, 2, 0, 42, tzinfo=UTC)
    later = limiter.next_window(now)
    assert limiter.window(later) == later
    assert later > now
