"""kernel.directory: look-ups, redaction, and the demo Putuo directory."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from kernel.directory import REDACTED, Directory, DirectoryIndex
from kernel.strict import INPUT
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


@pytest.mark.parametrize(
    "phone", ["13800000001", "13812345678", "021-6234 5678", "02162345678", "010 8888 6666", "+852 2123 4567"]
)
def test_valid_phones_are_kept_as_given(doc: dict[str, Any], phone: str) -> None:
    doc["staff"][0]["phone"] = phone
    assert Directory.model_validate(doc, context=INPUT).staff[0].phone == phone


@pytest.mark.parametrize("phone", ["138-bad-phone", "12345", "1380000000", "138000000012", "6234 5678", "phone"])
def test_invalid_phones_are_refused(doc: dict[str, Any], phone: str) -> None:
    doc["staff"][0]["phone"] = phone
    with pytest.raises(ValidationError) as caught:
        Directory.model_validate(doc, context=INPUT)
    assert [e["loc"] for e in caught.value.errors()] == [("staff", 0, "phone")]
    assert "phone number" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.org", "a b@example.org", "张 <a@example.org>"])
def test_invalid_emails_are_refused(doc: dict[str, Any], email: str) -> None:
    doc["staff"][0]["email"] = email
    with pytest.raises(ValidationError) as caught:
        Directory.model_validate(doc, context=INPUT)
    assert [e["loc"] for e in caught.value.errors()] == [("staff", 0, "email")]


def test_stored_versions_are_read_as_they_were_accepted(doc: dict[str, Any]) -> None:
    """Without the input context (versions stored before the check, events), contacts are not checked."""
    doc["staff"][0].update(phone="138-bad-phone", email="not-an-email")
    assert Directory.model_validate(doc).staff[0].phone == "138-bad-phone"


def test_the_demo_and_test_directories_pass_the_contact_checks() -> None:
    from routing.directory.service import DEMO_FILE
    from tests.support.directory import small_directory

    Directory.model_validate(yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8")), context=INPUT)
    Directory.model_validate(small_directory(), context=INPUT)


def test_admin_is_false_by_default_and_written_only_when_true(doc: dict[str, Any]) -> None:
    doc["staff"][0]["admin"] = True
    directory = Directory.model_validate(doc)
    assert [m.admin for m in directory.staff[:2]] == [True, False]
    dumped = directory.model_dump(mode="json")["staff"]
    assert dumped[0]["admin"] is True
    assert "admin" not in dumped[1]  # readers that know no such field still read a version without admins
    assert DirectoryIndex(directory).admins == {doc["staff"][0]["id"]}
    assert Directory.model_validate(directory.model_dump(mode="json")) == directory  # round trip


def test_admin_must_be_a_boolean(doc: dict[str, Any]) -> None:
    doc["staff"][0]["admin"] = "maybe"
    with pytest.raises(ValidationError, match="boolean"):
        Directory.model_validate(doc)
