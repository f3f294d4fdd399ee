"""Enterprises (企业档案): batch upsert keyed by USCC with a report per row, search, one record.

Checking a batch is pure (`check_items`, `decide`, `diff`); `Enterprises` does the database part.
The writes of a batch and their `enterprise.updated` events commit in one transaction. A very large
upload (tens of thousands of rows) is written in chunks of `CHUNK` items, each a transaction of its
own: every row is checked before the first chunk is written, and writing again is harmless
(unchanged enterprises are neither written nor published).

Rules of the upsert:

- An item is an enterprise (`kernel.enterprises.Enterprise`) whose `id` may be left out: an existing
  enterprise keeps its id, a new one gets its USCC as id. An enterprise's id never changes: an item
  naming another id for a known USCC is refused, and so is an id held by another USCC.
- `industry`, `contact` and `plan` left out of an item keep what is stored (CSV and XLSX rows never
  carry a plan); given as null (or `[]`), they are cleared.
- The building must be in the current directory; plan owners must be staff of it.
- A USCC or an id already on an earlier row of the batch refuses the later row.
- A new enterprise gets `version` 1; a changed one `version + 1`; an unchanged one is neither
  counted nor written nor published.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from bson import ObjectId
from pydantic import ValidationError
from pymongo import DESCENDING, InsertOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from stdnum.cn import uscc as uscc_code

from chassis.auth import Principal
from chassis.store import Store
from kernel.directory import DirectoryIndex
from kernel.enterprises import Enterprise
from kernel.events import EnterpriseUpdated, Event, new_event
from kernel.strict import INPUT
from kernel.times import utcnow
from routing.enterprises import registry
from routing.enterprises.registry import LABELS

Doc = dict[str, Any]
Outcome = Literal["created", "updated", "unchanged"]

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "enterprises.yaml"
FIELDS = ("id", "name", "building_id", "uscc", "industry", "contact", "plan")
KEPT = ("industry", "contact", "plan")  # left out of an item: the stored value stays
CHUNK = 5000
_PLACEHOLDER_ID = "-"


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


@dataclass(frozen=True)
class Refusal:
    row: int
    id: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "id": self.id, "reason": self.reason}


@dataclass(frozen=True)
class Checked:
    """An item that passed the checks needing no database: the enterprise and the fields it carried."""

    row: int
    enterprise: Enterprise
    given: frozenset[str]  # `id` only when the item named one

    @property
    def explicit_id(self) -> bool:
        return "id" in self.given


@dataclass(frozen=True)
class Decision:
    row: int
    outcome: Outcome
    fields: Doc  # the enterprise as stored (FIELDS, JSON-ready)
    previous: Doc | None


# ---- pure checks -------------------------------------------------------------


Columns = Mapping[str, str]  # a file's columns by the item field they fill: "D 所在楼宇" (letter, header)


def _where(loc: Sequence[str | int], columns: Columns | None = None, label: bool = True) -> str:
    """`uscc (统一社会信用代码)`; with the file's columns, `uscc (column B 统一社会信用代码)`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    key = "_".join(str(part) for part in loc)  # contact.phone → contact_phone, as the columns name it
    if columns and key in columns:
        text += f" (column {columns[key]})"
    elif label and len(loc) == 1 and str(loc[0]) in LABELS:
        text += f" ({LABELS[str(loc[0])]})"
    return text or "item"


def reason_of(exc: ValidationError, columns: Columns | None = None) -> str:
    """Every problem of an item, each naming its field: `uscc (统一社会信用代码): '…' is not a valid …`
    (with a file's columns: `uscc (column B 统一社会信用代码): …`)."""
    parts = []
    for error in exc.errors():
        msg = "required" if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{_where(error['loc'], columns)}: {msg}")
    return "; ".join(parts)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def uscc_of(item: object) -> str | None:
    """The item's USCC in its compact form, when it is a valid one."""
    raw = _text(item.get("uscc")) if isinstance(item, dict) else None
    if raw is None:
        return None
    code = uscc_code.compact(raw)
    return code if uscc_code.is_valid(code) else None


