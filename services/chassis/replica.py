"""A service's local copy of the directory, fed by `directory.updated`.

Replicas of one service share a queue, so only one of them receives each event:
the copy lives in the database and every replica refreshes its memory from it.
"""

from __future__ import annotations

import logging

from chassis.loops import run_forever
from chassis.outage import Unavailable
from chassis.store import Store, keep_newest
from kernel.directory import Directory, DirectoryIndex
from kernel.events import DirectoryUpdated, Event
from kernel.strict import READ
from kernel.times import utcnow

log = logging.getLogger(__name__)


class DirectoryReplica:
    def __init__(self, store: Store) -> None:
        self.collection = store.col("directory")
        self.version = 0
        self.index: DirectoryIndex | None = None

    @property
    def held(self) -> bool:
        return self.index is not None

    async def apply(self, event: Event, data: DirectoryUpdated) -> None:
        """Keep the newest version; an older or repeated event changes nothing."""
        await keep_newest(
            self.collection,
            "current",
            data.version,
            {"document": data.directory.model_dump(mode="json"), "event_id": event.id, "at": utcnow()},
        )
        await self.refresh()

    async def refresh(self) -> None:
        held = await self.collection.find_one({"_id": "current"}, {"version": 1})
        if held is None or held["version"] == self.version:
            return
        doc = await self.collection.find_one({"_id": "current"})
        if doc is None:
            return
        self.index = DirectoryIndex(Directory.model_validate(doc["document"], context=READ))
        self.version = doc["version"]
        log.info("holding directory version %d", self.version)

    async def follow(self, every_s: float = 1.0) -> None:
        """Pick up versions another replica of this service received."""

        async def step() -> int:
            await self.refresh()
            return 0

        await run_forever(step, name="directory refresh", idle_s=every_s)

    def is_admin(self, staff_id: str) -> bool:
        """A named admin in the version held now (`staff[].admin`)."""
        return self.index is not None and staff_id in self.index.admins

    def require(self) -> DirectoryIndex:
        if self.index is None:
            raise Unavailable("no directory received yet")
        return self.index
