"""SLA timers kept in MongoDB and claimed with a lease, so that each fires once
across restarts and with several routing replicas running."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from pymongo import ASCENDING, ReplaceOne, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.loops import run_forever
from chassis.store import Store
from kernel.times import utcnow
from routing.workorders.lifecycle import Arm, TimerKind

log = logging.getLogger(__name__)

FIRED = Counter("louzhang_timers_fired_total", "SLA timers fired by this process", ["kind"])

Timer = dict[str, Any]


class Timers:
    def __init__(self, store: Store, *, lease: timedelta = timedelta(seconds=15), poll_s: float = 0.25) -> None:
        self.store = store
        self.timers = store.col("timers")
        self.lease = lease
        self.poll_s = poll_s
        self.owner = uuid.uuid4().hex

    async def ensure_indexes(self) -> None:
        await self.timers.create_index([("due", ASCENDING)])
        await self.timers.create_index([("issue_id", ASCENDING)])

    async def arm(self, session: AsyncClientSession, arms: Iterable[tuple[str, Arm]]) -> None:
        """Arm (or re-arm: one per work order and kind) each issue's timer, in the caller's transaction."""
        writes = [
            ReplaceOne(
                {"_id": f"{issue_id}:{a.kind}"},
                {"issue_id": issue_id, "kind": a.kind, "due": a.due, "lease_until": a.due, "owner": None, **a.context},
                upsert=True,
            )
            for issue_id, a in arms
        ]
        if writes:
            await self.timers.bulk_write(writes, ordered=False, session=session)

    async def clear(self, session: AsyncClientSession, issue_id: str, *kinds: TimerKind) -> None:
        """Clear the issue's timers of these kinds (all of them when none is named)."""
        await self.timers.delete_many(
            {"_id": {"$in": [f"{issue_id}:{k}" for k in kinds]}} if kinds else {"issue_id": issue_id}, session=session
        )

    async def claim(self) -> Timer | None:
        now = utcnow()
        return await self.timers.find_one_and_update(
            {"due": {"$lte": now}, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + self.lease, "owner": self.owner}},
            sort=[("due", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def release(self, session: AsyncClientSession, timer: Timer) -> None:
        """Delete a claimed timer in the transaction of its effect; if its lease was lost
        to another replica meanwhile, the transaction aborts and the effect is not applied."""
        result = await self.timers.delete_one(
            {"_id": timer["_id"], "owner": self.owner, "lease_until": timer["lease_until"]}, session=session
        )
        if result.deleted_count != 1:
            raise LeaseLost(f"timer {timer['_id']} was re-armed or claimed by another replica")

    async def run(self, fire: Callable[[Timer], Awaitable[None]]) -> None:
        """Fire due timers for ever."""

        async def step() -> int:
            timer = await self.claim()
            if timer is None:
                return 0
            try:
                await fire(timer)
            except LeaseLost as exc:
                log.info("%s", exc)
                return 1
            FIRED.labels(timer["kind"]).inc()
            return 1

        await run_forever(step, name="timers", idle_s=self.poll_s)


class LeaseLost(Exception):
    pass
