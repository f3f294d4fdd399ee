"""A small client of the four services for the tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.servers import Stack


class Api:
    def __init__(self, stack: Stack, token: str | None = None) -> None:
        self.stack = stack
        self.token = token if token is not None else stack.admin_token

    def headers(self, token: str | None = None) -> dict[str, str]:
        token = self.token if token is None else token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.stack.url(service)}{path}", headers=headers, timeout=10, **kwargs)

    def get(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", service, path, **kwargs)

    def post(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", service, path, **kwargs)

    def put(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", service, path, **kwargs)

    def as_token(self, token: str) -> Api:
        return Api(self.stack, token)

    def token_for(self, kind: str, subject: str) -> str:
        r = self.post("routing", "/v1/tokens", json={"kind": kind, "subject": subject})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])
