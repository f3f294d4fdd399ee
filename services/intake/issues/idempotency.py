"""`Idempotency-Key`: the same key and body within 24 hours give the same issue, once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from chassis.auth import Principal
from chassis.store import Store
from kernel.times import utcnow

KEEP = timedelta(hours=24)
# A claim older than this whose request never finished (its process died, or the database went
# down before the claim could be released) may be taken over: a request takes far less (the
# database timeout is 5 s), and a client retrying after a crash waits at most this long.
ABANDONED = timedelta(seconds=10)


def fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Conflict(Exception):
    pass


Claim = tuple[Literal["new"], str] | tuple[Literal["done"], str]


class IdempotencyKeys:
    def __init__(self, store: Store) -> None:
        self.keys = store.col("idempotency")

    async def ensure_indexes(self) -> None:
        await self.keys.create_index("created_at", expireAfterSeconds=int(KEEP.total_seconds()))

    @staticmethod
    def key_of(who: Principal, key: str) -> str:
        return f"{who.kind}:{who.subject}:{key}"

    async def claim(self, who: Principal, key: str, body: Any) -> Claim:
        """("new", record id) to go ahead, ("done", issue id) for a repeat; Conflict for
        another body under the same key, or for a first request still in flight."""
        record_id, digest, now = self.key_of(who, key), fingerprint(body), utcnow()
        try:
            await self.keys.insert_one({"_id": record_id, "digest": digest, "state": "pending", "created_at": now})
            return ("new", record_id)
        except DuplicateKeyError:
            pass
        held = await self.keys.find_one({"_id": record_id})
        if held is None:  # expired in between
            return await self.claim(who, key, body)
        if held["digest"] != digest:
            raise Conflict("this Idempotency-Key was used with another body")
        if held["state"] == "done":
            return ("done", held["issue_id"])
        taken = await self.keys.update_one(
            {"_id": record_id, "state": "pending", "created_at": {"$lt": now - ABANDONED}},
            {"$set": {"created_at": now}},
        )
        if taken.modified_count == 1:
            return ("new", record_id)
        raise Conflict("a request with this Idempotency-Key is still in flight")

    async def complete_many(self, done: Sequence[tuple[str, str]], session: AsyncClientSession) -> None:
        """Mark claims (record id, issue id) done, in the transaction that stores their issues."""
        if done:
            await self.keys.bulk_write(
                [UpdateOne({"_id": record}, {"$set": {"state": "done", "issue_id": issue}}) for record, issue in done],
                session=session,
            )

    async def release(self, record_id: str) -> None:
        """Forget a claim whose request was refused, so that a corrected retry may use the key."""
        await self.keys.delete_one({"_id": record_id, "state": "pending"})
