from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator

from chassis.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    # Load the demo Putuo directory when none exists yet.
    demo: bool = False
    work_hours: str = "09:00-17:00"
    holidays_file: Path | None = None
    autoclose: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    # How long a claimed timer stays another replica's before it may be claimed again.
    timer_lease_s: float = Field(default=15.0, gt=0)
    # The largest photo of a result (办结) taken, in bytes.
    photo_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)

    @field_validator("holidays_file", mode="before")
    @classmethod
    def unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value
