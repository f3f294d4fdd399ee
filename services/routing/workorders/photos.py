"""Photos of a work order's result (办结 with proof, as 12345 platforms ask), kept in GridFS.

An upload is an image by its content (JPEG, PNG, GIF or WebP signature; the name and the declared
type are ignored), at most `max_bytes`, at most MAX_PER_ORDER a work order. Its id is 128 random
bits: the page and Open311's `media_url` link to it by that id alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from chassis.store import Store
from kernel.times import utcnow

MAX_PER_ORDER = 9
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The image type its first bytes say, or None for anything that is not one of ours."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


class NotAnImage(ValueError):
    pass


class TooMany(ValueError):
    pass


@dataclass(frozen=True)
class Photo:
    id: str
    content_type: str
    data: bytes


class Photos:
    def __init__(self, store: Store, max_bytes: int) -> None:
        self.bucket = AsyncGridFSBucket(store.db, bucket_name=f"{store.service}_photos")
        self.files = store.db[f"{store.service}_photos.files"]
        self.max_bytes = max_bytes

    async def ensure_indexes(self) -> None:
        await self.files.create_index("metadata.issue_id")

    async def add(self, issue_id: str, data: bytes, by: str, already: int) -> dict[str, Any]:
        """Store one photo of `issue_id`; raises NotAnImage or TooMany."""
        kind = image_type(data)
        if kind is None:
            raise NotAnImage("not a JPEG, PNG, GIF or WebP image (checked by its content)")
        if already >= MAX_PER_ORDER:
            raise TooMany(f"a work order holds at most {MAX_PER_ORDER} photos")
        photo_id = secrets.token_urlsafe(16)
        now = utcnow()
        await self.bucket.upload_from_stream_with_id(
            photo_id,
            f"{issue_id}-{photo_id}",
            data,
            metadata={"issue_id": issue_id, "content_type": kind, "by": by, "at": now},
        )
        return {"id": photo_id, "content_type": kind, "size": len(data), "by": by, "at": now}

    async def get(self, photo_id: str) -> tuple[str, Photo] | None:
        """(issue id, photo), or None for an id never stored."""
        try:
            stream = await self.bucket.open_download_stream(photo_id)
        except NoFile:
            return None
        meta = stream.metadata or {}
        return str(meta.get("issue_id")), Photo(photo_id, str(meta.get("content_type")), await stream.read())
