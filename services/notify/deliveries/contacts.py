"""Staff contact channels (with their secrets), held by notify alone, newest version only."""

from __future__ import annotations

from typing import Any

from chassis.store import Store, keep_newest
from kernel.events import DirectoryContactsUpdated, Event

Staff = dict[str, Any]


class Contacts:
    def __init__(self, store: Store) -> None:
        self.contacts = store.col("contacts")
        self._version = -1
        self._staff: dict[str, Staff] = {}

    async def apply(self, event: Event, data: DirectoryContactsUpdated) -> None:
        staff = [s.model_dump(mode="json") for s in data.staff]
        await keep_newest(self.contacts, "current", data.version, {"staff": staff, "event_id": event.id})

    async def staff(self) -> dict[str, Staff]:
        """Every staff member by id, reloaded only when a newer version arrived."""
        held = await self.contacts.find_one({"_id": "current"}, {"version": 1})
        if held is not None and held["version"] != self._version:
            doc = await self.contacts.find_one({"_id": "current"})
            if doc is not None:
                self._staff = {s["id"]: s for s in doc["staff"]}
                self._version = doc["version"]
        return self._staff


def channel_of(member: Staff | None, kind: str) -> dict[str, Any] | None:
    """The member's first channel of this type (one delivery per recipient and channel type)."""
    if member is None:
        return None
    return next((c for c in member.get("channels", []) if c["type"] == kind), None)
