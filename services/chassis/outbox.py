"""The outbox relay: events stored with the change that caused them (`Store.add_to_outbox`, in the
same transaction) are published from here and marked sent only once the broker confirms them
(architecture: reliability rule 1)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

from pymongo import ASCENDING

from chassis.bus import Bus
from chassis.loops import run_forever
from chassis.store import Store
from kernel.events import Event
from kernel.times import utcnow

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes stored events and marks them sent once the broker confirms.

    The events this process commits are handed over in memory (`hand_over`) and
    published at once: one write per pass marks them sent. A poller picks up what
    other replicas, an earlier life of this process or a failed publish left behind,
    claiming batches with a lease so that replicas rarely publish the same event
    twice; when they do, consumers drop the repeat by event id.
    """

    LEASE = timedelta(seconds=30)

    def __init__(self, store: Store, bus: Bus, *, batch: int = 200, poll_s: float = 0.5) -> None:
        self.store = store
        self.bus = bus
        self.batch = batch
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._fresh: list[Event] = []
        self._next_poll = 0.0
        self.owner = uuid.uuid4().hex
        store.outbox_owner = self.owner
        store.on_commit = self.hand_over

    def hand_over(self, events: list[Event]) -> None:
        """Events of a committed transaction, to publish now."""
        if events:
            self._fresh.extend(events)
            self._wake.set()

    async def run(self) -> None:
        await run_forever(self.publish_batch, name="outbox relay", idle_s=self.poll_s, wake=self._wake)

    async def publish_batch(self) -> int:
        done = await self._publish_fresh()
        if time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + self.poll_s
            done += await self._publish_left_behind()
        return done

    async def _publish_fresh(self) -> int:
        fresh, self._fresh = self._fresh[: self.batch], self._fresh[self.batch :]
        if not fresh:
            return 0
        if not self.bus.connected:
            await self._leave_to_poller([e.id for e in fresh], delay=timedelta(0))
            raise ConnectionError("RabbitMQ is not connected")
        await self._publish(fresh)
        return len(fresh)

    async def _publish_left_behind(self) -> int:
        outbox = self.store.outbox
        now = utcnow()
        due = {"sent": False, "lease_until": {"$lte": now}}
        ids = [d["_id"] async for d in outbox.find(due, {"_id": 1}).sort("created_at", ASCENDING).limit(self.batch)]
        if not ids:
            return 0
        if not self.bus.connected:
            raise ConnectionError("RabbitMQ is not connected")
        await outbox.update_many(
            {"_id": {"$in": ids}, **due}, {"$set": {"lease_until": now + self.LEASE, "owner": self.owner}}
        )
        claimed = (
            await outbox.find({"_id": {"$in": ids}, "owner": self.owner, "sent": False})
            .sort("created_at", ASCENDING)
            .to_list()
        )
        await self._publish([Event.model_validate(d["event"]) for d in claimed])
        # Whatever was left behind is published now: look again at once.
        self._next_poll = 0.0
        return len(claimed)

    async def _publish(self, events: list[Event]) -> None:
        """Publish, wait for every confirm, and mark the confirmed sent; what the broker did not
        confirm goes back to the poller and the pass fails (the loop pauses)."""
        results = await asyncio.gather(*(self.bus.publish(e) for e in events), return_exceptions=True)
        sent = [e.id for e, r in zip(events, results, strict=True) if not isinstance(r, BaseException)]
        failed = [e.id for e, r in zip(events, results, strict=True) if isinstance(r, BaseException)]
        if sent:
            await self.store.outbox.update_many({"_id": {"$in": sent}}, {"$set": {"sent": True, "sent_at": utcnow()}})
        if failed:
            await self._leave_to_poller(failed, delay=timedelta(seconds=1))
            first = next(r for r in results if isinstance(r, BaseException))
            log.warning("%d of %d events not confirmed, retrying: %r", len(failed), len(events), first)
            raise ConnectionError(f"publish failed: {first!r}")

    async def _leave_to_poller(self, ids: list[str], *, delay: timedelta) -> None:
        await self.store.outbox.update_many(
            {"_id": {"$in": ids}, "sent": False}, {"$set": {"lease_until": utcnow() + delay}}
        )
