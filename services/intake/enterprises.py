"""Intake's copy of routing's enterprises (企业档案), fed by `enterprise.updated`.

Submissions name an enterprise by id; intake checks it against this copy (known, and in the
issue's building) without asking routing. Kept in the database, so every replica reads the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from chassis.store import Store, keep_newest
from kernel.events import EnterpriseUpdated, Event
from kernel.times import utcnow


class EnterpriseCopy:
    def __init__(self, store: Store) -> None:
        self.collection = store.col("enterprises")

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("building_id")

    async def count(self) -> int:
        return await self.collection.count_documents({})

    async def all(self) -> AsyncIterator[dict[str, Any]]:
        """Every enterprise copy, by id."""
        async for copy in self.collection.find({}).sort("_id", 1):
            yield copy

    async def apply(self, event: Event, data: EnterpriseUpdated) -> bool:
        """Keep the newest `version` per enterprise: an older or repeated event changes nothing,
        whatever order the events arrive in. True when the copy changed."""
        enterprise = data.enterprise
        return await keep_newest(
            self.collection,
            enterprise.id,
            data.version,
            {
                "building_id": enterprise.building_id,
                "enterprise": enterprise.model_dump(mode="json"),
                "event_id": event.id,
                "at": utcnow(),
            },
        )

    async def buildings_of(self, enterprise_ids: Iterable[str]) -> dict[str, str]:
        """The building of each known enterprise among `enterprise_ids` (unknown ones are left out)."""
        ids = sorted(set(enterprise_ids))
        if not ids:
            return {}
        found = self.collection.find({"_id": {"$in": ids}}, {"building_id": 1})
        return {d["_id"]: d["building_id"] async for d in found}

    async def building_of(self, enterprise_id: str | None) -> str | None:
        if enterprise_id is None:
            return None
        return (await self.buildings_of([enterprise_id])).get(enterprise_id)

    async def find(self, enterprise_id: str) -> dict[str, Any] | None:
        """`{"building_id", "name"}` of a known enterprise, or None."""
        copy = await self.collection.find_one({"_id": enterprise_id}, {"building_id": 1, "enterprise.name": 1})
        if copy is None:
            return None
        return {"building_id": copy["building_id"], "name": copy["enterprise"]["name"]}
