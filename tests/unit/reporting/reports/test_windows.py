"""A report window splits into raw edges, whole days and whole months, covering it exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kernel.times import SHANGHAI
from reporting.reports.windows import BEGINNING, RECENT, plan

D = datetime


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_within_one_day_is_raw() -> None:
    p = plan(sh(2026, 3, 5, 9), sh(2026, 3, 5, 17))
    assert p.raw == [(sh(2026, 3, 5, 9), sh(2026, 3, 5, 17))] and not p.days and not p.months


def test_edges_days_and_months() -> None:
    p = plan(sh(2026, 1, 30, 12), sh(2026, 5, 3, 8))
    assert p.raw == [(sh(2026, 1, 30, 12), sh(2026, 1, 31)), (sh(2026, 5, 3), sh(2026, 5, 3, 8))]
    assert p.days == [(sh(2026, 1, 31), sh(2026, 2, 1)), (sh(2026, 5, 1), sh(2026, 5, 3))]
    assert p.months == [(sh(2026, 2, 1), sh(2026, 5, 1))]


def test_open_start_reads_months_from_the_beginning() -> None:
    p = plan(None, sh(2026, 5, 1))
    assert p.months == [(BEGINNING, sh(2026, 5, 1))] and not p.raw and not p.days


def test_empty_window() -> None:
    p = plan(sh(2026, 5, 1), sh(2026, 5, 1))
    assert not p.raw and not p.days and not p.months


def test_a_window_ending_now_takes_its_last_day_from_the_cells_less_the_rest_of_the_day() -> None:
    now = sh(2026, 5, 3, 8)
    p = plan(sh(2026, 4, 29, 12), now, now)
    assert p.raw == [(sh(2026, 4, 29, 12), sh(2026, 4, 30))]
    assert p.days == [(sh(2026, 4, 30), sh(2026, 5, 3)), (sh(2026, 5, 3), sh(2026, 5, 4))]
    assert p.less == [(now, sh(2026, 5, 4))]
    # The request's own `to` is a moment older than the reads' now.
    assert plan(None, now - RECENT, now).less == [(now - RECENT, sh(2026, 5, 4))]
    from_midnight = plan(sh(2026, 5, 3), now, now)
    assert not from_midnight.raw and from_midnight.days == [(sh(2026, 5, 3), sh(2026, 5, 4))]


def test_a_window_ending_earlier_or_at_midnight_or_starting_its_last_day_has_raw_edges() -> None:
    now = sh(2026, 5, 3, 8)
    for start, end in ((None, now - RECENT - timedelta(seconds=1)), (None, sh(2026, 5, 3)), (sh(2026, 5, 3, 1), now)):
        assert plan(start, end, now) == plan(start, end)
        assert not plan(start, end, now).less
    assert plan(None, now, now + timedelta(days=1)) == plan(None, now)


def hours(span: tuple[datetime, datetime]) -> set[datetime]:
    a, b = span
    out, t = set(), a
    while t < b:
        out.add(t)
        t += timedelta(hours=1)
    return out


@given(st.integers(0, 24 * 120), st.integers(1, 24 * 120), st.booleans())
def test_the_parts_cover_the_window_exactly_once(start_h: int, length_h: int, ends_now: bool) -> None:
    start = sh(2026, 1, 1) + timedelta(hours=start_h)
    end = start + timedelta(hours=length_h)
    p = plan(start, end, end if ends_now else None)
    covered: list[datetime] = []
    for span in (*p.raw, *p.days, *p.months):
        covered.extend(hours(span))
    for span in p.less:
        for hour in hours(span):
            covered.remove(hour)
    assert sorted(covered) == sorted(hours((start, end)))
    for a, b in p.days:
        assert a.hour == 0 and b.hour == 0
    for a, b in p.months:
        assert a.day == 1 and b.day == 1 and a.hour == 0