def given_id(item: object) -> str | None:
    """The id an item names, or failing that its USCC as given: what its report line shows."""
    if not isinstance(item, dict):
        return None
    return _text(item.get("id")) or _text(item.get("uscc"))


def duplicates(items: Sequence[object], rows: Sequence[int], where: str = "this batch") -> dict[int, str]:
    """Index → reason, for each item whose valid USCC or whose id is already on an earlier row."""
    seen_uscc: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    found: dict[int, str] = {}
    for i, item in enumerate(items):
        code = uscc_of(item)
        explicit = _text(item.get("id")) if isinstance(item, dict) else None
        if code is not None and code in seen_uscc:
            found[i] = f"uscc {code} is already on row {seen_uscc[code]} of {where}"
        elif explicit is not None and explicit in seen_id:
            found[i] = f"id {explicit!r} is already on row {seen_id[explicit]} of {where}"
        if code is not None:
            seen_uscc.setdefault(code, rows[i])
        if explicit is not None:
            seen_id.setdefault(explicit, rows[i])
    return found


def rule_problems(
    item: Mapping[str, Any], building_ids: Collection[str], staff_ids: Collection[str] | None
) -> list[tuple[tuple[str | int, ...], str]]:
    """(location, problem) for the directory's rules an item breaks: its building, its plan's owners.
    Reads what it can of an item whose shape may be wrong."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    building_id = item.get("building_id")
    if isinstance(building_id, str) and building_id and building_id not in building_ids:
        found.append((("building_id",), f"unknown building {building_id!r} (not in the current directory)"))
    plan = item.get("plan")
    if staff_ids is not None and isinstance(plan, list):
        for i, line in enumerate(plan):
            owner = line.get("owner") if isinstance(line, dict) else None
            if isinstance(owner, str) and owner not in staff_ids:
                found.append((("plan", i, "owner"), f"unknown staff id {owner!r}"))
    return found


def rule_reasons(problems: Sequence[tuple[tuple[str | int, ...], str]], columns: Columns | None) -> list[str]:
    """`building_id: unknown building 'B9' (…)`, `plan[0].owner: unknown staff id 'S9'` (the column named
    when the item came from a file)."""
    return [f"{_where(at, columns, label=False)}: {problem}" for at, problem in problems]


def check(
    item: object,
    row: int,
    building_ids: Collection[str],
    staff_ids: Collection[str] | None = None,
    columns: Columns | None = None,
) -> Checked | Refusal:
    """One item against the model and the directory. `columns`: the file's columns, for the reason."""
    if not isinstance(item, dict):
        return Refusal(row, None, "an item must be an object holding the enterprise's fields")
    explicit = item.get("id") is not None
    data = item if explicit else {**item, "id": _PLACEHOLDER_ID}
    try:
        enterprise = Enterprise.model_validate(data, context=INPUT)
    except ValidationError as exc:
        # The rules too, on what can be read, so that one report says all that is wrong with the row.
        broken = [tuple(e["loc"]) for e in exc.errors()]
        rules = [
            (at, problem)
            for at, problem in rule_problems(item, building_ids, staff_ids)
            if not any(at[: len(b)] == b or b[: len(at)] == at for b in broken)  # said already
        ]
        return Refusal(row, given_id(item), "; ".join([reason_of(exc, columns), *rule_reasons(rules, columns)]))
    problems = rule_reasons(rule_problems(enterprise.model_dump(), building_ids, staff_ids), columns)
    if problems:
        return Refusal(row, given_id(item), "; ".join(problems))
    given = frozenset(k for k in item if k in FIELDS and (k != "id" or explicit))
    return Checked(row, enterprise, given)


