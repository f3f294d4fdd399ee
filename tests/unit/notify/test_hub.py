"""notify.inbox.hub: the stream caps and a listener's mailbox (no database: open, close and
dispatch touch none)."""

from __future__ import annotations

from typing import Any

import pytest

from notify.inbox.hub import InboxHub, Listener, TooManyStreams, over_cap


@pytest.mark.parametrize(
    ("for_staff", "in_process", "cap"),
    [(0, 0, None), (4, 9, None), (5, 9, "staff"), (0, 10, "process"), (5, 10, "process")],
)
def test_over_cap(for_staff: int, in_process: int, cap: str | None) -> None:
    assert over_cap(for_staff, in_process, per_staff=5, per_process=10) == cap


def hub() -> InboxHub:
    items: Any = None  # open, close and dispatch never touch the collection
    return InboxHub(items, per_staff=2, per_process=3)


async def test_streams_are_capped_per_staff_and_per_process_and_freed_on_close() -> None:
    h = hub()
    a1, a2 = h.open("A"), h.open("A")
    with pytest.raises(TooManyStreams, match="2 inbox streams are open for A") as per_staff:
        h.open("A")
    assert per_staff.value.cap == "staff"
    b1 = h.open("B")
    with pytest.raises(TooManyStreams, match="in this process") as per_process:
        h.open("C")
    assert per_process.value.cap == "process"
    h.close(a1)
    h.close(a1)  # closing twice frees one place only
    assert h.count == 2
    assert h.open("C").staff_id == "C"
    h.close(a2)
    h.close(b1)
    assert set(h.listeners) == {"C"}


async def test_an_item_reaches_every_listener_of_its_staff_member_only() -> None:
    h = hub()
    a1, a2, b = h.open("A"), h.open("A"), h.open("B")
    h.dispatch({"_id": 1, "staff_id": "A"})
    assert a1.queue.qsize() == a2.queue.qsize() == 1 and b.queue.empty()
    assert a1.wake.is_set() and not b.wake.is_set()


async def test_a_listener_that_falls_behind_catches_up_instead_of_growing() -> None:
    listener = Listener("A")
    for i in range(listener.queue.maxsize + 50):
        listener.push({"_id": i, "staff_id": "A"})
    assert listener.queue.qsize() == listener.queue.maxsize
    assert listener.catch_up
