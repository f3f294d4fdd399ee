"""louzhang.directory: look-ups, redaction, and the demo Putuo directory."""

from __future__ import annotations

import pytest

from louzhang.directory import REDACTED, Directory, DirectoryIndex
from routing.directory.service import demo_directory
from routing.directory.validation import problems


@pytest.mark.parametrize(
    ("node", "ids"),
    [("root", {"root", "mid", "leaf", "side"}), ("mid", {"mid", "leaf"}), ("leaf", {"leaf"}), ("nowhere", set())],
)
def test_subtree(index: DirectoryIndex, node: str, ids: set[str]) -> None:
    assert index.subtree(node) == ids


@pytest.mark.parametrize(
    ("node", "buildings"),
    [("root", {"B1", "B2", "B3", "B4"}), ("mid", {"B1", "B4"}), ("leaf", {"B1"}), ("nowhere", set())],
)
def test_buildings_under(index: DirectoryIndex, node: str, buildings: set[str]) -> None:
    assert index.buildings_under(node) == buildings


@pytest.mark.parametrize(
    ("staff", "buildings"),
    [
        ("S1", {"B1", "B2", "B3", "B4"}),  # heads the root
        ("S2", {"B1", "B4"}),  # heads mid, recursively
        ("S3", {"B1"}),  # heads leaf
        ("S4", {"B1", "B4"}),  # building head twice
        ("S5", {"B1"}),  # second head of a 双楼长 building
        ("S6", {"B1", "B3"}),  # team member
        ("S8", {"B3"}),  # heads side
        ("nobody", set()),
    ],
)
def test_scope(index: DirectoryIndex, staff: str, buildings: set[str]) -> None:
    assert index.scope(staff) == buildings


def test_redacted_hides_every_channel_secret_and_leaves_the_original(directory: Directory) -> None:
    before = directory.model_dump(mode="json")
    webhook, wecom, dingtalk, email = directory.redacted().model_dump(mode="json")["staff"][0]["channels"]
    assert webhook == {"type": "webhook", "url": "http://hook.example.org/x", "secret": REDACTED}
    assert wecom == {"type": "wecom", "key": REDACTED}
    assert dingtalk == {"type": "dingtalk", "access_token": REDACTED, "secret": REDACTED}
    assert email == {"type": "email"}
    assert REDACTED == "***"
    assert directory.model_dump(mode="json") == before
    assert "hook-secret" not in directory.redacted().model_dump_json()


def test_without_channels_drops_them_and_leaves_the_original(directory: Directory) -> None:
    before = directory.model_dump(mode="json")
    stripped = directory.without_channels().model_dump(mode="json")
    assert all(member["channels"] == [] for member in stripped["staff"])
    assert directory.model_dump(mode="json") == before
    for member in before["staff"]:
        member["channels"] = []
    assert stripped == before


def test_demo_putuo_directory_is_valid_and_complete() -> None:
    demo = demo_directory()
    assert problems(demo) == []
    assert len(demo.buildings) == 103
    assert len(demo.services) == 28
    assert len({s.department for s in demo.services}) == 18
    assert None not in {s.department for s in demo.services}
