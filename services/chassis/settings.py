"""Settings shared by every service; each service subclasses them once."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every Louzhang service reads from `LOUZHANG_*` variables (or `.env`)."""

    model_config = SettingsConfigDict(env_prefix="LOUZHANG_", env_file=".env", extra="ignore")

    mongo_url: str = "mongodb://127.0.0.1:27017/?replicaSet=rs0"
    mongo_db: str = "louzhang"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    admin_token: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8004"
    host: str = "127.0.0.1"
    intake_port: int = 8001
    routing_port: int = 8002
    notify_port: int = 8003
    reporting_port: int = 8004
    staff_token_ttl: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    rate_limit_per_min: int = Field(default=1200, ge=0)
    # Inside addresses that user-given webhook and callback URLs may reach anyway: comma-separated
    # `host:port`, `host` or CIDR entries (chassis.urls); the services' own ports never.
    outbound_allow: str = ""
    # How long a MongoDB operation may wait for a server before it counts as an outage.
    mongo_timeout_s: float = 5.0
    # Messages a consumer may hold unacknowledged.
    prefetch: int = 100

    def port(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def require_secrets(self) -> tuple[str, str]:
        """The admin token and JWT secret; a service without them must not start."""
        missing = [
            name
            for name, value in (("LOUZHANG_ADMIN_TOKEN", self.admin_token), ("LOUZHANG_JWT_SECRET", self.jwt_secret))
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise SystemExit(
                f"{' and '.join(missing)} not set: refusing to start. "
                "`make run` generates them in data/secrets.env; elsewhere set them in the environment."
            )
        assert self.admin_token is not None and self.jwt_secret is not None
        return self.admin_token.get_secret_value(), self.jwt_secret.get_secret_value()
