"""Models that refuse unknown fields from people and ignore them from another release.

What a person or another system sends (an HTTP body, a file) is validated strictly: an unknown
field is a 422 naming it, never dropped in silence. What a Louzhang process wrote (an event, a
stored document) is validated with the context READ: unknown fields are ignored. So during a
rolling upgrade an older process reads what a newer one published instead of parking it as poison.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

READ: dict[str, Any] = {"read": True}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_when_reading(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and isinstance(info.context, dict) and info.context.get("read"):
            return {key: value for key, value in data.items() if key in cls.model_fields}
        return data
