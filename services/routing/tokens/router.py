from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from louzhang.auth import Admin
from routing.bootstrap import Routing, runtime

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    kind: Literal["staff", "system"]
    subject: str = Field(min_length=1, max_length=64, description="a staff id, or a client's name")


class TokenIssued(BaseModel):
    token: str
    signing_secret: str | None = Field(default=None, description="signs the callbacks of a system client")


@router.post("", status_code=201, response_model=TokenIssued, response_model_exclude_none=True)
async def create_token(body: TokenCreate, _: Admin, routing: Annotated[Routing, Depends(runtime)]) -> TokenIssued:
    tokens = routing.tokens
    if body.kind == "staff":
        return TokenIssued(token=tokens.issue("staff", body.subject, routing.settings.staff_token_ttl))
    return TokenIssued(token=tokens.issue("system", body.subject), signing_secret=tokens.signing_secret(body.subject))
