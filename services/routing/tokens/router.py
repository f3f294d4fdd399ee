from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from chassis.auth import Admin
from chassis.paging import decode_cursor, page
from kernel import durations
from kernel.durations import Duration
from kernel.times import OutOfRange, in_range, utcnow
from routing.bootstrap import Routing, runtime
from routing.tokens.service import UnknownToken

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])
Runtime = Annotated[Routing, Depends(runtime)]


class TokenCreate(BaseModel):
    kind: Literal["staff", "system"]
    subject: str = Field(min_length=1, max_length=64, description="a staff id (in the directory), or a client's name")
    expires_in: Duration | None = Field(
        default=None,
        description="ISO 8601 duration (`P90D`); staff tokens default to LOUZHANG_STAFF_TOKEN_TTL, "
        "system tokens to no expiry",
        examples=["P90D"],
    )


class TokenIssued(BaseModel):
    token: str
    jti: str
    expires_at: datetime | None
    signing_secret: str | None = Field(default=None, description="signs the callbacks of a system client")


class TokenRead(BaseModel):
    jti: str
    kind: Literal["staff", "system"]
    subject: str
    issued_at: datetime | None = Field(description="null for a token first seen in use, issued before records")
    expires_at: datetime | None
    issued_by: str | None = Field(
        default=None, description="who asked for it: `admin`, or a named admin's staff id; null when unknown"
    )


class TokenPage(BaseModel):
    items: list[TokenRead]
    next_cursor: str | None


def _ttl(body: TokenCreate, default: timedelta | None) -> timedelta | None:
    if body.expires_in is None:
        return default
    ttl = durations.parse(body.expires_in).natural
    try:
        in_range(utcnow() + ttl)
    except (OutOfRange, OverflowError) as exc:
        raise RequestValidationError(
            [{"loc": ["body", "expires_in"], "msg": f"the token would expire {exc}", "type": "value_error"}]
        ) from exc
    return ttl


@router.post(
    "",
    status_code=201,
    response_model=TokenIssued,
    response_model_exclude_none=True,
    summary="Issue a staff or system token",
    responses={404: {"description": "a staff subject the directory lacks"}},
)
async def create_token(body: TokenCreate, who: Admin, routing: Runtime) -> TokenIssued:
    if body.kind == "staff":
        if body.subject not in (await routing.workorders.index()).staff:
            raise HTTPException(404, f"no staff member {body.subject!r} in the directory")
        issued = await routing.token_registry.issue(
            "staff", body.subject, _ttl(body, routing.settings.staff_token_ttl), issued_by=who.subject
        )
        return TokenIssued(token=issued.token, jti=issued.jti, expires_at=issued.expires_at)
    issued = await routing.token_registry.issue("system", body.subject, _ttl(body, None), issued_by=who.subject)
    return TokenIssued(
        token=issued.token,
        jti=issued.jti,
        expires_at=issued.expires_at,
        signing_secret=routing.tokens.signing_secret(body.subject),
    )


@router.get("", response_model=TokenPage, summary="Live tokens (not revoked, not expired), newest first")
async def list_tokens(
    _: Admin,
    routing: Runtime,
    subject: Annotated[str | None, Query(max_length=64, description="a staff id or a client's name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor) if cursor else None
    items, next_cursor = page(await routing.token_registry.live(subject, limit, after), limit)
    return {"items": items, "next_cursor": next_cursor}


@router.delete(
    "/{jti}",
    status_code=204,
    summary="Revoke a token: refused by every service within seconds",
    responses={404: {"description": "no token with this jti was issued or seen"}},
)
async def revoke_token(jti: str, who: Admin, routing: Runtime) -> Response:
    try:
        await routing.token_registry.revoke(jti, revoked_by=who.subject)
    except UnknownToken as exc:
        raise HTTPException(404, f"no token {jti!r}") from exc
    return Response(status_code=204)
