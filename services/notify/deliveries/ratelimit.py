"""20 messages a minute per robot, counted in MongoDB so that every notify replica shares the count."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from chassis.store import Store


class RobotLimiter:
    """At most `limit` messages per robot in each window of `window_s` seconds."""

    def __init__(self, store: Store, limit: int, window_s: float = 60.0) -> None:
        self.windows = store.col("robot_windows")
        self.limit = limit
        self.length = timedelta(seconds=window_s)

    async def ensure_indexes(self) -> None:
        await self.windows.create_index("expires_at", expireAfterSeconds=0)

    def window(self, now: datetime) -> datetime:
        epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
        return now - (now - epoch) % self.length

    async def acquire(self, robot: str, now: datetime) -> bool:
        """Take one of the robot's messages in this window; False when none is left."""
        start = self.window(now)
        try:
            taken = await self.windows.find_one_and_update(
                {"_id": f"{robot}:{start.isoformat()}", "count": {"$lt": self.limit}},
                {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": start + 2 * self.length}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # the window exists and is full
        return taken is not None

    def next_window(self, now: datetime) -> datetime:
        return self.window(now) + self.length
