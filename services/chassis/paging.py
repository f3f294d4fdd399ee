"""Opaque cursors, newest first: the cursor holds the last id of the page."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from fastapi.exceptions import RequestValidationError

T = TypeVar("T", bound=dict[str, Any])


def _invalid() -> RequestValidationError:
    return RequestValidationError([{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}])


def encode_cursor(last_id: ObjectId | str) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor_text(cursor: str) -> str:
    """The id to continue below; 422 for a cursor this service did not hand out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _invalid() from exc
    if not text or len(text) > 64 or not text.isprintable():
        raise _invalid()
    return text


def decode_cursor(cursor: str) -> ObjectId:
    try:
        return ObjectId(decode_cursor_text(cursor))
    except InvalidId as exc:
        raise _invalid() from exc


def page(docs: list[T], limit: int) -> tuple[list[T], str | None]:
    """Cut a query result fetched with `limit + 1` into a page and its next cursor."""
    if len(docs) > limit:
        return docs[:limit], encode_cursor(docs[limit - 1]["_id"])
    return docs, None
