from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from chassis.auth import Admin
from kernel.directory import INPUT, Directory
from routing.bootstrap import Routing, runtime
from routing.directory.keep import changes, keep_channels
from routing.directory.service import ANY_VERSION, DirectoryMoved, counts
from routing.directory.validation import channel_url_problems, problems, problems_despite_shape
from routing.documents import MEDIA_TYPES, DocumentError, parse_document

router = APIRouter(prefix="/v1/directory", tags=["directory"])
MERGE_ATTEMPTS = 3


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
    # A merge (channels=keep) is stored only over the version it read; if another import landed in
    # between, it is merged again with that one.
    for _ in range(MERGE_ATTEMPTS):
        current = await routing.directory.current()
        before = None if current is None else current[1].directory
        merged, kept = keep_channels(before, doc) if channels == "keep" else (doc, [])
        found = problems(merged) + await channel_url_problems(merged, routing.outbound)
        if found:
            raise RequestValidationError(found)
        if dry_run:
            return DirectoryDryRun(
                version=None if current is None else current[0],
                counts=counts(merged),
                channels_kept=len(kept),
                changes=DirectoryChanges(**changes(before, merged)),
            )
        after = (None if current is None else current[0]) if channels == "keep" else ANY_VERSION
        try:
            version = await routing.directory.put(merged, author=who.subject, after=after)
        except DirectoryMoved:
            continue
        return DirectoryPut(version=version, counts=counts(merged), channels_kept=len(kept))
    raise HTTPException(409, "the directory kept changing while this import was merged with it; send it again")


@router.get("", summary="The current directory, channel secrets redacted")
async def get_directory(_: Admin, routing: Annotated[Routing, Depends(runtime)]) -> dict[str, Any]:
    current = await routing.directory.current()
    if current is None:
        raise HTTPException(404, "no directory has been loaded yet")
    version, index = current
    return {"version": version, **index.directory.redacted().model_dump(mode="json")}
