from __future__ import annotations

from louzhang.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    pass
