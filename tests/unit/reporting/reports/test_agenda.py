"""The joint meeting's month: YYYY-MM in Asia/Shanghai, anything else refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reporting.reports.agenda import month_label, parse_month


def test_a_month_is_its_first_day_to_the_next_months_in_shanghai() -> None:
    start, end = parse_month("2026-11")
    assert start.astimezone(UTC) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert month_label(start) == "2026年11月"


def test_december_ends_in_the_next_year() -> None:
    start, end = parse_month("2026-12")
    assert (start.month, end.year, end.month, end.day) == (12, 2027, 1, 1)
    assert month_label(start) == "2026年12月"
    assert month_label(parse_month("2027-01")[0]) == "2027年1月"


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-1",
        "202611",
        "2026-11-01",
        "26-11",
        "2026/11",
        "",
        " 2026-11",
        "２０２６-１１",
        "1999-12",
    ],
)
def test_anything_but_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="month"):
        parse_month(text)
