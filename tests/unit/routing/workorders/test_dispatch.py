"""Contract, Dispatch/escalation rules 1-3."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.directory import Directory, DirectoryIndex
from routing.workorders.dispatch import assignees, dispatch, escalation_chain, level_name


def _index(doc: dict[str, Any]) -> DirectoryIndex:
    return DirectoryIndex(Directory.model_validate(doc))


def _chain(index: DirectoryIndex, building: str, service: str) -> list[list[str]]:
    b = index.buildings[building]
    return escalation_chain(index, b, assignees(b, index.services[service]))


# ---- rule 1 -----------------------------------------------------------------


def test_assignees_is_the_team_member_holding_the_role(index: DirectoryIndex) -> None:
    assert assignees(index.buildings["B1"], index.services["fire-safety"]) == ["S6"]


def test_assignees_are_both_heads_of_a_double_head_building_without_the_role(index: DirectoryIndex) -> None:
    assert assignees(index.buildings["B1"], index.services["talent"]) == ["S4", "S5"]


def test_assignees_are_the_single_head_when_the_team_lacks_the_role(index: DirectoryIndex) -> None:
    assert assignees(index.buildings["B2"], index.services["fire-safety"]) == ["S7"]


# ---- rule 2 -----------------------------------------------------------------


def test_chain_runs_assignees_building_node_ancestors_to_root(index: DirectoryIndex) -> None:
    assert _chain(index, "B1", "fire-safety") == [["S6"], ["S4", "S5"], ["S3"], ["S2"], ["S1"]]


def test_chain_drops_building_heads_equal_to_the_assignees(index: DirectoryIndex) -> None:
    # talent at B1: assignees are the heads, so the heads level is not repeated
    assert _chain(index, "B1", "talent") == [["S4", "S5"], ["S3"], ["S2"], ["S1"]]


def test_chain_drops_a_level_equal_as_a_set_whatever_the_order(doc: dict[str, Any]) -> None:
    doc["grid"]["children"][0]["children"][0]["heads"] = ["S5", "S4"]  # leaf heads = B1 heads, reordered
    assert _chain(_index(doc), "B1", "fire-safety") == [["S6"], ["S4", "S5"], ["S2"], ["S1"]]


def test_chain_keeps_equal_levels_that_are_not_consecutive(doc: dict[str, Any]) -> None:
    doc["grid"]["children"][0]["children"][0]["heads"] = ["S1"]  # leaf S1, mid S2, root S1
    assert _chain(_index(doc), "B1", "fire-safety") == [["S6"], ["S4", "S5"], ["S1"], ["S2"], ["S1"]]


def test_chain_of_a_building_on_the_root_is_shallow(index: DirectoryIndex) -> None:
    assert _chain(index, "B2", "fire-safety") == [["S7"], ["S1"]]


def test_chain_of_a_building_on_a_middle_node(index: DirectoryIndex) -> None:
    assert _chain(index, "B4", "talent") == [["S4"], ["S2"], ["S1"]]


def test_chain_of_a_deeper_grid_climbs_every_ancestor(doc: dict[str, Any]) -> None:
    leaf = doc["grid"]["children"][0]["children"][0]
    leaf["children"] = [
        {"id": "d4", "name": "四级", "heads": ["S7"], "children": [{"id": "d5", "name": "五级", "heads": ["S8"]}]}
    ]
    doc["buildings"][0]["grid_node"] = "d5"
    assert _chain(_index(doc), "B1", "fire-safety") == [["S6"], ["S4", "S5"], ["S8"], ["S7"], ["S3"], ["S2"], ["S1"]]


def test_chain_skips_a_grid_node_without_heads(doc: dict[str, Any]) -> None:
    doc["grid"]["children"][0]["heads"] = []  # mid has no head: leaf's heads are followed by the root's
    assert _chain(_index(doc), "B1", "fire-safety") == [["S6"], ["S4", "S5"], ["S3"], ["S1"]]


# ---- rule 3 -----------------------------------------------------------------


def test_dispatch_notifies_level_0_only_for_a_normal_service(index: DirectoryIndex) -> None:
    d = dispatch(index, index.buildings["B1"], index.services["talent"])
    assert (d.level, d.notify, d.assignees) == (0, ["S4", "S5"], ["S4", "S5"])
    assert d.chain == [["S4", "S5"], ["S3"], ["S2"], ["S1"]]


def test_dispatch_of_an_urgent_service_notifies_levels_0_and_1_and_starts_at_1(index: DirectoryIndex) -> None:
    d = dispatch(index, index.buildings["B1"], index.services["fire-safety"])
    assert d.level == 1
    assert d.notify == ["S6", "S4", "S5"]
    assert d.assignees == ["S6"]


def test_dispatch_of_an_urgent_service_with_a_one_level_chain_stays_at_0(doc: dict[str, Any]) -> None:
    doc["buildings"][1]["heads"] = ["S1"]  # B2 on the root, headed by the root's head
    index = _index(doc)
    d = dispatch(index, index.buildings["B2"], index.services["fire-safety"])
    assert (d.chain, d.level, d.notify) == ([["S1"]], 0, ["S1"])


# ---- properties over random grids -------------------------------------------

STAFF = [f"P{i}" for i in range(6)]  # a small pool, so that levels often coincide
heads_st = st.lists(st.sampled_from(STAFF), min_size=1, max_size=3, unique=True)
maybe_heads_st = st.one_of(st.just([]), heads_st)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DirectoryIndex, str, str]:
    n = draw(st.integers(1, 8))
    # Below the root a node may lack heads (invalid as a document, but the chain must still hold up).
    nodes = [
        {"id": f"N{i}", "name": f"节点{i}", "heads": draw(heads_st if i == 0 else maybe_heads_st), "children": []}
        for i in range(n)
    ]
    for i in range(1, n):
        nodes[draw(st.integers(0, i - 1))]["children"].append(nodes[i])
    team = {"safety": draw(st.sampled_from(STAFF))} if draw(st.booleans()) else {}
    building = {
        "id": "B",
        "name": "楼",
        "grid_node": f"N{draw(st.integers(0, n - 1))}",
        "heads": draw(st.lists(st.sampled_from(STAFF), min_size=1, max_size=2, unique=True)),
        "team": team,
    }
    doc = {
        "roles": [{"code": "safety", "name": "安全"}],
        "staff": [{"id": s, "name": s} for s in STAFF],
        "grid": nodes[0],
        "buildings": [building],
        "services": [
            {
                "code": "svc",
                "name": "服务",
                "role": "safety",
                "urgent": draw(st.booleans()),
                "sla": {"acknowledge": "PT30M", "resolve": "PT1H"},
            }
        ],
    }
    return _index(doc), "B", "svc"


@settings(database=None, max_examples=200)
@given(scenarios())
def test_chain_properties(scenario: tuple[DirectoryIndex, str, str]) -> None:
    index, b_id, s_id = scenario
    building, service = index.buildings[b_id], index.services[s_id]
    chain = escalation_chain(index, building, assignees(building, service))
    assert chain[0] == assignees(building, service)
    assert all(chain), "every level is non-empty"
    assert all(set(a) != set(b) for a, b in pairwise(chain))
    assert set(chain[-1]) == set(index.directory.grid.heads)
    assert all(len(level) == len(set(level)) for level in chain)


@settings(database=None, max_examples=200)
@given(scenarios())
def test_dispatch_properties(scenario: tuple[DirectoryIndex, str, str]) -> None:
    index, b_id, s_id = scenario
    service = index.services[s_id]
    d = dispatch(index, index.buildings[b_id], service)
    expected_level = 1 if service.urgent and len(d.chain) > 1 else 0
    assert d.level == expected_level
    assert set(d.notify) == {m for level in d.chain[: expected_level + 1] for m in level}
    assert len(d.notify) == len(set(d.notify))


def test_levels_are_named_by_the_grid(index: DirectoryIndex) -> None:
    building = index.buildings["B1"]
    chain = escalation_chain(index, building, ["S6"])
    assert [level_name(index, building, chain, lvl) for lvl in range(len(chain))] == [
        "安全保障员",
        "点楼长（电科大厦）",
        "分楼长（天地软件园）",
        "分楼长（分网格）",
        "总楼长（长征镇）",
    ]
    assert level_name(index, building, chain, 9) == "第10层"
