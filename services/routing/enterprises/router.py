from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from chassis.auth import Admin, Principal, require
from chassis.outage import Unavailable
from chassis.paging import decode_cursor, page
from kernel.directory import DirectoryIndex
from kernel.enterprises import Enterprise
from routing.bootstrap import Routing, runtime
from routing.enterprises import registry
from routing.enterprises.service import Forbidden, NotFound, building_names, to_read

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"])
Runtime = Annotated[Routing, Depends(runtime)]
Reader = Annotated[Principal, Depends(require("staff", "admin"))]

JSON = "application/json"
CSV_TYPES = ("text/csv", "application/csv")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OCTET = "application/octet-stream"


class Refused(BaseModel):
    row: int
    id: str | None
    reason: str


class UpsertReport(BaseModel):
    created: int
    updated: int
    refused: list[Refused]


class EnterpriseRead(Enterprise):
    version: int
    updated_at: datetime


# An upload's item: an enterprise whose id may be left out. Contact and PlanItem are among the
# components already (EnterpriseRead uses them).
ITEM_SCHEMA = Enterprise.model_json_schema(ref_template="#/components/schemas/{model}")
ITEM_SCHEMA.pop("$defs", None)
ITEM_SCHEMA["required"] = [f for f in ITEM_SCHEMA.get("required", []) if f != "id"]


class EnterprisePage(BaseModel):
    items: list[EnterpriseRead]
    next_cursor: str | None


def _body_error(msg: str, loc: tuple[str, ...] = ("body",), kind: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": list(loc), "msg": msg, "type": kind}])


def _json_items(raw: bytes) -> list[Any]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _body_error(f"invalid JSON: {exc}", kind="json_invalid") from exc
    if not isinstance(body, dict) or "items" not in body:
        raise _body_error('send {"items": [...]}')
    if not isinstance(body["items"], list):
        raise _body_error("items must be a list of enterprises", ("body", "items"), "list_type")
    return body["items"]


async def _index(routing: Routing) -> DirectoryIndex:
    current = await routing.directory.current()
    if current is None:
        raise Unavailable("no directory loaded")
    return current[1]


@router.put(
    "",
    summary="Upsert a batch of enterprises, keyed by USCC: JSON, CSV (UTF-8 or GBK) or XLSX, up to 20 MiB",
    response_model=UpsertReport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": ITEM_SCHEMA}},
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def put_enterprises(
    request: Request,
    _: Admin,
    routing: Runtime,
    content_type: Annotated[str, Header()] = JSON,
) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    raw = await request.body()
    if media == OCTET and registry.is_xlsx(raw):
        media = XLSX
    if media != JSON and media not in CSV_TYPES and media != XLSX:
        raise HTTPException(415, f"send enterprises as {JSON}, text/csv or {XLSX}, not {media}")
    index = await _index(routing)
    rows: list[int] | None = None
    columns: dict[str, str] | None = None
    if media == JSON:
        items = _json_items(raw)
    else:
        reader = registry.read_xlsx if media == XLSX else registry.read_csv
        try:
            read = await asyncio.to_thread(reader, raw, building_names(index))
        except registry.RegistryError as exc:
            raise _body_error(str(exc)) from exc
        items = [r.item for r in read]
        rows = [r.row for r in read]
        columns = dict(read[0].columns) if read else {}
    return await routing.enterprises.upsert(
        items, index.buildings.keys(), rows=rows, staff_ids=index.staff.keys(), columns=columns
    )


@router.get("", response_model=EnterprisePage, summary="Enterprises within the caller's scope, newest first")
async def list_enterprises(
    who: Reader,
    routing: Runtime,
    building_id: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="a part of the name, any case")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    index = await _index(routing)
    try:
        within = routing.enterprises.scope_filter(who, index, building_id)
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    after = decode_cursor(cursor) if cursor else None
    docs = await routing.enterprises.search(within, q=q, limit=limit, after=after)
    found, next_cursor = page(docs, limit)
    return {"items": [to_read(d) for d in found], "next_cursor": next_cursor}


@router.get("/{enterprise_id}", response_model=EnterpriseRead, summary="One enterprise")
async def get_enterprise(enterprise_id: str, who: Reader, routing: Runtime) -> dict[str, Any]:
    try:
        doc = await routing.enterprises.get(enterprise_id)
    except NotFound as exc:
        raise HTTPException(404, f"no enterprise {enterprise_id!r}") from exc
    if not routing.enterprises.visible(who, doc, await _index(routing)):
        raise HTTPException(403, "this enterprise is outside your buildings")
    return to_read(doc)
