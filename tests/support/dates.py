"""Date and time query parameters, found in a service's OpenAPI document, and edge values for them.

A parameter is a date parameter when its schema has a `date` or `date-time` format, or its
description says `RFC 3339` (how every Louzhang date parameter is described). The edge values
are shared by tests/integration/test_dates.py (each value on each parameter) and
tests/integration/test_fuzz.py (schemathesis draws them, and more, for those parameters).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st

# Well-formed, outside what kernel.times takes ([1970-01-01T00:00Z, 2100-01-01T00:00Z)):
# refused naming the parameter ("out of range").
OUT_OF_RANGE = (
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31",
    "2100-01-01T00:00:00Z",
    "2200-01-01",
    "1969-12-31T23:59:59Z",
    "1970-01-01",  # 00:00 Asia/Shanghai is still 1969 in UTC
)
# Not a date or a date-time with a zone: refused naming the parameter. A leap second is here:
# RFC 3339 allows 23:59:60, Python's datetime (and so Louzhang) does not.
MALFORMED = (
    "2026-12-31T23:59:60Z",
    "2016-12-31T23:59:60+00:00",
    "2026-02-29",
    "2026-02-30",
    "2026-13-01",
    "2026-11-20T24:00:00Z",
    "2026-11-20T10:00:00+24:00",
    "2026-11-20T10:00:00",
    "0000-01-01",
    "-0001-01-01",
    "+12026-01-01",
    "99999-01-01",
    "２０２６-01-01",
    "2026-11-20T10:00:00Zjunk",
    "not a date",
    "1e10",
)
# Taken (the range's edges, leap days, extreme offsets) or, for some endpoints, refused for
# another reason (a start after the default end): never a server error.
INSIDE = (
    "1970-01-01T00:00:00Z",
    "2099-12-31T23:59:59.999999Z",
    "2099-12-31T23:59:59-14:00",
    "2028-02-29",
    "2026-11-20T10:00:00+14:00",
    "2026-11-20T10:00:00-12:00",
    "2026-11-20T10:00:00.123456789Z",
    "2026-11-20 10:00:00z",
)
EDGES = OUT_OF_RANGE + MALFORMED + INSIDE
FORMAT = "louzhang-instant"


@dataclass(frozen=True)
class DateParameter:
    path: str
    method: str
    name: str

    @property
    def open311(self) -> bool:
        return self.path.startswith("/open311/")

    def url(self, base: str) -> str:
        """The path with its `{fmt}` filled in (JSON); a date parameter needs no other path parameter."""
        path = self.path.replace("{fmt}", "json")
        assert "{" not in path, f"{self.path}: a date parameter beside another path parameter"
        return base + path


def is_date(parameter: dict[str, Any]) -> bool:
    if parameter.get("in") != "query":
        return False
    schema = parameter.get("schema") or {}
    formats = {schema.get("format")} | {s.get("format") for s in schema.get("anyOf", [])}
    described = f"{parameter.get('description') or ''} {schema.get('description') or ''}"
    return bool(formats & {"date", "date-time"}) or "RFC 3339" in described


def date_parameters(spec: dict[str, Any]) -> list[DateParameter]:
    return [
        DateParameter(path, method.upper(), parameter["name"])
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if is_date(parameter)
    ]


def with_instant_format(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of `spec` whose date parameters are strings of FORMAT, so that schemathesis
    draws them from `instants()` (register it with schemathesis.openapi.format)."""
    spec = copy.deepcopy(spec)
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if is_date(parameter):
                    parameter["schema"] = {"type": "string", "format": FORMAT}
    return spec


_OFFSETS = ("Z", "+08:00", "-14:00", "+14:00", "+23:59", "-00:00", "")


def instants() -> st.SearchStrategy[str]:
    """The edge values; date-times that are taken; dates and date-times of any year 1 to 9999
    with any offset (or none); leap seconds."""
    any_datetime = st.builds(
        lambda moment, offset: moment.isoformat() + offset,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.sampled_from(_OFFSETS),
    )
    leap_second = st.builds(lambda day: f"{day.isoformat()}T23:59:60Z", st.dates())
    taken = st.builds(
        lambda moment, offset: moment.isoformat() + offset,
        st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30)),
        st.sampled_from(("Z", "+08:00", "-14:00", "+14:00")),
    )
    return st.one_of(
        st.sampled_from(EDGES),
        taken,
        st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
        any_datetime,
        leap_second,
    )
