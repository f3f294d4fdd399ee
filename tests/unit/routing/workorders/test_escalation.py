"""Escalation steps, 督办 recipients and the heads in scope of a work order."""

from __future__ import annotations

from kernel.directory import Directory, DirectoryIndex
from routing.workorders.dispatch import escalate, responsible_heads, supervisors


def index_of(grid: dict[str, object], grid_node: str) -> DirectoryIndex:
    staff = [{"id": f"S{i}", "name": f"S{i}"} for i in range(1, 10)]
    doc = {
        "roles": [],
        "staff": staff,
        "grid": grid,
        "buildings": [{"id": "B", "name": "B", "grid_node": grid_node, "heads": ["S9"]}],
        "services": [],
    }
    return DirectoryIndex(Directory.model_validate(doc))


GRID = {
    "id": "root",
    "name": "总",
    "heads": ["S1"],
    "children": [{"id": "mid", "name": "分", "heads": ["S2"], "children": [{"id": "leaf", "name": "点", "heads": []}]}],
}


def test_escalate_notifies_only_members_not_notified_before() -> None:
    chain = [["S5"], ["S5", "S4"], ["S2"]]
    assert escalate(chain, 0, ["S5"]) == (1, ["S4"])
    assert escalate(chain, 1, ["S5", "S4"]) == (2, ["S2"])


def test_escalate_at_the_top_is_none() -> None:
    assert escalate([["S5"], ["S4"]], 1, ["S5", "S4"]) is None
    assert escalate([["S5"]], 0, ["S5"]) is None


def test_supervisors_are_the_grid_node_heads_or_the_nearest_ancestors() -> None:
    index = index_of(GRID, "mid")
    assert supervisors(index, index.buildings["B"]) == ["S2"]
    index = index_of(GRID, "leaf")  # the leaf has no head: its parent supervises
    assert supervisors(index, index.buildings["B"]) == ["S2"]


def test_responsible_heads_are_the_building_heads_and_the_grid_heads_above_it() -> None:
    index = index_of(GRID, "leaf")
    assert responsible_heads(index, index.buildings["B"]) == {"S9", "S2", "S1"}