def check_items(
    items: Sequence[object],
    building_ids: Collection[str],
    rows: Sequence[int] | None = None,
    staff_ids: Collection[str] | None = None,
    columns: Columns | None = None,
) -> tuple[list[Checked], list[Refusal]]:
    """The items that may be written, and the refused ones with their reasons. `rows` are the items'
    row numbers (by default their position, from 1); `columns` the file's, when they came from one."""
    numbers = list(rows) if rows is not None else list(range(1, len(items) + 1))
    if len(numbers) != len(items):
        raise ValueError("one row number per item")
    repeated = duplicates(items, numbers)
    checked: list[Checked] = []
    refused: list[Refusal] = []
    for i, item in enumerate(items):
        if i in repeated:
            refused.append(Refusal(numbers[i], given_id(item), repeated[i]))
            continue
        result = check(item, numbers[i], building_ids, staff_ids, columns)
        if isinstance(result, Checked):
            checked.append(result)
        else:
            refused.append(result)
    return checked, refused


def stored_fields(doc: Mapping[str, Any]) -> Doc:
    return {k: doc.get(k) for k in FIELDS}


def merge(existing: Mapping[str, Any] | None, item: Checked) -> Doc:
    """The enterprise to store: the item's fields, with what it left out taken from `existing`."""
    fields: Doc = item.enterprise.model_dump(mode="json")
    if existing is not None:
        fields["id"] = existing["id"]
        for key in KEPT:
            if key not in item.given:
                fields[key] = existing.get(key)
    elif not item.explicit_id:
        fields["id"] = item.enterprise.uscc
    return {k: fields.get(k) for k in FIELDS}


def diff(existing: Mapping[str, Any] | None, incoming: Mapping[str, Any]) -> Outcome:
    if existing is None:
        return "created"
    return "unchanged" if stored_fields(existing) == stored_fields(incoming) else "updated"


def decide(
    items: Sequence[Checked], by_uscc: Mapping[str, Doc], by_id: Mapping[str, Doc]
) -> tuple[list[Decision], list[Refusal]]:
    """What to do with each checked item, given the stored enterprises with the batch's USCCs (`by_uscc`)
    and with the ids it may take (`by_id`)."""
    decisions: list[Decision] = []
    refused: list[Refusal] = []
    taken: dict[str, int] = {}  # ids the batch gives, → row
    for item in items:
        uscc = item.enterprise.uscc
        previous = by_uscc.get(uscc)
        if previous is not None and item.explicit_id and previous["id"] != item.enterprise.id:
            refused.append(
                Refusal(
                    item.row,
                    item.enterprise.id,
                    f"id: uscc {uscc} is enterprise {previous['id']!r}; an enterprise's id does not change",
                )
            )
            continue
        fields = merge(previous, item)
        holder = by_id.get(fields["id"])
        if holder is not None and holder["uscc"] != uscc:
            refused.append(
                Refusal(
                    item.row, fields["id"], f"id: {fields['id']!r} is already the enterprise with uscc {holder['uscc']}"
                )
            )
            continue
        if fields["id"] in taken:
            refused.append(
                Refusal(item.row, fields["id"], f"id: {fields['id']!r} is already on row {taken[fields['id']]}")
            )
            continue
        taken[fields["id"]] = item.row
        decisions.append(Decision(item.row, diff(previous, fields), fields, previous))
    return decisions, refused


def report(created: int, updated: int, refused: Sequence[Refusal]) -> dict[str, Any]:
    return {
        "created": created,
        "updated": updated,
        "refused": [r.as_dict() for r in sorted(refused, key=lambda r: r.row)],
    }


def to_read(doc: Mapping[str, Any]) -> Doc:
    return {
        **stored_fields(doc),
        "plan": doc.get("plan") or [],
        "version": doc["version"],
        "updated_at": doc["updated_at"],
    }


def building_names(index: DirectoryIndex) -> dict[str, str]:
    """Building name → id, for the names only one building has."""
    return registry.building_names((b.id, b.name) for b in index.directory.buildings)


def demo_items() -> list[Any]:
    data = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    return list(data["items"])


# ---- the database ------------------------------------------------------------


