"""The client: issues at a steady rate, each with its own Idempotency-Key, retried with the
same key and body on connection errors, timeouts, 5xx and 409 "still in flight" until a 201."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.directory import KINDS
from chaos.figures import Attempt


@dataclass
class Submission:
    index: int
    key: str
    body: dict[str, Any]
    issue_id: str | None = None
    attempts: int = 0
    accepted_after_s: float | None = None
    refused: str | None = None  # a reply that no retry can change (a bug or a bad run)


@dataclass
class Load:
    url: str
    token: str
    run_id: str
    issues: int
    rate: float
    deadline_s: float  # per issue, from its first attempt
    retries: Counter[str] = field(default_factory=Counter)
    submissions: list[Submission] = field(default_factory=list)
    # Every attempt: (sent at, on the monotonic clock; accepted), for the figures of a fault (chaos.figures).
    attempts: list[Attempt] = field(default_factory=list)
    finished_at: float | None = None  # monotonic, when the last issue was accepted or given up

    def __post_init__(self) -> None:
        for i in range(self.issues):
            building, service = KINDS[i % len(KINDS)]
            body = {
                "building_id": building,
                "service_code": service,
                "title": f"混沌测试 {i}",
                "description": f"chaos {self.run_id} issue {i:06}",
                "source": "chaos",
            }
            self.submissions.append(Submission(i, f"chaos-{self.run_id}-{i:06}", body))

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            start = time.monotonic()
            tasks = []
            for s in self.submissions:
                await asyncio.sleep(max(0.0, start + s.index / self.rate - time.monotonic()))
                tasks.append(asyncio.create_task(self.submit(client, s)))
            await asyncio.gather(*tasks)
        self.finished_at = time.monotonic()

    async def submit(self, client: httpx.AsyncClient, s: Submission) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": s.key}
        start = time.monotonic()
        pause = 0.25
        while True:
            s.attempts += 1
            sent = time.monotonic()
            try:
                r = await client.post(f"{self.url}/v1/issues", json=s.body, headers=headers)
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            else:
                if r.status_code == 201:
                    self.attempts.append(Attempt(sent, True, time.monotonic() - sent))
                    s.issue_id = str(r.json()["id"])
                    s.accepted_after_s = time.monotonic() - start
                    return
                # 409 while the first request with this key is still in flight (or its process died
                # holding the claim): the key frees itself; a 409 for another body would be a bug.
                if r.status_code >= 500 or r.status_code == 429 or (r.status_code == 409 and "in flight" in r.text):
                    reason = f"{r.status_code}"
                else:
                    self.attempts.append(Attempt(sent, False, time.monotonic() - sent, str(r.status_code)))
                    s.refused = f"{r.status_code} {r.text[:200]}"
                    return
            self.attempts.append(Attempt(sent, False, time.monotonic() - sent, reason))
            self.retries[reason] += 1
            if time.monotonic() - start > self.deadline_s:
                s.refused = f"not accepted within {self.deadline_s:.0f}s (last: {reason})"
                return
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 4.0)

    @property
    def accepted(self) -> list[Submission]:
        return [s for s in self.submissions if s.issue_id is not None]
