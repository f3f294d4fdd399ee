"""Contract, Directory: an invalid document is refused with every problem listed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel.directory import Directory
from routing.directory.validation import problems, problems_despite_shape

Doc = dict[str, Any]


def _problems(doc: Doc) -> list[tuple[str, list[Any]]]:
    found = problems(Directory.model_validate(doc))
    for p in found:
        assert p["loc"][0] == "body"
        assert isinstance(p["msg"], str) and p["msg"]
    return [(p["type"], p["loc"]) for p in found]


def _leaf(doc: Doc) -> Doc:
    return doc["grid"]["children"][0]["children"][0]


def _set(path: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: path(doc).__setitem__(key, value)


def _append(key: str, item: Callable[[Doc], Any]) -> Callable[[Doc], None]:
    return lambda doc: doc[key].append(item(doc))


def _b0(doc: Doc) -> Doc:
    return doc["buildings"][0]


CASES: dict[str, tuple[Callable[[Doc], None], str, list[Any]]] = {
    "unknown staff in building heads": (
        _set(_b0, "heads", ["S4", "X"]),
        "unknown_staff",
        ["body", "buildings", 0, "heads", 1],
    ),
    "unknown staff in team": (
        _set(_b0, "team", {"safety": "X"}),
        "unknown_staff",
        ["body", "buildings", 0, "team", "safety"],
    ),
    "unknown staff in root heads": (
        _set(lambda d: d["grid"], "heads", ["X"]),
        "unknown_staff",
        ["body", "grid", "heads", 0],
    ),
    "unknown staff in nested grid heads": (
        _set(_leaf, "heads", ["S3", "X"]),
        "unknown_staff",
        ["body", "grid", "children", 0, "children", 0, "heads", 1],
    ),
    "duplicate staff": (_append("staff", lambda d: {"id": "S2", "name": "重名"}), "duplicate_id", ["body"]),
    "duplicate grid node": (
        _set(_leaf, "children", [{"id": "mid", "name": "重复", "heads": ["S1"]}]),
        "duplicate_id",
        ["body"],
    ),
    "duplicate building": (_append("buildings", lambda d: d["buildings"][1]), "duplicate_id", ["body"]),
    "duplicate service": (_append("services", lambda d: d["services"][1]), "duplicate_id", ["body"]),
    "unknown grid node": (
        _set(_b0, "grid_node", "nowhere"),
        "unknown_grid_node",
        ["body", "buildings", 0, "grid_node"],
    ),
    "unknown role in team": (
        _set(_b0, "team", {"plumber": "S6"}),
        "unknown_role",
        ["body", "buildings", 0, "team", "plumber"],
    ),
    "unknown role in service": (
        _set(lambda d: d["services"][1], "role", "plumber"),
        "unknown_role",
        ["body", "services", 1, "role"],
    ),
    "building with no head": (_set(_b0, "heads", []), "heads_count", ["body", "buildings", 0, "heads"]),
    "building with three heads": (
        _set(_b0, "heads", ["S4", "S5", "S7"]),
        "heads_count",
        ["body", "buildings", 0, "heads"],
    ),
    "grid node without a head": (
        _set(lambda d: d["grid"]["children"][1], "heads", []),
        "missing_head",
        ["body", "grid", "children", 1, "heads"],
    ),
}


def test_a_valid_document_has_no_problem(doc: Doc) -> None:
    assert _problems(doc) == []


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_problem_is_reported_with_its_location(doc: Doc, case: str) -> None:
    mutate, kind, loc = CASES[case]
    mutate(doc)
    assert _problems(doc) == [(kind, loc)]


@pytest.mark.parametrize(
    ("case", "dup"),
    [
        ("duplicate staff", "S2"),
        ("duplicate grid node", "mid"),
        ("duplicate building", "B2"),
        ("duplicate service", "talent"),
    ],
)
def test_a_duplicate_names_the_id(doc: Doc, case: str, dup: str) -> None:
    CASES[case][0](doc)
    [problem] = problems(Directory.model_validate(doc))
    assert repr(dup) in problem["msg"]


def test_several_problems_are_all_listed(doc: Doc) -> None:
    for case in ("unknown staff in root heads", "unknown grid node", "unknown role in service", "duplicate staff"):
        CASES[case][0](doc)
    assert sorted(_problems(doc)) == sorted(
        [
            ("unknown_staff", ["body", "grid", "heads", 0]),
            ("unknown_grid_node", ["body", "buildings", 0, "grid_node"]),
            ("unknown_role", ["body", "services", 1, "role"]),
            ("duplicate_id", ["body"]),
        ]
    )


def test_rules_despite_a_broken_shape() -> None:
    data: Any = {
        "staff": [{"id": "S1"}, "oops", {"name": "no id"}, {"id": 5}],
        "grid": {"id": "root", "heads": "S1", "children": [{"id": "kid", "heads": ["S2"]}, 3]},
        "buildings": [{"id": "B1", "grid_node": "nowhere", "heads": ["S1"], "team": {"safety": "S1"}}, None],
        "services": [{"code": "x", "role": "safety"}],
        "roles": "none",
    }
    shape = [
        {"loc": ["body", "grid", "heads"], "msg": "m", "type": "list_type"},
        {"loc": ["body", "grid", "children", 1], "msg": "m", "type": "model_type"},
    ]
    found = [(p["loc"], p["type"]) for p in problems_despite_shape(data, shape)]
    assert found == [
        (["body", "grid", "children", 0, "heads", 0], "unknown_staff"),
        (["body", "buildings", 0, "grid_node"], "unknown_grid_node"),
        (["body", "buildings", 0, "team", "safety"], "unknown_role"),
        (["body", "buildings", 1, "heads"], "heads_count"),
        (["body", "services", 0, "role"], "unknown_role"),
    ]
    assert problems_despite_shape(["not", "a", "document"], []) == []
    # No grid (its shape problem says so): nothing is said against grid nodes.
    assert [p["type"] for p in problems_despite_shape({"buildings": [{"id": "B", "heads": ["S"]}]}, [])] == [
        "unknown_staff"
    ]
