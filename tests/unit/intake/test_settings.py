"""Intake's Open311 read settings: private by default, the public fields checked when read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from intake.open311.mapping import DEFAULT_PUBLIC_FIELDS
from intake.settings import IntakeSettings


def test_open311_reads_are_private_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOUZHANG_OPEN311_PUBLIC_READ", raising=False)
    monkeypatch.delenv("LOUZHANG_OPEN311_PUBLIC_FIELDS", raising=False)
    settings = IntakeSettings(_env_file=None)
    assert settings.open311_public_read is False
    assert settings.open311_public == DEFAULT_PUBLIC_FIELDS


def test_public_fields_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOUZHANG_OPEN311_PUBLIC_READ", "1")
    monkeypatch.setenv("LOUZHANG_OPEN311_PUBLIC_FIELDS", "status, description")
    settings = IntakeSettings(_env_file=None)
    assert settings.open311_public_read is True
    assert settings.open311_public == ("status", "description")


@pytest.mark.parametrize("value", ["status,reporter", "status,Description", ""])
def test_an_unknown_or_empty_public_field_list_is_a_startup_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LOUZHANG_OPEN311_PUBLIC_FIELDS", value)
    with pytest.raises(ValidationError, match="LOUZHANG_OPEN311_PUBLIC_FIELDS"):
        IntakeSettings(_env_file=None)
