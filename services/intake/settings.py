from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from louzhang.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    # Record demo visits to the demo enterprises when there are none yet (make run).
    demo: bool = False
    # A new issue at the same building and service whose description is at least this
    # similar (0..1) to one submitted within the window is marked `possible_duplicate_of`.
    duplicate_window: timedelta = Field(default=timedelta(days=7), ge=timedelta(0))
    duplicate_similarity: float = Field(default=0.9, gt=0, le=1)
    # Open311 GETs need no api_key (as the GeoReport spec says); when false they need one
    # and show only the caller's own requests.
    open311_public_read: bool = True
