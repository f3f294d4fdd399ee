"""kernel.strict: unknown fields are refused from input and ignored when reading what another
release wrote (events, stored documents)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kernel.directory import Directory
from kernel.enterprises import Enterprise
from kernel.events import DirectoryUpdated, EnterpriseUpdated, Event, parse_data, type_of
from kernel.strict import INPUT
from tests.support.directory import small_directory

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_an_event_from_a_newer_release_is_read_but_input_with_unknown_fields_is_refused() -> None:
    """Fields this release does not know, deep in an event's data, are ignored (a newer release
    published them during a rolling upgrade); in input they are an error naming the field."""
    raw = small_directory()
    raw["staff"][0]["pager"] = "12345"
    raw["staff"][0]["channels"][0]["priority"] = "high"
    raw["buildings"][0]["floors"] = 30
    data = {"version": 7, "directory": raw, "signed_by": "a newer routing"}
    event = Event(id="e", source="routing", type=type_of("directory.updated"), time=NOW, subject="d", data=data)
    read = parse_data(event)
    assert isinstance(read, DirectoryUpdated)
    assert (read.version, read.directory.staff[0].id) == (7, "S01")
    assert "pager" not in read.directory.staff[0].model_dump()

    for context in (None, INPUT):
        with pytest.raises(ValidationError) as refused:
            Directory.model_validate(raw, context=context)
        assert {e["loc"][-1] for e in refused.value.errors()} == {"pager", "priority", "floors"}

    contact = {"name": "王", "phone": "13900000001", "wechat": "wang"}
    enterprise = {"id": "E1", "name": "测试", "building_id": "B1", "uscc": "91310000MA1FL1MMXL", "contact": contact}
    data = {"version": 1, "enterprise": enterprise}
    event = Event(id="e2", source="routing", type=type_of("enterprise.updated"), time=NOW, subject="E1", data=data)
    updated = parse_data(event)
    assert isinstance(updated, EnterpriseUpdated)
    assert updated.enterprise.contact is not None and updated.enterprise.contact.phone == "13900000001"
    with pytest.raises(ValidationError, match="wechat"):
        Enterprise.model_validate(enterprise)
