"""An enterprise record (企业档案) as the services exchange it; routing owns them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, field_validator
from stdnum.cn import uscc as uscc_code

from kernel.directory import Phone
from kernel.strict import Strict

Id = Annotated[str, Field(min_length=1, max_length=64)]


class Contact(Strict):
    name: str | None = Field(default=None, max_length=100)
    phone: Phone | None = None  # checked as the staff's, on input only


class PlanItem(Strict):
    """One line of the enterprise's 一企一策 plan."""

    item: str = Field(min_length=1, max_length=500)
    owner: str | None = Field(default=None, max_length=64, description="a staff id")
    due: date | None = None
    done: bool = False


class Enterprise(Strict):
    id: Id
    name: str = Field(min_length=1, max_length=200)
    building_id: Id
    uscc: str = Field(description="统一社会信用代码, 18 characters, check character verified")
    industry: str | None = Field(default=None, max_length=100)
    contact: Contact | None = None
    plan: list[PlanItem] = Field(default=[], max_length=100)

    @field_validator("uscc")
    @classmethod
    def valid_uscc(cls, value: str) -> str:
        code = uscc_code.compact(value)
        if not uscc_code.is_valid(code):
            raise ValueError(f"{value!r} is not a valid 统一社会信用代码 (18 characters, the last a check character)")
        return code
