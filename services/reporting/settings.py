from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import Field

from louzhang.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    # 考核排名 weights of the response, resolution and satisfaction rates.
    ranking_weights: str = "0.1,0.5,0.4"
    # Seconds between refreshes of the KPI gauges on /metrics (LOUZHANG_KPI_REFRESH_S).
    kpi_refresh_s: float = Field(default=15.0, gt=0)

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
