"""The workbench acts through the services' own APIs, with the signed-in person's rights.

Reporting signs a short-lived staff token for the person (every service holds the JWT secret) and
calls routing, intake and notify with it: the scope rules are the API's, not repeated here.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx

from chassis.auth import Tokens

TOKEN_TTL = timedelta(minutes=15)
RENEW_BEFORE_S = 5 * 60


class Upstream:
    def __init__(self, tokens: Tokens, urls: dict[str, str], *, timeout_s: float = 10.0) -> None:
        self.tokens = tokens
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.client = httpx.AsyncClient(timeout=timeout_s)
        self._held: dict[str, tuple[str, float]] = {}

    def token(self, staff_id: str) -> str:
        held = self._held.get(staff_id)
        if held is None or held[1] - time.monotonic() < RENEW_BEFORE_S:
            token = self.tokens.issue("staff", staff_id, TOKEN_TTL)
            held = self._held[staff_id] = (token, time.monotonic() + TOKEN_TTL.total_seconds())
        return held[0]

    def forget(self, staff_id: str) -> None:
        """Sign no more calls with the token held for this person (their sessions ended)."""
        self._held.pop(staff_id, None)

    async def call(self, staff_id: str, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(staff_id)}"}
        return await self.client.request(method, f"{self.urls[service]}{path}", headers=headers, **kwargs)

    async def close(self) -> None:
        await self.client.aclose()
