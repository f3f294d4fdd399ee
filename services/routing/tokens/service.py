"""The tokens routing has issued or seen: listed per subject, revoked by jti.

A record is written when a token is issued, or the first time any service reports it
(`token.seen`: tokens issued before records were kept). Revoking a token marks its record and
publishes `token.revoked` with every revoked token not yet expired, which every service keeps.
Records of expired tokens are dropped by MongoDB (TTL on `expires_at`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.auth import Issued, Tokens
from chassis.store import Store
from kernel.events import Event, RevokedToken, TokenRevoked, TokenSeen, new_event
from kernel.times import utcnow


class UnknownToken(Exception):
    pass


def live(now: datetime) -> dict[str, Any]:
    """The filter of tokens that still let their holder in."""
    return {"revoked_at": None, "$or": [{"expires_at": None}, {"expires_at": {"$gt": now}}]}


class TokenRegistry:
    def __init__(self, store: Store, tokens: Tokens) -> None:
        self.store = store
        self.tokens = tokens
        self.records = store.col("tokens")
        self.counter = store.col("token_revisions")

    async def ensure_indexes(self) -> None:
        await self.records.create_index("jti", unique=True)
        await self.records.create_index([("subject", 1), ("_id", DESCENDING)])
        await self.records.create_index("expires_at", expireAfterSeconds=0)

    async def issue(
        self, kind: Literal["staff", "system"], subject: str, ttl: timedelta | None, issued_by: str | None = None
    ) -> Issued:
        """A new token, recorded with who asked for it (`admin`, or a named admin's staff id)."""
        issued = self.tokens.mint(kind, subject, ttl)
        record = self._record(issued.jti, kind, subject, issued.issued_at, issued.expires_at)
        await self.records.insert_one({**record, "issued_by": issued_by})
        return issued

    async def record(self, event: Event, data: TokenSeen) -> None:
        """A token another service verified; recorded once, whichever report comes first."""
        doc = self._record(data.jti, data.kind, data.subject, data.issued_at, data.expires_at)
        await self.records.update_one({"jti": data.jti}, {"$setOnInsert": doc}, upsert=True)

    @staticmethod
    def _record(
        jti: str, kind: str, subject: str, issued_at: datetime | None, expires_at: datetime | None
    ) -> dict[str, Any]:
        return {
            "_id": ObjectId(),
            "jti": jti,
            "kind": kind,
            "subject": subject,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "recorded_at": utcnow(),
            "revoked_at": None,
        }

    async def live(self, subject: str | None, limit: int, after: ObjectId | None) -> list[dict[str, Any]]:
        query = live(utcnow())
        if subject is not None:
            query["subject"] = subject
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.records.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()

    async def revoke(self, jti: str, revoked_by: str | None = None) -> None:
        """Revoke a token (again: nothing changes); raises UnknownToken for a jti never recorded."""

        async def work(session: AsyncClientSession) -> TokenRevoked | None:
            now = utcnow()
            doc = await self.records.find_one({"jti": jti}, session=session)
            if doc is None:
                raise UnknownToken(jti)
            if doc["revoked_at"] is not None:
                return None
            await self.records.update_one(
                {"jti": jti}, {"$set": {"revoked_at": now, "revoked_by": revoked_by}}, session=session
            )
            counter = await self.counter.find_one_and_update(
                {"_id": "revocations"},
                {"$inc": {"version": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            revoked = await self.records.find(
                {"revoked_at": {"$ne": None}, "$or": [{"expires_at": None}, {"expires_at": {"$gt": now}}]},
                {"jti": 1, "expires_at": 1},
                session=session,
            ).to_list()
            data = TokenRevoked(
                version=counter["version"] if counter else 1,
                jti=jti,
                kind=doc["kind"],
                subject=doc["subject"],
                revoked=[RevokedToken(jti=r["jti"], expires_at=r["expires_at"]) for r in revoked],
            )
            await self.store.add_to_outbox(
                [new_event("token.revoked", source="routing", subject=jti, data=data)], session
            )
            return data

        data = await self.store.transaction(work)
        if data is not None:  # refused here at once; elsewhere once the event arrives
            self.tokens.revoked = self.tokens.revoked | {jti}
