"""What the Open311 routes need beyond the issues service: api_key checks and the request queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from chassis.auth import InvalidToken, Kind, Principal, Tokens
from intake.issues.service import Issues, visible_filter
from intake.open311.mapping import MAX_REQUESTS, Forbidden

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


@dataclass(frozen=True)
class Reader:
    """Who reads requests. `who`: the api_key's principal, None for a read without a key.
    `public`: public read is on, so every request is found, those `who` may not read in full
    cut down to the public fields; off, only what `who` may read is found at all."""

    who: Principal | None
    public: bool


def reader_of(tokens: Tokens, api_key: str | None, public_read: bool) -> Reader:
    """A key that is given is checked (403 when bad) even where none is needed; without a key
    only public read answers (403 `api_key is required` otherwise)."""
    if api_key:
        return Reader(principal_of(tokens, api_key), public_read)
    if public_read:
        return Reader(None, True)
    raise Forbidden("api_key is required")


def visible(who: Principal) -> Doc:
    """What the caller may read in full: what it may read through /v1 without the directory
    (a system its own requests, a staff member what it submitted, the admin everything)."""
    return visible_filter(who, None)


def _found(reader: Reader) -> Doc:
    """What a reader finds at all: everything under public read, else what it may read in full."""
    if reader.public:
        return {}
    assert reader.who is not None  # reader_of gives no keyless reader without public read
    return visible(reader.who)


async def _in_full(issues: Issues, ids: list[Any], reader: Reader) -> set[Any]:
    """Which of the found ids the reader may see in full."""
    if reader.who is None:
        return set()
    mine = visible(reader.who)
    if not reader.public or not mine:  # found through `mine` already, or the admin
        return set(ids)
    return await issues.ids_matching(ids, mine)


async def find_requests(issues: Issues, query: Doc, reader: Reader) -> list[tuple[Doc, bool]]:
    """(request, shown in full), newest first, at most 1,000. The query is led by an `_id` range
    (see mapping.query_filter), so the `_id` index (alone, or after `submitted_by.subject` for a
    private reader) serves it."""
    docs = await issues.find({"$and": [_found(reader), query]}, limit=MAX_REQUESTS)
    full = await _in_full(issues, [d["_id"] for d in docs], reader)
    return [(doc, doc["_id"] in full) for doc in docs]


async def find_request(issues: Issues, request_id: str, reader: Reader) -> tuple[Doc, bool] | None:
    """(request, shown in full), or None for an unknown id (or, without public read, another's)."""
    try:
        oid = ObjectId(request_id)
    except (InvalidId, TypeError):
        return None
    doc = await issues.find_one({"_id": oid, **_found(reader)})
    if doc is None:
        return None
    return doc, oid in await _in_full(issues, [oid], reader)
