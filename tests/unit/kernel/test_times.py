"""kernel.times.parse_instant (Conventions: times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.times import parse_instant


def test_a_bare_date_is_midnight_in_shanghai() -> None:
    t = parse_instant("2026-11-20")
    assert t == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    assert (t.hour, t.minute, t.utcoffset()) == (0, 0, timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "offset", "utc"),
    [
        ("2026-11-20T10:00:00+08:00", timedelta(hours=8), datetime(2026, 11, 20, 2, tzinfo=UTC)),
        ("2026-11-20T10:00:00-05:30", timedelta(hours=-5, minutes=-30), datetime(2026, 11, 20, 15, 30, tzinfo=UTC)),
        ("2026-11-20T10:00:00Z", timedelta(0), datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026-11-20t10:00:00z", timedelta(0), datetime(2026, 11, 20, 10, tzinfo=UTC)),
        (" 2026-11-20T10:00:00.5+00:00 ", timedelta(0), datetime(2026, 11, 20, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_an_offset_is_kept(text: str, offset: timedelta, utc: datetime) -> None:
    t = parse_instant(text)
    assert t.utcoffset() == offset
    assert t == utc


@pytest.mark.parametrize("text", ["2026-11-20T10:00:00", "2026-11-20 10:00", "tomorrow", "2026-13-01", ""])
def test_a_naive_or_bad_value_raises(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)
