"""GeoReport v2 <-> Louzhang issues. Pure: no I/O, no FastAPI.

- the directory's services as GeoReport services and service definitions (the
  building is the required `building_id` attribute of every service; the enterprise, the room and
  the contact preference are optional attributes);
- an issue document as a GeoReport service request, with no personal data;
- a POSTed form as an `IssueCreate`, or a `FormError` naming every bad parameter;
- the query of `GET requests` as a MongoDB filter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import ValidationError

from intake.issues.models import IssueCreate
from kernel.directory import Building, DirectoryIndex, Service
from kernel.events import Reporter
from kernel.times import EARLIEST, LATEST, OutOfRange, parse_instant

Doc = dict[str, Any]

SOURCE = "open311"
BUILDING_ATTRIBUTE = "building_id"
ENTERPRISE_ATTRIBUTE = "enterprise_id"
ROOM_ATTRIBUTE = "room"
CONTACT_ATTRIBUTE = "contact_preference"
ATTRIBUTES = (BUILDING_ATTRIBUTE, ENTERPRISE_ATTRIBUTE, ROOM_ATTRIBUTE, CONTACT_ATTRIBUTE)
# The contact preference's keys, and how the issue says them.
CONTACT_PREFERENCES = {"phone": "电话", "sms": "短信", "email": "邮件", "none": "无需联系"}
ROOM_LENGTH = 100
TITLE_LENGTH = 50
DESCRIPTION_LENGTH = 4000
MAX_REQUESTS = 1000
MAX_SPAN = timedelta(days=90)
CLOSED = ("closed", "rejected")
SERVICE_NOTICE = "已受理：问题已登记，将按楼长制派给楼宇的责任人员处理。"
FORM_TYPE = "application/x-www-form-urlencoded"


# ---- errors -----------------------------------------------------------------


class Open311Error(Exception):
    """Answered as a GeoReport error array: one `{code, description}` per description."""

    status = 400

    def __init__(self, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.descriptions = list(descriptions)


class BadRequest(Open311Error):
    status = 400


class FormError(BadRequest):
    """A POSTed form that cannot become an issue."""


class Forbidden(Open311Error):
    status = 403


class NotFound(Open311Error):
    status = 404


# ---- times and statuses ---------------------------------------------------------


def rfc3339(value: datetime | None) -> str | None:
    """UTC with `Z`; milliseconds when there are any (so that a time read back is a usable bound)."""
    if value is None:
        return None
    if value.tzinfo is None:  # MongoDB keeps UTC
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def status_of(status: str) -> str:
    """GeoReport knows `open` and `closed`: closed and rejected issues are closed, the rest open."""
    return "closed" if status in CLOSED else "open"


# ---- services -------------------------------------------------------------------


def service_description(service: Service) -> str:
    return f"类别：{service.group or '未分类'}；责任部门：{service.department or '未指定'}"


def service_entry(service: Service) -> Doc:
    keywords = [k for k in (service.group, service.department, "紧急" if service.urgent else None) if k]
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service_description(service),
        "metadata": True,  # every service has the required building_id attribute
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": service.group,
    }


def service_definition(service: Service, index: DirectoryIndex) -> Doc:
    """GeoReport's attributes of a service: the building (required), then the enterprise, the floor
    and room, and how the reporter wishes to be contacted (optional). String attributes carry no
    `values` (the spec's list is for the list types)."""
    return {
        "service_code": service.code,
        "attributes": [
            {
                "variable": True,
                "code": BUILDING_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "楼宇编号：取 values 中的 key（也可在 address_string 中填写楼宇名称或编号）",
                "order": 1,
                "description": "楼宇",
                "values": [{"key": b.id, "name": b.name} for b in index.directory.buildings],
            },
            {
                "variable": True,
                "code": ENTERPRISE_ATTRIBUTE,
                "datatype": "string",
                "required": False,
                "datatype_description": "企业编号：该楼宇内企业的编号（企业档案中的 id），不涉及企业可不填",
                "order": 2,
                "description": "企业",
            },
            {
                "variable": True,
                "code": ROOM_ATTRIBUTE,
                "datatype": "string",
                "required": False,
                "datatype_description": f"楼层及房间，如 12F-1203（至多 {ROOM_LENGTH} 字）",
                "order": 3,
                "description": "楼层/房间",
            },
            {
                "variable": True,
                "code": CONTACT_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "希望的联系方式：取 values 中的 key；电话、短信需填 phone，邮件需填 email",
                "order": 4,
                "description": "联系方式",
                "values": [{"key": key, "name": name} for key, name in CONTACT_PREFERENCES.items()],
            },
        ],
    }


# ---- discovery --------------------------------------------------------------------

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint last changed in a way a client may care about (the spec's `changeset`).
CHANGESET = "2026-12-07T00:00:00Z"  # the optional attributes
KEY_SERVICE = "api_key: a system token, issued by the administrator (POST /v1/tokens on routing)"


def discovery(url: str) -> Doc:
    """GeoReport's service discovery document for the one endpoint at `url`."""
    return {
        "changeset": CHANGESET,
        "contact": None,
        "key_service": KEY_SERVICE,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# ---- service requests -------------------------------------------------------------


def _latest_step(doc: Doc) -> Doc | None:
    steps = doc.get("timeline") or []
    return max(steps, key=lambda s: s["time"]) if steps else None


def request_entry(doc: Doc, index: DirectoryIndex | None) -> Doc:
    """An issue as a GeoReport service request. No personal data: the reporter is never shown."""
    service = index.services.get(doc["service_code"]) if index else None
    building = index.buildings.get(doc["building_id"]) if index else None
    latest = _latest_step(doc)
    media = doc.get("media_urls") or []
    location = doc.get("open311") or {}
    return {
        "service_request_id": str(doc["_id"]),
        "status": status_of(doc["status"]),
        "status_notes": latest.get("note") if latest else None,
        "service_name": service.name if service else doc["service_code"],
        "service_code": doc["service_code"],
        "description": doc["description"],
        "agency_responsible": service.department if service else None,
        "service_notice": None,
        "requested_datetime": rfc3339(doc["created_at"]),
        "updated_datetime": rfc3339(latest["time"] if latest else doc["created_at"]),
        "expected_datetime": rfc3339(doc.get("resolve_due")),
        "address": building.name if building else doc["building_id"],
        "address_id": doc["building_id"],
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("long"),
        "media_url": media[0] if media else None,
    }


# Every field of a request, in the order `request_entry` gives them.
REQUEST_FIELDS: tuple[str, ...] = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
# What a read without an api_key shows under public read, unless the operator says otherwise:
# no description (a complaint about a named firm), no notes, no location beyond the building.
DEFAULT_PUBLIC_FIELDS: tuple[str, ...] = (
    "service_request_id",
    "status",
    "service_code",
    "service_name",
    "address",
    "requested_datetime",
    "updated_datetime",
)


def parse_public_fields(value: str) -> tuple[str, ...]:
    """`LOUZHANG_OPEN311_PUBLIC_FIELDS`: comma-separated request fields, blanks and repeats
    dropped. ValueError for an unknown name or an empty list (a startup error)."""
    names = tuple(_listed([value]))
    unknown = [n for n in names if n not in REQUEST_FIELDS]
    if unknown:
        raise ValueError(
            f"LOUZHANG_OPEN311_PUBLIC_FIELDS: unknown field {', '.join(map(repr, unknown))}; "
            f"the fields of a request are {', '.join(REQUEST_FIELDS)}"
        )
    if not names:
        raise ValueError(f"LOUZHANG_OPEN311_PUBLIC_FIELDS names no field; choose from {', '.join(REQUEST_FIELDS)}")
    return names


def public_entry(entry: Doc, fields: Iterable[str]) -> Doc:
    """A request as a public read shows it: only `fields`, in the full record's order."""
    shown = set(fields)
    return {key: value for key, value in entry.items() if key in shown}


def created_entry(doc: Doc, follow_url: str | None = None) -> Doc:
    """The answer to POST requests: the request exists at once, so its id is known (no token step).
    `follow_url` (an addition to GeoReport's fields): the reporter's page of the request."""
    entry: Doc = {"service_request_id": str(doc["_id"]), "service_notice": SERVICE_NOTICE, "account_id": None}
    if follow_url is not None:
        entry["follow_url"] = follow_url
    return entry


def token_entry(doc: Doc) -> Doc:
    request_id = str(doc["_id"])
    return {"service_request_id": request_id, "token": request_id}


# ---- POST requests: form -> IssueCreate ----------------------------------------------


@dataclass(frozen=True)
class Submission:
    issue: IssueCreate
    lat: float | None = None
    long: float | None = None
    attributes: Doc = field(default_factory=dict)  # the optional attributes given (enterprise_id, room, …)

    @property
    def location(self) -> Doc | None:
        return None if self.lat is None or self.long is None else {"lat": self.lat, "long": self.long}

    def extra(self) -> Doc | None:
        """What the issue keeps besides its fields: `open311` (lat/long), `open311_attributes`."""
        kept: Doc = {}
        if self.location is not None:
            kept["open311"] = self.location
        if self.attributes:
            kept["open311_attributes"] = dict(self.attributes)
        return kept or None


@dataclass(frozen=True)
class EnterpriseRef:
    """What intake holds of an enterprise a form names: its building and name."""

    building_id: str
    name: str


def enterprise_named(form: Mapping[str, str]) -> str | None:
    """The enterprise id of `attribute[enterprise_id]`, for the route to look up before `form_to_issue`."""
    return _value(form, f"attribute[{ENTERPRISE_ATTRIBUTE}]")


def details_line(room: str | None, enterprise: str | None, contact: str | None) -> str:
    """The attributes as the issue's description shows them to the staff and the reporter:
    `（楼层/房间：12F-1203；企业：示例科技有限公司；联系方式：短信）`, or "" when none is given."""
    parts = [
        f"{label}：{value}"
        for label, value in (
            ("楼层/房间", room),
            ("企业", enterprise),
            ("联系方式", CONTACT_PREFERENCES.get(contact or "")),
        )
        if value
    ]
    return f"（{'；'.join(parts)}）" if parts else ""


_ATTRIBUTE = re.compile(r"attribute\[(.*)\]")


def _attributes(
    form: Mapping[str, str],
    index: DirectoryIndex,
    building_id: str | None,
    enterprises: Mapping[str, EnterpriseRef],
    errors: list[str],
) -> tuple[Doc, str | None]:
    """The optional attributes of a form (blank ones left out) and the enterprise's name; every
    problem added to `errors`."""
    for name in form:
        matched = _ATTRIBUTE.fullmatch(name)
        if matched and matched.group(1) not in ATTRIBUTES:
            errors.append(f"{name} is not an attribute of the services here: use {', '.join(ATTRIBUTES)}")
    given: Doc = {}
    enterprise_name = None
    enterprise_id = enterprise_named(form)
    if enterprise_id is not None:
        found = enterprises.get(enterprise_id)
        if found is None:
            errors.append(f"attribute[{ENTERPRISE_ATTRIBUTE}] {enterprise_id!r} is not a known enterprise")
        elif building_id is not None and found.building_id != building_id:
            building = index.buildings.get(building_id)
            errors.append(
                f"attribute[{ENTERPRISE_ATTRIBUTE}] {enterprise_id!r} ({found.name}) is in building "
                f"{found.building_id}, not in {building_id}{f' {building.name}' if building else ''}"
            )
        else:
            given[ENTERPRISE_ATTRIBUTE], enterprise_name = enterprise_id, found.name
    room = _value(form, f"attribute[{ROOM_ATTRIBUTE}]")
    if room is not None:
        if len(room) > ROOM_LENGTH:
            errors.append(f"attribute[{ROOM_ATTRIBUTE}] is {len(room)} characters long; at most {ROOM_LENGTH}")
        else:
            given[ROOM_ATTRIBUTE] = room
    contact = _value(form, f"attribute[{CONTACT_ATTRIBUTE}]")
    if contact is not None:
        if contact not in CONTACT_PREFERENCES:
            errors.append(f"attribute[{CONTACT_ATTRIBUTE}] {contact!r} is not one of {', '.join(CONTACT_PREFERENCES)}")
        elif contact in ("phone", "sms") and _value(form, "phone") is None:
            errors.append(f"attribute[{CONTACT_ATTRIBUTE}] {contact} needs a phone: give phone")
        elif contact == "email" and _value(form, "email") is None:
            errors.append(f"attribute[{CONTACT_ATTRIBUTE}] email needs an address: give email")
        else:
            given[CONTACT_ATTRIBUTE] = contact
    return given, enterprise_name


def parse_form_body(body: bytes, content_type: str | None) -> dict[str, str]:
    """A form-encoded body as {name: first value}; blank values are kept (and mean absent)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE and (media_type or body):
        raise FormError(f"the body must be {FORM_TYPE} (got {media_type or 'no content type'})")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except ValueError as exc:
        raise FormError("the form is not valid UTF-8") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _value(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if value is not None and value.strip() else None


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def full_name(first: str | None, last: str | None) -> str | None:
    """`first_name last_name`; for Chinese names family name first and no space (李 + 明 = 李明)."""
    if not first or not last:
        return first or last
    if _CJK.search(first + last):
        return last + first
    return f"{first} {last}"


def title_of(description: str) -> str:
    """GeoReport has no title: the first 50 characters of the description, whitespace folded."""
    return " ".join(description.split())[:TITLE_LENGTH]


def find_building(index: DirectoryIndex, value: str) -> tuple[str | None, int]:
    """A building id by id or by exact name: (id, 1), or (None, how many names matched)."""
    if value in index.buildings:
        return value, 1
    named = [b.id for b in index.directory.buildings if b.name == value]
    return (named[0], 1) if len(named) == 1 else (None, len(named))


def _building(
    form: Mapping[str, str], index: DirectoryIndex, radius_m: float | None = None
) -> tuple[str | None, list[str]]:
    """The building a request names (attribute, address_id or address_string win), else the one
    nearest its lat/long within `radius_m`."""
    attribute = _value(form, f"attribute[{BUILDING_ATTRIBUTE}]")
    if attribute is not None:
        if attribute in index.buildings:
            return attribute, []
        return None, [f"attribute[{BUILDING_ATTRIBUTE}] {attribute!r} is not a known building"]
    address_id = _value(form, "address_id")
    if address_id is not None:
        if address_id in index.buildings:
            return address_id, []
        return None, [f"address_id {address_id!r} is not a known building id"]
    address = _value(form, "address_string")
    if address is not None:
        found, matches = find_building(index, address)
        if found is not None:
            return found, []
        if matches:
            return None, [f"address_string {address!r} names {matches} buildings; use attribute[{BUILDING_ATTRIBUTE}]"]
        return None, [f"address_string {address!r} is no building's name or id"]
    lat, long = _value(form, "lat"), _value(form, "long")
    if lat is not None and long is not None and radius_m is not None:
        try:
            point = (float(lat), float(long))
        except ValueError:
            return None, []  # the coordinates' own check names them
        found_near = nearest_building(index, *point)
        if found_near is None:
            return None, ["lat/long given, but no building of the directory has a location: name the building"]
        building, metres = found_near
        if metres <= radius_m:
            return building.id, []
        return None, [
            f"no building within {radius_m:g} m of lat/long: the nearest is {building.id} {building.name}, "
            f"{metres:,.0f} m away; name the building with attribute[{BUILDING_ATTRIBUTE}]"
        ]
    return None, [
        f"a building is required: attribute[{BUILDING_ATTRIBUTE}] (see the service definition), "
        "address_string (a building's name or id) or lat/long near a building"
    ]


EARTH_RADIUS_M = 6_371_008.8


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two WGS-84 points (haversine), in metres."""
    lat1, long1, lat2, long2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((long2 - long1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def nearest_building(index: DirectoryIndex, lat: float, long: float) -> tuple[Building, float] | None:
    """The building with a location nearest to the point, and its distance; None when none has one."""
    placed = [
        (distance_m((lat, long), (b.location.lat, b.location.long)), b) for b in index.directory.buildings if b.location
    ]
    if not placed:
        return None
    metres, building = min(placed, key=lambda pair: pair[0])
    return building, metres


def _coordinate(form: Mapping[str, str], name: str, limit: float, errors: list[str]) -> float | None:
    raw = _value(form, name)
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        errors.append(f"{name} {raw!r} is not a number")
        return None
    if not math.isfinite(number) or abs(number) > limit:
        errors.append(f"{name} must be between -{limit:g} and {limit:g}")
        return None
    return number


# The form's names for the reporter's fields.
_REPORTER_FIELDS = {"name": "first_name/last_name", "phone": "phone", "email": "email"}


def _loc(loc: tuple[int | str, ...]) -> str:
    return "media_url" if loc[:1] == ("media_urls",) else ".".join(str(p) for p in loc)


def form_to_issue(
    form: Mapping[str, str],
    index: DirectoryIndex,
    radius_m: float | None = None,
    enterprises: Mapping[str, EnterpriseRef] | None = None,
) -> Submission:
    """The issue a GeoReport POST describes, or a `FormError` naming every bad parameter.
    `api_key` is the caller's business and not looked at here. `enterprises`: what intake holds of
    the enterprise `attribute[enterprise_id]` names (`enterprise_named`), by id.

    The optional attributes are kept with the issue (`Submission.attributes`); the enterprise is the
    issue's `enterprise_id`, and a line at the end of the description (`details_line`) shows them
    wherever the issue is shown."""
    errors: list[str] = []
    service_code = _value(form, "service_code")
    if service_code is None:
        errors.append("service_code is required")
    elif service_code not in index.services:
        errors.append(f"service_code {service_code!r} is not a known service")
    building_id, problems = _building(form, index, radius_m)
    errors += problems
    attributes, enterprise_name = _attributes(form, index, building_id, enterprises or {}, errors)
    details = details_line(attributes.get(ROOM_ATTRIBUTE), enterprise_name, attributes.get(CONTACT_ATTRIBUTE))
    room_for = DESCRIPTION_LENGTH - (len(details) + 2 if details else 0)  # "\n\n" + the line
    description = form.get("description") or ""
    if not description.strip():
        errors.append("description is required")
    elif len(description) > room_for:
        why = " with these attributes" if details else ""
        errors.append(f"description is {len(description)} characters long; at most {room_for} are taken{why}")
    email = _value(form, "email")
    if email is not None and "@" not in email:
        errors.append(f"email {email!r} is not an email address")
    lat = _coordinate(form, "lat", 90, errors)
    long = _coordinate(form, "long", 180, errors)
    if (_value(form, "lat") is None) != (_value(form, "long") is None):
        errors.append("lat and long are given together or not at all")
    name = full_name(_value(form, "first_name"), _value(form, "last_name"))
    phone = _value(form, "phone")
    reporter = None
    if name or phone or email:
        try:
            reporter = Reporter(name=name, phone=phone, email=email)
        except ValidationError as exc:
            errors += [f"{_REPORTER_FIELDS.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()]
    media_url = _value(form, "media_url")
    issue = None
    try:
        text = description[:room_for]
        issue = IssueCreate(
            building_id=building_id or "-",
            service_code=service_code or "-",
            title=title_of(description) or "-",
            description=(f"{text.rstrip()}\n\n{details}" if details and text.strip() else text) or "-",
            reporter=reporter,
            enterprise_id=attributes.get(ENTERPRISE_ATTRIBUTE),
            source=SOURCE,
            media_urls=[media_url] if media_url else [],
        )
    except ValidationError as exc:
        # Presence and lengths were checked above, in clearer words, and stand-ins keep pydantic
        # from repeating them: what is left is the media URL.
        errors += [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
    if errors:
        raise FormError(*errors)
    assert issue is not None
    return Submission(issue=issue, lat=lat, long=long, attributes=attributes)


# ---- GET requests: query -> filter -------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    ids: list[str] | None = None
    service_codes: list[str] = field(default_factory=list)
    statuses: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None


def _listed(values: Iterable[str]) -> list[str]:
    """Values given several times, comma separated, or both; blanks dropped, order kept, no repeats."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return out


def _instant(name: str, value: str, errors: list[str]) -> datetime | None:
    try:
        return parse_instant(value)
    except OutOfRange:
        errors.append(f"{name}: out of range")
        return None
    except ValueError:
        errors.append(
            f"{name} {value!r} is not a W3C date-time with a time zone (e.g. 2026-11-20T10:00:00+08:00 or ...Z)"
        )
        return None


def parse_query(params: Mapping[str, list[str]], now: datetime) -> RequestQuery:
    """`GET requests` parameters. `service_request_id` overrides the others; the dates default
    to the 90 days before now, and one date alone spans 90 days from (or to) it."""
    ids = _listed(params.get("service_request_id", []))
    if ids:
        if len(ids) > MAX_REQUESTS:
            raise BadRequest(f"at most {MAX_REQUESTS} service_request_id values are taken")
        return RequestQuery(ids=ids)
    errors: list[str] = []
    statuses = _listed(params.get("status", []))
    for status in statuses:
        if status not in ("open", "closed"):
            errors.append(f"status {status!r} is neither open nor closed")
    start_raw, end_raw = _listed(params.get("start_date", [])), _listed(params.get("end_date", []))
    for name, given in (("start_date", start_raw), ("end_date", end_raw)):
        if len(given) > 1:
            errors.append(f"{name} is given more than once")
    start = _instant("start_date", start_raw[0], errors) if start_raw else None
    end = _instant("end_date", end_raw[0], errors) if end_raw else None
    if start is not None and end is not None:
        if start > end:
            errors.append("start_date is after end_date")
        elif end - start > MAX_SPAN:
            errors.append("start_date and end_date may not span more than 90 days")
    if errors:
        raise BadRequest(*errors)
    if start is None and end is None:
        start = now - MAX_SPAN
    elif start is None:
        assert end is not None
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    return RequestQuery(
        service_codes=_listed(params.get("service_code", [])),
        statuses=frozenset(statuses),
        start=start,
        end=end,
    )


# An issue's id is an ObjectId made just before its `created_at` (see Issues.submit), so the
# id's embedded time (whole seconds) is at most `created_at` and trails it by well under a
# second: an `_id` range around the dates selects the candidates from the `_id` index, and
# the exact `created_at` bounds then apply to those alone.
ID_SLACK = timedelta(seconds=5)


def _object_id(instant: datetime) -> ObjectId:
    """The smallest ObjectId of `instant`, the bounds clamped to what an ObjectId holds (the
    dates are within kernel.times' range; the slack and the 90-day defaults may step past it)."""
    return ObjectId.from_datetime(min(max(instant, EARLIEST), LATEST))


def query_filter(query: RequestQuery) -> Doc:
    if query.ids is not None:
        oids = []
        for request_id in query.ids:
            try:
                oids.append(ObjectId(request_id))
            except (InvalidId, TypeError):
                continue  # an id that cannot exist matches nothing
        return {"_id": {"$in": oids}}
    ids: Doc = {}
    created: Doc = {}
    if query.start is not None:
        ids["$gte"] = _object_id(query.start - ID_SLACK)
        created["$gte"] = query.start
    if query.end is not None:
        ids["$lt"] = _object_id(query.end + timedelta(seconds=1))
        created["$lte"] = query.end
    out: Doc = {}
    if ids:
        out["_id"] = ids
        out["created_at"] = created
    if query.service_codes:
        out["service_code"] = {"$in": query.service_codes}
    if query.statuses == {"open"}:
        out["status"] = {"$nin": list(CLOSED)}
    elif query.statuses == {"closed"}:
        out["status"] = {"$in": list(CLOSED)}
    return out
