"""Models that refuse unknown fields from people and ignore them from another release.

What a person or another system sends (an HTTP body, a file) is validated strictly: an unknown
field is a 422 naming it, never dropped in silence. What a Louzhang process wrote (an event, a
stored document) is validated with the context READ: unknown fields are ignored. So during a
rolling upgrade an older process reads what a newer one published instead of parking it as poison.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, model_validator

# A document from outside (`PUT /v1/directory`, `louzhang directory import`, an enterprise file):
# the checks that look beyond the shape (phones, emails) run. What was stored or published was
# checked when it came in, and is read without them.
INPUT: dict[str, Any] = {"input": True}
READ: dict[str, Any] = {"read": True}


def on_input(check: Callable[[str], None]) -> AfterValidator:
    """A validator that runs `check` (raising ValueError) only under the context INPUT."""

    def validate(value: str, info: ValidationInfo) -> str:
        if isinstance(info.context, dict) and info.context.get("input"):
            check(value)
        return value

    return AfterValidator(validate)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_when_reading(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and isinstance(info.context, dict) and info.context.get("read"):
            return {key: value for key, value in data.items() if key in cls.model_fields}
        return data
