"""Revoked tokens, as every service holds them, and the sightings routing records.

Routing revokes a token (`DELETE /v1/tokens/{jti}`) and publishes `token.revoked` with every
revoked token not yet expired. Each service keeps the newest such snapshot in its own collection
(replicas of a service share a queue, so only one of them receives each event) and every replica
reloads it from there each second: a revocation is refused everywhere within a few seconds.

Each signed token a service verifies for the first time is reported as `token.seen`, so that a
token issued before tokens were recorded can be listed and revoked too.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import partial

from chassis.auth import Tokens
from chassis.loops import run_forever
from chassis.outage import is_outage
from chassis.store import Store, keep_newest
from kernel.events import Event, TokenRevoked, TokenSeen, new_event
from kernel.times import utcnow

log = logging.getLogger(__name__)


def still_revoked(revoked: list[dict[str, object]], now: datetime) -> frozenset[str]:
    """The jtis of a snapshot that still matter: a token past its expiry is refused anyway."""
    out = set()
    for entry in revoked:
        expires = entry.get("expires_at")
        if not isinstance(expires, datetime) or expires > now:
            out.add(str(entry["jti"]))
    return frozenset(out)


class Revocations:
    def __init__(self, store: Store, tokens: Tokens) -> None:
        self.collection = store.col("revocations")
        self.tokens = tokens
        self.version = 0

    async def apply(self, event: Event, data: TokenRevoked) -> None:
        """Keep the newest snapshot; an older or repeated one changes nothing."""
        await keep_newest(
            self.collection,
            "current",
            data.version,
            {"revoked": [r.model_dump() for r in data.revoked], "event_id": event.id, "at": utcnow()},
        )
        await self.refresh()

    async def refresh(self) -> None:
        doc = await self.collection.find_one({"_id": "current"})
        if doc is not None:
            self.version = doc["version"]
            self.tokens.revoked = still_revoked(doc["revoked"], utcnow())

    async def follow(self, every_s: float = 1.0) -> None:
        """Pick up snapshots another replica of this service received."""

        async def step() -> int:
            await self.refresh()
            return 0

        await run_forever(step, name="revoked tokens reload", idle_s=every_s)


async def report_sightings(store: Store, tokens: Tokens, source: str, every_s: float = 1.0) -> None:
    """Publish `token.seen` (through the outbox) for the tokens first verified in this process."""
    while True:
        await asyncio.sleep(every_s)
        seen = list(tokens.unreported.values())[:500]
        if not seen:
            continue
        events = [
            new_event(
                "token.seen",
                source=source,
                subject=s.jti,
                data=TokenSeen(
                    jti=s.jti, kind=s.kind, subject=s.subject, issued_at=s.issued_at, expires_at=s.expires_at
                ),
            )
            for s in seen
        ]
        try:
            await store.transaction(partial(store.add_to_outbox, events))
        except Exception as exc:
            if not is_outage(exc):
                log.exception("reporting token sightings failed")
            continue
        tokens.reported([s.jti for s in seen])
