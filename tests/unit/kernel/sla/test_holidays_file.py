"""LOUZHANG_HOLIDAYS_FILE: format and validation (kernel.sla.calendar.load_holidays)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kernel.sla.calendar import HolidayData, load_holidays


def write(tmp_path: Path, text: str, name: str = "holidays.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_file(tmp_path: Path) -> None:
    data = load_holidays(
        write(
            tmp_path,
            "# test data, not official\n"
            "2027:\n"
            "  holidays: [2027-01-01, 2027-02-08]\n"
            "  workdays: [2027-02-14]\n"
            "2028:\n"
            "  holidays: ['2028-01-03']\n",  # quoted dates work too
        )
    )
    assert data.years == {2027, 2028}
    assert data.holidays == {date(2027, 1, 1), date(2027, 2, 8), date(2028, 1, 3)}
    assert data.workdays == {date(2027, 2, 14)}
    assert data.source.endswith("holidays.yaml")
    assert data.is_workday(date(2027, 2, 8)) is False  # listed holiday
    assert data.is_workday(date(2027, 2, 9)) is True  # ordinary weekday
    assert data.is_workday(date(2027, 2, 14)) is True  # make-up Sunday
    assert data.is_workday(date(2027, 2, 13)) is False  # ordinary Saturday
    assert data.is_workday(date(2026, 2, 9)) is None  # not covered


def test_json_file_and_missing_lists(tmp_path: Path) -> None:
    data = load_holidays(write(tmp_path, '{"2027": {"workdays": ["2027-02-14"]}, "2028": {}}', "h.json"))
    assert data.years == {2027, 2028} and not data.holidays
    assert data.covers(2028) and data.is_workday(date(2028, 3, 1)) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a mapping of years"),
        ("- 2027-01-01\n", "expected a mapping of years"),
        ("2027: [2027-01-01]\n", "year 2027: expected a mapping with 'holidays' and/or 'workdays'"),
        ("2027:\n", "year 2027: expected a mapping"),
        ("next year:\n  holidays: [2027-01-01]\n", "'next year' is not a year"),
        ("2027:\n  holiday: [2027-01-01]\n", "unknown key\\(s\\) holiday"),
        ("2027:\n  holidays: 2027-01-01\n", "holidays: expected a list of dates"),
        ("2027:\n  holidays: [2027-02-30]\n", r"holidays\[0\]: '2027-02-30' is not a date \(write YYYY-MM-DD\)"),
        ("2027:\n  holidays: [2027-01-01, tomorrow]\n", r"holidays\[1\]: 'tomorrow' is not a date"),
        ("2027:\n  holidays: [2027-01-01 09:00:00]\n", r"holidays\[0\]: .* is not a date"),
        ("2027:\n  holidays: [2026-12-31]\n", r"holidays\[0\]: 2026-12-31 is outside 2027"),
        ("2027:\n  workdays: [2028-02-13]\n", r"workdays\[0\]: 2028-02-13 is outside 2027"),
        (
            "2027:\n  holidays: [2027-02-14]\n  workdays: [2027-02-14]\n",
            "2027-02-14 listed both as holiday and as workday",
        ),
        ("2027:\n  workdays: [2027-02-15]\n", r"2027-02-15 \(Monday\) fall on a weekday"),
        ('{"2027": {}, 2027: {}}', "year 2027 is listed twice"),
        ("2027: {holidays: [2027-01-01\n", "not valid YAML or JSON"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        load_holidays(path)
    assert str(path) in str(info.value)  # every message names the file


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_holidays(tmp_path / "nope.yaml")


def test_from_mapping_without_a_file() -> None:
    data = HolidayData.from_mapping({2027: {"holidays": [date(2027, 1, 1)]}})
    assert data.is_workday(date(2027, 1, 1)) is False
    with pytest.raises(ValueError, match="<data>: year 2027: holidays"):
        HolidayData.from_mapping({2027: {"holidays": [20270101]}})
    with pytest.raises(ValueError, match="True is not a year"):
        HolidayData.from_mapping({True: {}})
