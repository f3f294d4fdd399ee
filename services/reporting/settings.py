from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.exceptions import RequestValidationError
from pydantic import Field, field_validator

from chassis.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    # 考核排名 weights of the response, resolution and satisfaction rates.
    ranking_weights: str = "0.1,0.5,0.4"
    # Seconds between refreshes of the KPI gauges on /metrics (LOUZHANG_KPI_REFRESH_S).
    kpi_refresh_s: float = Field(default=15.0, gt=0)
    # The workbench (docs/workbench.md): sign-in links, sessions, and where the services answer.
    signin_link_ttl: timedelta = Field(default=timedelta(minutes=10), gt=timedelta(0))
    session_idle: timedelta = Field(default=timedelta(hours=8), gt=timedelta(0))
    session_max: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    # Sign-in link requests a minute per client address and per name given (then 429).
    signin_per_min: int = Field(default=5, ge=1)
    # The SLA working calendar, as routing's (read for the 督办 lists' overdue working time).
    work_hours: str = "09:00-17:00"
    holidays_file: Path | None = None
    intake_url: str | None = None
    routing_url: str | None = None
    notify_url: str | None = None

    @field_validator("holidays_file", mode="before")
    @classmethod
    def unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    def service_url(self, service: str) -> str:
        """Where the workbench calls `service`: LOUZHANG_<SERVICE>_URL, else this host's port."""
        given = getattr(self, f"{service}_url")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return str(given) if given else f"http://{host}:{self.port(service)}"

    def weights(self, override: str | None = None) -> tuple[float, float, float]:
        text = override or self.ranking_weights
        try:
            parts = tuple(float(x) for x in text.split(","))
        except ValueError:
            parts = ()
        if len(parts) != 3 or any(p < 0 for p in parts):
            raise RequestValidationError(
                [
                    {
                        "loc": ["query", "weights"],
                        "msg": "three non-negative numbers: response,resolution,satisfaction",
                        "type": "value_error",
                    }
                ]
            )
        return parts[0], parts[1], parts[2]
