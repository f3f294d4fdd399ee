"""Opaque cursors over ObjectId-keyed collections, newest first."""

from __future__ import annotations

import base64
from typing import Any, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from fastapi.exceptions import RequestValidationError

T = TypeVar("T", bound=dict[str, Any])


def encode_cursor(last_id: ObjectId) -> str:
    return base64.urlsafe_b64encode(last_id.binary).decode().rstrip("=")


def decode_cursor(cursor: str) -> ObjectId:
    """The id to continue below; 422 for a cursor this service did not hand out."""
    try:
        return ObjectId(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (InvalidId, ValueError, TypeError) as exc:
        raise RequestValidationError(
            [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}]
        ) from exc


def page(docs: list[T], limit: int) -> tuple[list[T], str | None]:
    """Cut a query result fetched with `limit + 1` into a page and its next cursor."""
    if len(docs) > limit:
        return docs[:limit], encode_cursor(docs[limit - 1]["_id"])
    return docs, None
