"""Open311 GeoReport v2 under /open311/v2/: thin routes over mapping (what) and formats (how).

Every answer, errors included, is in the format the path ends with (`.json` or
`.xml`); errors are GeoReport's array of `{code, description}`, never /v1's
`{"detail": ...}`. Parameters are read as plain strings and checked here, so
FastAPI's own validation never answers on these paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from chassis.follow import follow_url
from chassis.outage import is_outage
from intake.bootstrap import Intake, runtime
from intake.open311 import formats, mapping, service
from intake.open311.formats import Format
from intake.open311.mapping import NotFound, Open311Error
from kernel.times import utcnow

log = logging.getLogger(__name__)


def _format_of(request: Request) -> Format:
    """The path's format for an error: its `fmt`, else its suffix (an unknown path), else JSON."""
    fmt = request.path_params.get("fmt") or request.url.path.rsplit(".", 1)[-1]
    return cast(Format, fmt) if fmt in formats.FORMATS else "json"


def _errors(request: Request, status: int, descriptions: list[str], headers: dict[str, str] | None = None) -> Response:
    body, media_type = formats.render_errors(
        _format_of(request), [formats.error(status, d) for d in descriptions or ["error"]]
    )
    return Response(body, status_code=status, media_type=media_type, headers=headers)


class Open311Route(APIRoute):
    """Turns every failure on an Open311 route into a GeoReport error array in the path's format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            wrong = await _other_jurisdiction(request)
            if wrong is not None:
                return _errors(request, 404, [wrong])
            try:
                return await handler(request)
            except Open311Error as exc:
                return _errors(request, exc.status, exc.descriptions)
            except RequestValidationError as exc:
                # Issues.submit re-checks the directory: a building or service removed meanwhile.
                return _errors(request, 400, [str(e.get("msg", e)) for e in exc.errors()])
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("%s %s: dependency down: %s", request.method, request.url.path, exc)
                message = "a dependency (database or broker) is unavailable; try again shortly"
                return _errors(request, 503, [message], {"Retry-After": "5"})

        return handle


async def _other_jurisdiction(request: Request) -> str | None:
    """Why a request names a jurisdiction this endpoint does not serve (GeoReport's 404), or None."""
    given = request.query_params.get("jurisdiction_id")
    if given is None and request.method == "POST":
        try:  # the body is cached: the route parses it again
            given = mapping.parse_form_body(await request.body(), request.headers.get("content-type")).get(
                "jurisdiction_id"
            )
        except mapping.FormError:
            return None  # the route answers for a body it cannot read
    served = request.app.state.runtime.settings.open311_jurisdiction
    if given in (None, "", served):
        return None
    return f"jurisdiction_id {given!r} is not served here: this endpoint serves {served!r}"


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)
Runtime = Annotated[Intake, Depends(runtime)]


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}


# The query parameters, for the OpenAPI document only: they are read and checked by hand (above).
JURISDICTION = _query(
    "jurisdiction_id", "optional; when given, it must be LOUZHANG_OPEN311_JURISDICTION (else GeoReport's 404)"
)
API_KEY = _query(
    "api_key",
    "a system token (or the admin's): needed unless LOUZHANG_OPEN311_PUBLIC_READ=1; "
    "shows the caller's own requests in full",
)
REQUEST_QUERY = [
    JURISDICTION,
    API_KEY,
    _query("service_request_id", "comma-separated ids, at most 1,000; overrides every other parameter"),
    _query("service_code", "comma-separated service codes"),
    _query("status", "open, closed, or both (comma-separated)"),
    _query("start_date", "RFC 3339 with a zone, or a date (00:00 Asia/Shanghai); default: 90 days before end_date"),
    _query("end_date", "RFC 3339 with a zone, or a date; at most 90 days after start_date"),
]


