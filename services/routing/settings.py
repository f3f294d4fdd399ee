from __future__ import annotations

from louzhang.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    # Load the demo Putuo directory when none exists yet.
    demo: bool = False