class Enterprises:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.collection = store.col("enterprises")

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("uscc", unique=True)
        await self.collection.create_index("id", unique=True)
        await self.collection.create_index([("building_id", 1), ("_id", DESCENDING)])

    async def any(self) -> bool:
        return await self.collection.find_one({}, {"_id": 1}) is not None

    async def upsert(
        self,
        items: Sequence[object],
        building_ids: Collection[str],
        *,
        rows: Sequence[int] | None = None,
        staff_ids: Collection[str] | None = None,
        columns: Columns | None = None,
        chunk: int = CHUNK,
    ) -> dict[str, Any]:
        """Check and write a batch → `{"created", "updated", "refused": [{"row", "id", "reason"}]}`."""
        checked, refused = check_items(items, building_ids, rows, staff_ids, columns)
        created = updated = 0
        for start in range(0, len(checked), chunk):
            c, u, r = await self._write(checked[start : start + chunk])
            created, updated = created + c, updated + u
            refused.extend(r)
        return report(created, updated, refused)

    async def _write(self, items: Sequence[Checked]) -> tuple[int, int, list[Refusal]]:
        usccs = sorted({i.enterprise.uscc for i in items})
        ids = sorted({i.enterprise.id for i in items if i.explicit_id} | set(usccs))

        async def work(session: AsyncClientSession) -> tuple[int, int, list[Refusal]]:
            found = await self.collection.find(
                {"$or": [{"uscc": {"$in": usccs}}, {"id": {"$in": ids}}]}, session=session
            ).to_list()
            decisions, refused = decide(items, {d["uscc"]: d for d in found}, {d["id"]: d for d in found})
            now = utcnow()
            writes: list[InsertOne[Doc] | ReplaceOne[Doc]] = []
            events: list[Event] = []
            for d in decisions:
                if d.outcome == "unchanged":
                    continue
                if d.previous is None:
                    version = 1
                    writes.append(
                        InsertOne({"_id": ObjectId(), **d.fields, "version": 1, "created_at": now, "updated_at": now})
                    )
                else:
                    version = int(d.previous["version"]) + 1
                    doc = {**d.fields, "version": version, "created_at": d.previous.get("created_at", now)}
                    writes.append(ReplaceOne({"_id": d.previous["_id"]}, {**doc, "updated_at": now}))
                enterprise = Enterprise.model_validate(d.fields)
                events.append(
                    new_event(
                        "enterprise.updated",
                        source="routing",
                        subject=enterprise.id,
                        data=EnterpriseUpdated(version=version, enterprise=enterprise),
                    )
                )
            if writes:
                await self.collection.bulk_write(writes, ordered=True, session=session)
            await self.store.add_to_outbox(events, session)
            created = sum(1 for d in decisions if d.outcome == "created")
            updated = sum(1 for d in decisions if d.outcome == "updated")
            return created, updated, refused

        return await self.store.transaction(work)

    # ---- reading -------------------------------------------------------------

    async def get(self, enterprise_id: str) -> Doc:
        doc = await self.collection.find_one({"id": enterprise_id})
        if doc is None:
            raise NotFound(enterprise_id)
        return doc

    @staticmethod
    def visible(who: Principal, doc: Mapping[str, Any], index: DirectoryIndex) -> bool:
        if who.is_admin:
            return True
        return who.kind == "staff" and doc["building_id"] in index.scope(who.subject)

    @staticmethod
    def scope_filter(who: Principal, index: DirectoryIndex, building_id: str | None) -> Doc:
        """The buildings a search by `who` may cover; Forbidden for a building outside their scope."""
        if who.is_admin:
            return {} if building_id is None else {"building_id": building_id}
        if who.kind != "staff":
            raise Forbidden(f"{who.kind} tokens may not read enterprises")
        scope = index.scope(who.subject)
        if building_id is None:
            return {"building_id": {"$in": sorted(scope)}}
        if building_id not in scope:
            raise Forbidden(f"building {building_id!r} is outside your buildings")
        return {"building_id": building_id}

    async def search(
        self, within: Doc, *, q: str | None = None, limit: int = 50, after: ObjectId | None = None
    ) -> list[Doc]:
        """Newest first, `limit + 1` of them (for `paging.page`), `within` from `scope_filter`."""
        query: Doc = dict(within)
        if q:
            query["name"] = {"$regex": re.escape(q), "$options": "i"}
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.collection.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()
