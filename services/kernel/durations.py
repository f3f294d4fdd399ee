"""ISO 8601 durations as the directory writes them (`PT30M`, `P5D`, `P1DT4H`).

Kept as given rather than as a `timedelta`: on the working calendar `P1D` (one
working day) and `PT24H` (twenty-four working hours) differ, and a timedelta
cannot tell them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

_PATTERN = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class Parts:
    """Whole days (a week is seven) and the seconds of the time part."""

    days: int
    seconds: float

    @property
    def natural(self) -> timedelta:
        return timedelta(days=self.days, seconds=self.seconds)


def parse(text: str) -> Parts:
    """Raises ValueError for anything but weeks, days, hours, minutes and seconds, or for a zero length."""
    match = _PATTERN.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration of weeks, days, hours, minutes or seconds (e.g. PT30M, P5D)"
        )
    g = {k: v or "0" for k, v in match.groupdict().items()}
    parts = Parts(
        days=int(g["weeks"]) * 7 + int(g["days"]),
        seconds=int(g["hours"]) * 3600 + int(g["minutes"]) * 60 + float(g["seconds"]),
    )
    if parts.days == 0 and parts.seconds == 0:
        raise ValueError(f"{text!r} is zero: a duration must be positive")
    return parts


def _check(text: str) -> str:
    parse(text)
    return text


Duration = Annotated[str, AfterValidator(_check)]
