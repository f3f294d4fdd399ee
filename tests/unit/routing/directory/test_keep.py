"""Keeping channels across directory versions, and the changes a new version makes (pure)."""

from __future__ import annotations

import copy
from typing import Any

from kernel.directory import Directory
from routing.directory.keep import changes, keep_channels, posts
from tests.support.directory import small_directory


def directory(raw: dict[str, Any]) -> Directory:
    return Directory.model_validate(copy.deepcopy(raw))


def test_staff_given_no_channels_keep_the_current_ones() -> None:
    current = directory(small_directory())
    raw = small_directory()
    for member in raw["staff"]:
        member.pop("channels", None)
    raw["staff"][1]["channels"] = [{"type": "email"}]  # S02 is given channels: as given
    raw["staff"].append({"id": "S13", "name": "新人"})

    merged, kept = keep_channels(current, directory(raw))

    assert kept == ["S01", "S04", "S05"]
    by_id = {m.id: m for m in merged.staff}
    assert by_id["S01"].channels == current.staff[0].channels
    assert by_id["S05"].channels == current.staff[4].channels
    assert [c.type for c in by_id["S02"].channels] == ["email"]
    assert by_id["S13"].channels == []
    assert by_id["S03"].channels == []


def test_nothing_to_keep_without_a_current_version() -> None:
    new = directory(small_directory())
    assert keep_channels(None, new) == (new, [])


def test_the_merge_leaves_both_documents_alone() -> None:
    current = directory(small_directory())
    raw = small_directory()
    raw["staff"][0]["channels"] = []
    new = directory(raw)

    merged, _ = keep_channels(current, new)
    merged.staff[0].channels.clear()

    assert new.staff[0].channels == []
    assert current.staff[0].channels


def test_no_changes() -> None:
    doc = directory(small_directory())
    assert changes(doc, directory(small_directory())) == {"added": [], "removed": [], "moved": []}


def test_added_removed_and_moved() -> None:
    current = directory(small_directory())
    raw = small_directory()
    raw["staff"].append({"id": "S13", "name": "新人"})
    raw["buildings"][0]["team"]["safety"] = "S13"  # S05 leaves B1's safety post to S13
    raw["buildings"][1]["grid_node"] = "park"  # B2 moves from cbd to park
    raw["buildings"].append({"id": "B3", "name": "三号楼", "grid_node": "cbd", "heads": ["S09"]})
    raw["services"] = [s for s in raw["services"] if s["code"] != "quick"]
    raw["grid"]["children"][0]["children"] = [raw["grid"]["children"].pop(1)]  # cbd under park

    found = changes(current, directory(raw))

    assert found["added"] == [
        {"kind": "staff", "id": "S13", "name": "新人"},
        {"kind": "building", "id": "B3", "name": "三号楼"},
    ]
    assert found["removed"] == [{"kind": "service", "id": "quick", "name": "秒级时限测试事项"}]
    assert found["moved"] == [
        {
            "kind": "staff",
            "id": "S05",
            "name": "测试人员05",
            "field": "posts",
            "from": ["building B1: safety"],
            "to": [],
        },
        {
            "kind": "staff",
            "id": "S09",
            "name": "测试人员09",
            "field": "posts",
            "from": [],
            "to": ["building B3: head"],
        },
        {"kind": "grid_node", "id": "cbd", "name": "商务区", "field": "parent", "from": "town", "to": "park"},
        {"kind": "building", "id": "B2", "name": "二号楼", "field": "grid_node", "from": "cbd", "to": "park"},
    ]


def test_everything_is_added_to_no_directory() -> None:
    found = changes(None, directory(small_directory()))
    assert len(found["added"]) == 12 + 3 + 2 + 4
    assert found["removed"] == []
    assert found["moved"] == []


def test_posts() -> None:
    found = posts(directory(small_directory()))
    assert found["S01"] == ["grid node town: head"]
    assert found["S05"] == ["building B1: safety"]
    assert found["S07"] == ["building B2: head"]
    assert "S09" not in found


def test_an_admin_flag_given_or_dropped_is_listed() -> None:
    raw = small_directory()
    raw["staff"][0]["admin"] = True
    current = directory(raw)
    raw["staff"][0]["admin"] = False
    raw["staff"][1]["admin"] = True
    moved = changes(current, directory(raw))["moved"]
    assert [(c["id"], c["field"], c["from"], c["to"]) for c in moved] == [
        ("S01", "admin", True, False),
        ("S02", "admin", False, True),
    ]
