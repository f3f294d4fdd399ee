from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from chassis.settings import ServiceSettings
from intake.open311.mapping import DEFAULT_PUBLIC_FIELDS, parse_public_fields


class IntakeSettings(ServiceSettings):
    # Record demo visits to the demo enterprises when there are none yet (make run).
    demo: bool = False
    # A new issue at the same building and service whose description is at least this
    # similar (0..1) to one submitted within the window is marked `possible_duplicate_of`.
    duplicate_window: timedelta = Field(default=timedelta(days=7), ge=timedelta(0))
    duplicate_similarity: float = Field(default=0.9, gt=0, le=1)
    # Open311 reads of requests (GET requests, requests/{id}, tokens/{token}) need an api_key
    # and show the caller's own requests in full. When true, a read without a key is answered
    # too, each request cut down to `open311_public_fields`. services.* stay public either way.
    # The one jurisdiction this Open311 endpoint serves (GeoReport's jurisdiction_id).
    open311_jurisdiction: str = Field(default="putuo", min_length=1, max_length=100)
    # A request with only lat/long goes to the nearest building within this many metres.
    open311_radius_m: float = Field(default=300.0, gt=0, le=100_000)
    open311_public_read: bool = False
    # What a public read shows: comma-separated names of a GeoReport request's fields
    # (intake.open311.mapping.REQUEST_FIELDS); an unknown name stops the service at startup.
    open311_public_fields: str = ",".join(DEFAULT_PUBLIC_FIELDS)

    @field_validator("open311_public_fields")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        return ",".join(parse_public_fields(value))

    @property
    def open311_public(self) -> tuple[str, ...]:
        return tuple(self.open311_public_fields.split(","))  # checked and normalised above