def _documents(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": list(parameters)}


def _fmt(fmt: str) -> Format:
    if fmt not in formats.FORMATS:
        raise NotFound(f"unknown format {fmt!r}: use .json or .xml")
    return fmt


def _reply(fmt: Format, root: str, value: Any, status: int = 200) -> Response:
    body, media_type = formats.render(fmt, root, value)
    return Response(body, status_code=status, media_type=media_type)


def _reader(request: Request, intake: Intake) -> service.Reader:
    """Who reads requests: the api_key's caller (403 for a bad key), or nobody under public read
    (403 `api_key is required` without it)."""
    settings = intake.settings
    return service.reader_of(intake.tokens, request.query_params.get("api_key"), settings.open311_public_read)


def _request_entry(intake: Intake, doc: dict[str, Any], full: bool) -> dict[str, Any]:
    entry = mapping.request_entry(doc, intake.directory.index)
    if entry["media_url"] is None and doc.get("photos"):  # the result's photo, by its unguessable id
        entry["media_url"] = f"{intake.settings.public_url.rstrip('/')}/photos/{doc['photos'][0]}"
    return entry if full else mapping.public_entry(entry, intake.settings.open311_public)


# GeoReport's discovery document lives above the version's endpoints; /open311/v2/discovery too.
root = APIRouter(prefix="/open311", tags=["open311"], route_class=Open311Route)


@root.get(
    "/discovery.{fmt}",
    summary="GeoReport: the service discovery document (this endpoint, its formats, how to get a key)",
    openapi_extra=_documents(JURISDICTION),
)
@router.get(
    "/discovery.{fmt}",
    summary="GeoReport: the service discovery document (the same, under the version's path)",
    openapi_extra=_documents(JURISDICTION),
)
async def discovery(fmt: str, request: Request) -> Response:
    f = _fmt(fmt)  # public, like the service list
    url = str(request.base_url).rstrip("/") + router.prefix
    return _reply(f, "discovery", mapping.discovery(url))


@router.get(
    "/services.{fmt}",
    summary="GeoReport: the service list (the directory's services)",
    openapi_extra=_documents(JURISDICTION),
)
async def service_list(fmt: str, request: Request, intake: Runtime) -> Response:
    f = _fmt(fmt)  # public whatever LOUZHANG_OPEN311_PUBLIC_READ says: the catalogue is no complaint
    index = intake.directory.require()
    return _reply(f, "services", [mapping.service_entry(s) for s in index.directory.services])


@router.get(
    "/services/{service_code}.{fmt}",
    summary="GeoReport: a service definition (building, enterprise, room, contact preference)",
    openapi_extra=_documents(JURISDICTION),
)
async def service_definition(service_code: str, fmt: str, request: Request, intake: Runtime) -> Response:
    f = _fmt(fmt)
    index = intake.directory.require()
    found = index.services.get(service_code)
    if found is None:
        raise NotFound(f"no service {service_code!r}")
    return _reply(f, "service_definition", mapping.service_definition(found, index))


@router.post(
    "/requests.{fmt}",
    status_code=201,
    summary="GeoReport: submit a service request (form-encoded, api_key = a system token)",
)
async def post_request(fmt: str, request: Request, intake: Runtime) -> Response:
    f = _fmt(fmt)
    form = mapping.parse_form_body(await request.body(), request.headers.get("content-type"))
    api_key = form.get("api_key") or request.query_params.get("api_key")
    who = service.principal_of(intake.tokens, api_key, service.SUBMITTERS)
    index = intake.directory.require()
    named = mapping.enterprise_named(form)
    enterprises: dict[str, mapping.EnterpriseRef] = {}
    if named is not None and (held := await intake.enterprises.find(named)) is not None:
        enterprises[named] = mapping.EnterpriseRef(held["building_id"], held["name"])
    submission = mapping.form_to_issue(form, index, intake.settings.open311_radius_m, enterprises)
    doc = await intake.issues.submit(who, submission.issue, index, intake.directory.version, extra=submission.extra())
    link = follow_url(intake.settings.public_url, intake.tokens, str(doc["_id"]))
    return _reply(f, "service_requests", [mapping.created_entry(doc, link)], status=201)


@router.get(
    "/requests.{fmt}",
    summary="GeoReport: service requests, newest first (at most 1,000)",
    openapi_extra=_documents(*REQUEST_QUERY),
)
async def get_requests(fmt: str, request: Request, intake: Runtime) -> Response:
    f = _fmt(fmt)
    reader = _reader(request, intake)
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    query = mapping.parse_query(params, utcnow())
    found = await service.find_requests(intake.issues, mapping.query_filter(query), reader)
    return _reply(f, "service_requests", [_request_entry(intake, doc, full) for doc, full in found])


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="GeoReport: one service request (an array of one)",
    openapi_extra=_documents(JURISDICTION, API_KEY),
)
async def get_request(service_request_id: str, fmt: str, request: Request, intake: Runtime) -> Response:
    f = _fmt(fmt)
    found = await service.find_request(intake.issues, service_request_id, _reader(request, intake))
    if found is None:
        raise NotFound(f"no service request {service_request_id!r}")
    return _reply(f, "service_requests", [_request_entry(intake, *found)])


@router.get(
    "/tokens/{token}.{fmt}",
    summary="GeoReport: the request of a token (here the token is the id)",
    openapi_extra=_documents(JURISDICTION, API_KEY),
)
async def get_token(token: str, fmt: str, request: Request, intake: Runtime) -> Response:
    f = _fmt(fmt)
    found = await service.find_request(intake.issues, token, _reader(request, intake))
    if found is None:
        raise NotFound(f"no service request for token {token!r}")
    return _reply(f, "service_requests", [mapping.token_entry(found[0])])


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
async def unknown(rest: str) -> Response:
    raise NotFound(f"no GeoReport v2 resource {rest!r}")
