"""A report window splits into raw edges, whole days and whole months, covering it exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reporting.fold import SHANGHAI
from reporting.windows import BEGINNING, plan

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


def hours(span: tuple[datetime, datetime]) -> set[datetime]:
    a, b = span
    out, t = set(), a
    while t < b:
        out.add(t)
        t += timedelta(hours=1)
    return out


@given(st.integers(0, 24 * 120), st.integers(1, 24 * 120))
def test_the_parts_cover_the_window_exactly_once(start_h: int, length_h: int) -> None:
    start = sh(2026, 1, 1) + timedelta(hours=start_h)
    end = start + timedelta(hours=length_h)
    p = plan(start, end)
    covered: list[datetime] = []
    for span in (*p.raw, *p.days, *p.months):
        covered.extend(hours(span))
    assert sorted(covered) == sorted(hours((start, end)))
    for a, b in p.days:
        assert a.hour == 0 and b.hour == 0
    for a, b in p.months:
        assert a.day == 1 and b.day == 1 and a.hour == 0
