"""What the Open311 routes need beyond the issues service: api_key checks and the request queries."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from intake.issues.service import visible_filter
from intake.open311.mapping import MAX_REQUESTS, Forbidden
from louzhang.auth import InvalidToken, Kind, Principal, Tokens

Doc = dict[str, Any]

# Who may POST requests: the systems Open311 serves, and the admin.
SUBMITTERS: tuple[Kind, ...] = ("system", "admin")


def principal_of(tokens: Tokens, api_key: str | None, kinds: tuple[Kind, ...] | None = None) -> Principal:
    """The caller an api_key stands for; `Forbidden` (403) when missing, invalid or of another kind."""
    if not api_key:
        raise Forbidden("api_key is required")
    try:
        who = tokens.verify(api_key)
    except InvalidToken as exc:
        raise Forbidden(f"invalid api_key: {exc}") from exc
    if kinds is not None and who.kind not in kinds:
        raise Forbidden(f"a {who.kind} token may not do this: api_key must be a system token")
    return who


def visible(who: Principal | None) -> Doc:
    """Public read: everything; otherwise what the caller may read through /v1 (a system its own)."""
    return {} if who is None else visible_filter(who, None)


async def find_requests(issues: AsyncCollection[Doc], query: Doc, who: Principal | None) -> list[Doc]:
    """Newest first, at most 1,000. The query is led by an `_id` range (see mapping.query_filter),
    so the `_id` index (alone, or after `submitted_by.subject` for a private reader) serves it."""
    cursor = issues.find({"$and": [visible(who), query]}).sort("_id", DESCENDING).limit(MAX_REQUESTS)
    return await cursor.to_list()


async def find_request(issues: AsyncCollection[Doc], request_id: str, who: Principal | None) -> Doc | None:
    try:
        oid = ObjectId(request_id)
    except (InvalidId, TypeError):
        return None
    return await issues.find_one({"_id": oid, **visible(who)})
