from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from chassis.auth import Admin
from kernel.directory import Directory
from kernel.strict import INPUT
from routing.bootstrap import Routing, runtime
from routing.directory.service import DirectoryMoved, DirectoryProblems, counts, replace
from routing.directory.validation import problems_despite_shape
from routing.documents import MEDIA_TYPES, DocumentError, parse_document

router = APIRouter(prefix="/v1/directory", tags=["directory"])


class DirectoryPut(BaseModel):
    version: int
    counts: dict[str, int]
    channels_kept: int = 0


class DirectoryChanges(BaseModel):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    moved: list[dict[str, Any]]


class DirectoryDryRun(BaseModel):
    dry_run: Literal[True] = True
    version: int | None  # the current version, the one compared against
    counts: dict[str, int]
    channels_kept: int
    changes: DirectoryChanges


@router.put(
    "",
    summary="Replace the whole directory",
    response_model=DirectoryPut | DirectoryDryRun,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": Directory.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def put_directory(
    request: Request,
    who: Admin,
    routing: Annotated[Routing, Depends(runtime)],
    content_type: Annotated[str, Header()] = "application/json",
    channels: Annotated[
        Literal["keep", "replace"],
        Query(description="keep: staff the document gives no channels keep those of the current version"),
    ] = "replace",
    dry_run: Annotated[bool, Query(description="check and list the changes; store nothing")] = False,
) -> DirectoryPut | DirectoryDryRun:
    media = content_type.split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise HTTPException(415, f"send the directory as application/json or application/yaml, not {media}")
    try:
        raw = parse_document(await request.body(), media)
    except DocumentError as exc:
        raise RequestValidationError([{"loc": ["body"], "msg": str(exc), "type": "value_error"}]) from exc
    try:
        doc = Directory.model_validate(raw, context=INPUT)
    except ValidationError as exc:
        # One answer holds every problem: the shape's, and the rules' on what can be read.
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise RequestValidationError(errors + problems_despite_shape(raw, errors)) from exc
    try:
        done = await replace(
            routing.directory,
            routing.outbound,
            doc,
            author=who.subject,
            keep=channels == "keep",
            dry_run=dry_run,
        )
    except DirectoryProblems as exc:
        raise RequestValidationError(exc.found) from exc
    except DirectoryMoved as exc:
        raise HTTPException(409, f"{exc}; send it again") from exc
    if done.version is None:
        return DirectoryDryRun(
            version=done.current,
            counts=counts(done.directory),
            channels_kept=len(done.channels_kept),
            changes=DirectoryChanges(**done.changes),
        )
    return DirectoryPut(version=done.version, counts=counts(done.directory), channels_kept=len(done.channels_kept))


@router.get("", summary="The current directory, channel secrets redacted")
async def get_directory(_: Admin, routing: Annotated[Routing, Depends(runtime)]) -> dict[str, Any]:
    current = await routing.directory.current()
    if current is None:
        raise HTTPException(404, "no directory has been loaded yet")
    version, index = current
    return {"version": version, **index.directory.redacted().model_dump(mode="json")}
