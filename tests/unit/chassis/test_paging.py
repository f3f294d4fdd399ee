"""chassis.paging: opaque cursors and pages cut from limit + 1 results."""

from __future__ import annotations

import pytest
from bson import ObjectId
from fastapi.exceptions import RequestValidationError

from chassis.paging import decode_cursor, encode_cursor, page


def test_a_cursor_round_trips() -> None:
    for _ in range(20):
        oid = ObjectId()
        cursor = encode_cursor(oid)
        assert "=" not in cursor and str(oid) not in cursor
        assert decode_cursor(cursor) == oid


@pytest.mark.parametrize("cursor", ["", "garbage!", "楼长", "AAAA", encode_cursor(ObjectId()) + "AAAA"])
def test_a_garbage_cursor_is_a_422(cursor: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        decode_cursor(cursor)
    assert info.value.errors()[0]["loc"] == ["query", "cursor"]


def test_page_cuts_the_extra_result_and_points_at_the_last_kept() -> None:
    docs = [{"_id": ObjectId(), "n": i} for i in range(4)]
    items, cursor = page(docs, 3)
    assert items == docs[:3]
    assert cursor is not None and decode_cursor(cursor) == docs[2]["_id"]


@pytest.mark.parametrize("n", [0, 2, 3])
def test_the_last_page_has_no_cursor(n: int) -> None:
    docs = [{"_id": ObjectId()} for _ in range(n)]
    assert page(docs, 3) == (docs, None)
