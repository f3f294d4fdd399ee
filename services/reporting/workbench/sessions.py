"""Sign-in links and sessions of the workbench.

Only hashes are stored: a sign-in link's token and a session's id are random (256 bits) and kept
as SHA-256, so a database reader cannot sign in. A link is single use and short-lived; a session
has an idle and an absolute limit, ends at sign-out, when an admin revokes the person's sessions,
and as soon as the directory no longer holds the person (checked on every request).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from chassis.store import Store
from kernel.times import utcnow

# A session's last use is written at most this often.
TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no `//host`, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/my"
    return target


@dataclass(frozen=True)
class Session:
    staff_id: str
    csrf: str
    created_at: datetime
    last_seen: datetime

    def expires_at(self, idle: timedelta, longest: timedelta) -> datetime:
        return min(self.last_seen + idle, self.created_at + longest)

    def alive(self, now: datetime, idle: timedelta, longest: timedelta) -> bool:
        return now < self.expires_at(idle, longest)


class Sessions:
    def __init__(self, store: Store, *, link_ttl: timedelta, idle: timedelta, longest: timedelta) -> None:
        self.links = store.col("signin_links")
        self.sessions = store.col("sessions")
        self.link_ttl, self.idle, self.longest = link_ttl, idle, longest

    async def ensure_indexes(self) -> None:
        await self.links.create_index("expires_at", expireAfterSeconds=0)
        await self.sessions.create_index("expires_at", expireAfterSeconds=0)
        await self.sessions.create_index("staff_id")

    async def new_link(self, staff_id: str, next_path: str | None) -> tuple[str, datetime]:
        """A sign-in token for `staff_id` and when it expires."""
        token = secrets.token_urlsafe(32)
        expires = utcnow() + self.link_ttl
        await self.links.insert_one(
            {"_id": digest(token), "staff_id": staff_id, "next": safe_next(next_path), "expires_at": expires}
        )
        return token, expires

    async def redeem(self, token: str) -> tuple[str, str, str] | None:
        """Use a sign-in token once: (session id, staff id, where to go), or None if unknown, used or expired."""
        link = await self.links.find_one_and_delete({"_id": digest(token), "expires_at": {"$gt": utcnow()}})
        if link is None:
            return None
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        await self.sessions.insert_one(
            {
                "_id": digest(session_id),
                "staff_id": link["staff_id"],
                "csrf": secrets.token_urlsafe(24),
                "created_at": now,
                "last_seen": now,
                "expires_at": min(now + self.idle, now + self.longest),
            }
        )
        return session_id, link["staff_id"], link["next"]

    async def current(self, session_id: str) -> Session | None:
        """The live session with this id (its last use recorded), else None."""
        doc: dict[str, Any] | None = await self.sessions.find_one({"_id": digest(session_id)})
        if doc is None:
            return None
        session = Session(doc["staff_id"], doc["csrf"], doc["created_at"], doc["last_seen"])
        now = utcnow()
        if not session.alive(now, self.idle, self.longest):
            await self.sessions.delete_one({"_id": doc["_id"]})
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            touched = Session(session.staff_id, session.csrf, session.created_at, now)
            await self.sessions.find_one_and_update(
                {"_id": doc["_id"]},
                {"$set": {"last_seen": now, "expires_at": touched.expires_at(self.idle, self.longest)}},
                return_document=ReturnDocument.AFTER,
            )
            return touched
        return session

    async def end(self, session_id: str) -> None:
        await self.sessions.delete_one({"_id": digest(session_id)})

    async def end_all(self, staff_id: str) -> int:
        """End every session of a person (and void their unused links)."""
        await self.links.delete_many({"staff_id": staff_id})
        return (await self.sessions.delete_many({"staff_id": staff_id})).deleted_count
