from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    smtp_url: str | None = None
    smtp_from: str = "louzhang@localhost"
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    dingtalk_base_url: str = "https://oapi.dingtalk.com"
    # Attempts in all, the first included, before a delivery is `failed`.
    notify_max_attempts: int = Field(default=8, ge=1)
    # The first retry's delay in seconds; it doubles with each attempt (with jitter).
    notify_backoff_s: float = Field(default=5.0, gt=0)
    # WeCom and DingTalk robots take 20 messages a minute; more are bundled, not dropped.
    notify_robot_limit: int = Field(default=20, ge=1)
    notify_robot_window_s: float = Field(default=60.0, gt=0)
    # A send claimed by a process that died is tried again (same delivery id) after this.
    notify_lease_s: float = Field(default=60.0, gt=0)
    # Outside sends in flight at once.
    notify_concurrency: int = Field(default=20, ge=1)
    # Open `GET /v1/inbox/stream`s per staff member and per process; the next one gets 429.
    inbox_streams_per_staff: int = Field(default=5, ge=1)
    inbox_streams_per_process: int = Field(default=1000, ge=1)
    # Seconds between the comment lines an idle stream sends, by which a dead client is noticed.
    inbox_heartbeat_s: float = Field(default=15.0, gt=0)
