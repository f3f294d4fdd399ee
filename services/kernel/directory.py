"""The directory document (grid, buildings, staff, roles, services) as data.

Routing owns and validates it; the other services receive it in
`directory.updated` and read it through the same model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

import phonenumbers
from pydantic import AnyHttpUrl, BaseModel, Field, model_validator
from pydantic.networks import validate_email

from kernel.datum import WGS84, to_wgs84
from kernel.durations import Duration
from kernel.strict import Strict, on_input

REDACTED = "***"

PHONE_REGION = "CN"
_PHONE_CHARS = re.compile(r"\+?[0-9(][0-9 ()\-]*")

Id = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=200)]

# An http(s) URL as given. Where it may lead is checked when it is submitted
# (`chassis.urls.OutboundGuard.check_submitted`, with a 422 naming why) and again when it is used
# (`OutboundGuard.resolve`); not here, since the same models parse stored documents and
# events in every service, and those must keep parsing whatever the allow-list says now.
OutwardUrl = Annotated[AnyHttpUrl, "an outgoing URL, checked by the outbound guard"]


def check_phone(text: str) -> None:
    """Raise ValueError unless `text` is a valid phone number: a CN mobile (`13800000001`), a CN
    landline with its area code (`021-6234 5678`), or any number in international form (`+852 ...`).
    The text is kept as given (WeCom mentions need the 11 digits), only checked; letters are refused
    (phonenumbers would read `138-bad-phone` as a vanity number)."""
    if not _PHONE_CHARS.fullmatch(text):
        raise ValueError("a phone number is digits, with spaces, -, ( ) and a leading + allowed")
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number (a CN mobile, a landline with its area code, or +country code)")


def check_email(text: str) -> None:
    """Raise ValueError unless `text` is an email address (pydantic's check, with `email-validator`)."""
    from pydantic_core import PydanticCustomError

    try:
        _, address = validate_email(text)
    except PydanticCustomError as exc:
        raise ValueError(str(exc)) from exc
    if address != text and address.casefold() != text.casefold():
        raise ValueError("give the address alone (no display name)")


Phone = Annotated[str, Field(max_length=32), on_input(check_phone)]
Email = Annotated[str, Field(max_length=254), on_input(check_email)]


class _Doc(Strict, BaseModel):  # BaseModel named too, so that linters see a pydantic model
    """Unknown fields: refused from input, ignored when reading (`kernel.strict`)."""


class Role(_Doc):
    code: Id
    name: Text


class WebhookChannel(_Doc):
    type: Literal["webhook"]
    url: OutwardUrl
    secret: str = Field(min_length=1, max_length=256)


class WecomChannel(_Doc):
    type: Literal["wecom"]
    key: str = Field(min_length=1, max_length=256)


class DingtalkChannel(_Doc):
    type: Literal["dingtalk"]
    access_token: str = Field(min_length=1, max_length=256)
    secret: str = Field(min_length=1, max_length=256)


class EmailChannel(_Doc):
    type: Literal["email"]


Channel = Annotated[WebhookChannel | WecomChannel | DingtalkChannel | EmailChannel, Field(discriminator="type")]


class Staff(_Doc):
    id: Id
    name: Text
    phone: Phone | None = None
    email: Email | None = None
    channels: list[Channel] = []
    # A named admin: their staff tokens act with the admin token's rights while the version a
    # service holds says so. Written out only when true (older readers know no such field).
    admin: bool = Field(default=False, exclude_if=lambda value: not value)


class GridNode(_Doc):
    id: Id
    name: Text
    heads: list[Id] = []
    children: list[GridNode] = []


class Location(_Doc):
    """WGS-84 degrees. A document may give the point in GCJ-02 (what Chinese map apps show) with
    `datum: GCJ-02`: it is converted to WGS-84 when read (`kernel.datum`), and only the WGS-84 point is
    kept and served (`datum` is never written out)."""

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    datum: Literal["WGS-84", "GCJ-02"] = Field(
        default="WGS-84", exclude=True, description="the datum of lat/long as given; GCJ-02 is converted"
    )

    @model_validator(mode="after")
    def _to_wgs84(self) -> Location:
        if self.datum != WGS84:
            self.lat, self.long = to_wgs84(self.lat, self.long, self.datum)
            self.datum = "WGS-84"
        return self


class Building(_Doc):
    id: Id
    name: Text
    grid_node: Id
    heads: list[Id]
    team: dict[str, Id] = {}
    address: str | None = Field(default=None, max_length=500)
    location: Location | None = None
    note: str | None = Field(default=None, max_length=500)


class Sla(_Doc):
    acknowledge: Duration
    resolve: Duration
    calendar: Literal["natural", "working"] = "natural"


class Service(_Doc):
    code: Id
    name: Text
    group: str | None = Field(default=None, max_length=100)
    role: Id
    department: str | None = Field(default=None, max_length=200)
    urgent: bool = False
    sla: Sla


class Directory(_Doc):
    roles: list[Role] = []
    staff: list[Staff] = []
    grid: GridNode
    buildings: list[Building] = []
    services: list[Service] = []

    def nodes(self) -> Iterator[tuple[GridNode, list[GridNode]]]:
        """Every grid node with its ancestors (root first), depth first."""
        stack: list[tuple[GridNode, list[GridNode]]] = [(self.grid, [])]
        while stack:
            node, ancestors = stack.pop()
            yield node, ancestors
            stack.extend((child, [*ancestors, node]) for child in reversed(node.children))

    def redacted(self) -> Directory:
        """The document with every channel secret replaced by `***`."""
        doc = self.model_copy(deep=True)
        for member in doc.staff:
            for channel in member.channels:
                for field in ("secret", "key", "access_token"):
                    if hasattr(channel, field):
                        setattr(channel, field, REDACTED)
        return doc

    def without_channels(self) -> Directory:
        """The document as every service but notify may hold it: no contact channels."""
        doc = self.model_copy(deep=True)
        for member in doc.staff:
            member.channels = []
        return doc


class DirectoryIndex:
    """Look-ups over one directory version, built once per version."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.staff = {s.id: s for s in directory.staff}
        self.buildings = {b.id: b for b in directory.buildings}
        self.services = {s.code: s for s in directory.services}
        self.admins = frozenset(s.id for s in directory.staff if s.admin)
        self._scopes: dict[str, frozenset[str]] = {}
        self.nodes: dict[str, GridNode] = {}
        self.ancestors: dict[str, list[GridNode]] = {}
        for node, ancestors in directory.nodes():
            self.nodes[node.id] = node
            self.ancestors[node.id] = ancestors

    def staff_name(self, staff_id: str) -> str:
        member = self.staff.get(staff_id)
        return member.name if member else staff_id

    def subtree(self, node_id: str) -> set[str]:
        """Ids of the node and every node below it."""
        node = self.nodes.get(node_id)
        if node is None:
            return set()
        ids, stack = set(), [node]
        while stack:
            current = stack.pop()
            ids.add(current.id)
            stack.extend(current.children)
        return ids

    def buildings_under(self, node_id: str) -> set[str]:
        nodes = self.subtree(node_id)
        return {b.id for b in self.directory.buildings if b.grid_node in nodes}

    def scope(self, staff_id: str) -> frozenset[str]:
        """Buildings a staff member may see: where they are a head or on the team, and
        every building under a grid node they head. Kept once computed: an index is one version."""
        held = self._scopes.get(staff_id)
        if held is not None:
            return held
        buildings = {b.id for b in self.directory.buildings if staff_id in b.heads or staff_id in b.team.values()}
        for node_id, node in self.nodes.items():
            if staff_id in node.heads:
                buildings |= self.buildings_under(node_id)
        self._scopes[staff_id] = frozenset(buildings)
        return self._scopes[staff_id]
