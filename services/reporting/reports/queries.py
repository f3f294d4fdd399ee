"""Reports over the read models: summary, breakdowns, time series, coverage, issue lists.

They read the read model's collections through its `ReadModel` and never write them. What each
counter counts is `reporting.readmodel.counters`; the rates are `reporting.kpis`."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kernel.times import SHANGHAI, utcnow
from reporting import kpis
from reporting.readmodel import counters as C
from reporting.readmodel.cells import ALL, month_of
from reporting.readmodel.store import ReadModel
from reporting.reports.windows import Span, plan

# Up to this many issues, medians are computed exactly from the issues; above, estimated.
EXACT_MEDIANS_UP_TO = 10_000
OPEN_NOT = [*C.DONE, "rejected"]

Doc = dict[str, Any]
Key = Callable[[Doc], Iterable[str]]


@dataclass(frozen=True)
class Filter:
    start: datetime | None
    end: datetime
    buildings: frozenset[str] | None  # None: every building
    service_code: str | None


def _spans(spans: list[Span]) -> list[Doc]:
    return [{"period": {"$gte": a, "$lt": b}} for a, b in spans]


def issue_query(f: Filter, spans: list[tuple[datetime | None, datetime]]) -> Doc:
    """The issues the summary counts: submitted within `spans`, not rejected, in the filter's buildings and service."""
    query: Doc = {
        "$or": [{"submitted_at": {"$gte": a, "$lt": b} if a else {"$lt": b}} for a, b in spans],
        "status": {"$ne": "rejected"},
    }
    if f.buildings is not None:
        query["building_id"] = {"$in": sorted(f.buildings)}
    if f.service_code is not None:
        query["service_code"] = f.service_code
    return query


class Reports:
    def __init__(self, model: ReadModel) -> None:
        self.model = model

    async def _cells(self, f: Filter, grain: str, spans: list[Span], by_service: bool, field: str | None) -> list[Doc]:
        """The cells' counters summed inside MongoDB per value of `field` (one row when None):
        `{field: value, <counter>: n, "h_ack": {bin: n}, "h_res": {bin: n}}` rows."""
        if not spans:
            return []
        query: Doc = {"grain": grain, "$or": _spans(spans)}
        if f.service_code is not None:
            query["service_code"] = f.service_code
        else:
            query["service_code"] = {"$ne": ALL} if by_service else ALL
        if f.buildings is not None:
            query["building_id"] = {"$in": sorted(f.buildings)}
        else:
            # The whole district: its own cells, unless the report is per building.
            query["building_id"] = {"$ne": ALL} if field == "building_id" else ALL
        group = f"${field}" if field else None
        cells = self.model.cells
        sums = [{"$match": query}, {"$group": {"_id": group, **{n: {"$sum": f"${n}"} for n in C.SCALARS}}}]

        def bins(name: str) -> list[Doc]:
            return [
                {"$match": query},
                {"$project": {"g": group, "h": {"$objectToArray": {"$ifNull": [f"${name}", {}]}}}},
                {"$unwind": "$h"},
                {"$group": {"_id": {"g": "$g", "k": "$h.k"}, "n": {"$sum": "$h.v"}}},
            ]

        async def run(pipeline: list[Doc]) -> list[Doc]:
            return await (await cells.aggregate(pipeline)).to_list()

        totals, acks, resolves = await asyncio.gather(run(sums), run(bins("h_ack")), run(bins("h_res")))
        return _rows(field, totals, acks, resolves)

    async def _raw(self, f: Filter, spans: list[Span], field: str | None) -> list[Doc]:
        """The partial days' issues, their contributions summed inside MongoDB per value of `field`
        (`counters.contribution_expressions`): rows shaped as `_cells` gives them. One read of the
        issues, and a few rows back however many issues the day has had."""
        if not spans:
            return []
        group: Any = {"$literal": None}
        if field == "period":
            group = {"$dateTrunc": {"date": "$submitted_at", "unit": "day", "timezone": str(SHANGHAI)}}
        elif field is not None:
            group = {"$ifNull": [f"${field}", ""]}  # as `contribution` places an issue without one

        def bins(name: str) -> list[Doc]:
            return [
                {"$match": {name: {"$ne": None}}},
                {"$group": {"_id": {"g": "$g", "k": f"${name}"}, "n": {"$sum": 1}}},
            ]

        pipeline = [
            {"$match": issue_query(f, list(spans))},
            {"$project": {"_id": 0, "g": group, **C.contribution_expressions()}},
            {
                "$facet": {
                    "sums": [{"$group": {"_id": "$g", **{n: {"$sum": f"${n}"} for n in C.SCALARS}}}],
                    "h_ack": bins("h_ack"),
                    "h_res": bins("h_res"),
                }
            },
        ]
        found = await (await self.model.issues.aggregate(pipeline)).to_list()
        facets = found[0] if found else {}
        return _rows(field, facets.get("sums", []), facets.get("h_ack", []), facets.get("h_res", []))

    async def grouped(
        self,
        f: Filter,
        field: str | None,
        key: Callable[[Doc], str | None] = lambda d: "all",
        *,
        by_service: bool = False,
        months: bool = True,
    ) -> dict[str, C.Counters]:
        """Counters of the population summed per value of `field` (building_id, service_code,
        period, or None for one total), then mapped by `key` (a grid node per building, a week
        per day...): whole months and days from the cells, partial days from the issues, summed
        in MongoDB. A window ending now takes today from its cells, less the issues submitted after
        its end (`windows.plan`), so a busy day costs nothing. `key` sees rows with `field` alone."""
        p = plan(f.start, f.end, utcnow())
        if not months:
            p.days.extend(p.months)
            p.months = []
        day_cells, month_cells, raw, less = await asyncio.gather(
            self._cells(f, "day", p.days, by_service, field),
            self._cells(f, "month", p.months, by_service, field),
            self._raw(f, p.raw, field),
            self._raw(f, p.less, field),
        )
        groups: dict[str, C.Counters] = defaultdict(dict)
        for row in (*day_cells, *month_cells, *raw, *(_negated(r) for r in less)):
            k = key(row)
            if k is not None:
                C.add(groups[k], row)
        return dict(groups)

    async def exact_durations(
        self, f: Filter, key: Callable[[Doc], Iterable[str]], total: int | None = None
    ) -> dict[str, tuple[list[float], list[float]]] | None:
        """Acknowledge and resolve durations per group, when the population (`total`, if the
        counters already tell it) is small enough for exact medians; None otherwise."""
        query = issue_query(f, [(f.start, f.end)])
        if total is None:
            total = await self.model.issues.count_documents(query, limit=EXACT_MEDIANS_UP_TO + 1)
        if total > EXACT_MEDIANS_UP_TO:
            return None
        projection = dict.fromkeys((*C.FIELDS, "assignees"), 1)
        out: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        seen = 0
        # Never more than the limit read, whatever `total` said: counters out of step with the
        # issues (cells loaded after the issues, as a bulk load does) must not make this read
        # every issue into memory.
        async for doc in self.model.issues.find(query, projection).limit(EXACT_MEDIANS_UP_TO + 1):
            seen += 1
            if seen > EXACT_MEDIANS_UP_TO:
                return None
            for k in key(doc):
                _durations(doc, out[k])
        return dict(out)

    # ---- visit coverage ---------------------------------------------------

    async def coverage(self, f: Filter, key: Callable[[Doc], str | None]) -> dict[str, Doc]:
        """enterprises, enterprises_visited and visits per group (by building-level key)."""
        where: Doc = {} if f.buildings is None else {"building_id": {"$in": sorted(f.buildings)}}
        when: Doc = {"$lt": f.end} if f.start is None else {"$gte": f.start, "$lt": f.end}
        enterprises = await self.model.enterprises.find(where, {"building_id": 1}).to_list()
        visits = await self.model.visits.find(
            {**where, "visited_at": when}, {"building_id": 1, "enterprise_id": 1}
        ).to_list()
        home = {e["_id"]: e["building_id"] for e in enterprises}
        out: dict[str, Doc] = defaultdict(lambda: {"enterprises": 0, "visits": 0, "visited": set()})
        for e in enterprises:
            k = key({"building_id": e["building_id"]})
            if k is not None:
                out[k]["enterprises"] += 1
        for v in visits:
            k = key({"building_id": v["building_id"]})
            if k is None:
                continue
            out[k]["visits"] += 1
            if v.get("enterprise_id") in home and key({"building_id": home[v["enterprise_id"]]}) == k:
                out[k]["visited"].add(v["enterprise_id"])
        return {
            k: {"enterprises": v["enterprises"], "visits": v["visits"], "enterprises_visited": len(v["visited"])}
            for k, v in out.items()
        }

    async def visits(self, building_id: str, start: datetime, end: datetime) -> list[Doc]:
        """The building's visits in [start, end), oldest first, each with its enterprise's name as
        `enterprise` (the enterprise's id when reporting holds no such enterprise)."""
        model = self.model
        docs = (
            await model.visits.find({"building_id": building_id, "visited_at": {"$gte": start, "$lt": end}})
            .sort("visited_at", 1)
            .to_list()
        )
        ids = sorted({d["enterprise_id"] for d in docs if d.get("enterprise_id")})
        names = {e["_id"]: e.get("name") async for e in model.enterprises.find({"_id": {"$in": ids}}, {"name": 1})}
        return [{**d, "enterprise": names.get(d.get("enterprise_id") or "", d.get("enterprise_id"))} for d in docs]

    # ---- the reports ------------------------------------------------------

    async def summary(self, f: Filter) -> dict[str, Any]:
        groups, cover = await asyncio.gather(self.grouped(f, None), self.coverage(f, lambda _: "all"))
        total = int(groups.get("all", {}).get("total", 0))
        # The counters tell the population's size: no count of the issues to decide on exact medians.
        exact = await self.exact_durations(f, lambda _: ["all"], total) if total <= EXACT_MEDIANS_UP_TO else None
        counts = C.add(dict(groups.get("all", {})), cover.get("all", {}))
        return kpis.figures(counts, exact=(exact or {}).get("all", ([], [])) if exact is not None else None)

    async def breakdown(
        self, f: Filter, by: str, names: dict[str, str], building_groups: dict[str, set[str]] | None = None
    ) -> list[dict[str, Any]]:
        """Rows per key; `building_groups` maps each grid node to its buildings (by=grid_node)."""
        if by == "assignee":
            return await self._by_assignee(f, names)
        key, issue_key, keys = _keys(f, by, names, building_groups)
        by_service = by == "service_code"
        field = "service_code" if by_service else "building_id"
        groups, exact = await asyncio.gather(
            self.grouped(f, field, key, by_service=by_service), self.exact_durations(f, issue_key)
        )
        cover = await self.coverage(f, key) if not by_service else {}
        rows = []
        for k in dict.fromkeys([*keys, *groups]):
            counts = C.add(dict(groups.get(k, {})), cover.get(k, {}))
            figures = kpis.figures(counts, exact=(exact.get(k, ([], [])) if exact is not None else None))
            if by_service:
                figures.update(enterprises=None, enterprises_visited=None, visits=None, visit_coverage_rate=None)
            rows.append({"key": k, "name": names.get(k, k), **figures})
        return rows

    async def _by_assignee(self, f: Filter, names: dict[str, str]) -> list[dict[str, Any]]:
        """An issue counts under each of its current assignees (from the issues themselves)."""
        groups: dict[str, C.Counters] = defaultdict(dict)
        durations: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        projection = dict.fromkeys((*C.FIELDS, "assignees"), 1)
        async for doc in self.model.issues.find(issue_query(f, [(f.start, f.end)]), projection):
            part = C.contribution(doc)
            if part is None:
                continue
            for staff_id in doc.get("assignees", []):
                C.add(groups[staff_id], C.flat(part[1]))
                _durations(doc, durations[staff_id])
        rows = []
        for staff_id in sorted(groups):
            figures = kpis.figures(groups[staff_id], exact=durations[staff_id])
            figures.update(enterprises=None, enterprises_visited=None, visits=None, visit_coverage_rate=None)
            rows.append({"key": staff_id, "name": names.get(staff_id, staff_id), **figures})
        return rows

    async def issues(self, query: Doc, sort: list[tuple[str, int]], limit: int) -> list[Doc]:
        """Read-model issues matching `query`, in `sort` order, at most `limit`."""
        return await self.model.issues.find(query).sort(sort).limit(limit).to_list()

    async def overdue(self, f: Filter, limit: int = 500) -> list[Doc]:
        """Open issues past their resolve deadline (督办), the longest overdue first."""
        query = {**issue_query(f, [(f.start, f.end)]), "$expr": C.OVERDUE_OPEN.expression()}
        return await self.model.issues.find(query).sort("resolve_due", 1).limit(limit).to_list()

    async def open_issues(self, f: Filter, limit: int = 500) -> list[Doc]:
        query = {**issue_query(f, [(f.start, f.end)]), "status": {"$nin": OPEN_NOT}}
        return await self.model.issues.find(query).sort("submitted_at", 1).limit(limit).to_list()

    async def calendar_fallback(self) -> list[int]:
        """The years without official calendar data that open issues' deadlines were counted through
        (routing's `calendar_fallback`), for the dashboard's banner; the whole district, whoever asks."""
        query = {"calendar_fallback": {"$exists": True}, "status": {"$nin": OPEN_NOT}}
        return sorted(int(y) for y in await self.model.issues.distinct("calendar_fallback", query))

    async def by_building(self, f: Filter) -> tuple[dict[str, C.Counters], dict[str, Doc]]:
        """Counters and visit coverage per building, for trees of figures."""
        return await asyncio.gather(self.grouped(f, "building_id", _building), self.coverage(f, _building))

    async def timeseries(self, f: Filter, interval: str) -> list[dict[str, Any]]:
        """Buckets of day, week (from Monday) or month, in Asia/Shanghai."""

        def bucket(d: Doc) -> str:
            day: datetime = d["period"].astimezone(SHANGHAI)
            if interval == "week":
                day = day - timedelta(days=day.weekday())
            elif interval == "month":
                day = month_of(day)
            return day.date().isoformat()

        groups = await self.grouped(f, "period", bucket, months=interval == "month")
        rows = []
        for k in sorted(groups):
            rows.append({"period": k, **kpis.figures(groups[k])})
        return rows


def _durations(doc: Doc, into: tuple[list[float], list[float]]) -> None:
    """The issue's acknowledge and resolve durations (seconds), those that count, added to `into`."""
    for seconds, values in zip((C.ACK_TIME.seconds(doc), C.RESOLVE_TIME.seconds(doc)), into, strict=True):
        if seconds is not None:
            values.append(seconds)


def _rows(field: str | None, totals: list[Doc], acks: list[Doc], resolves: list[Doc]) -> list[Doc]:
    """`{field: value, <counter>: n, "h_ack": {bin: n}, "h_res": {bin: n}}` rows (no `field` when
    None) from the sums grouped by value and the histogram bins grouped by (value, bin)."""
    rows: dict[Any, Doc] = {}
    for t in totals:
        rows[t["_id"]] = {**({field: t["_id"]} if field else {}), **{n: t[n] for n in C.SCALARS}}
    for name, found in (("h_ack", acks), ("h_res", resolves)):
        for b in found:
            row = rows.setdefault(b["_id"]["g"], {field: b["_id"]["g"]} if field else {})
            row.setdefault(name, {})[int(b["_id"]["k"])] = b["n"]
    return list(rows.values())


def _negated(row: Doc) -> Doc:
    """A row's counters to take away (histogram bins included); its `field` value kept."""
    out: Doc = {}
    for name, value in row.items():
        if name in C.HISTOGRAMS:
            out[name] = {b: -n for b, n in value.items()}
        elif isinstance(value, int) and not isinstance(value, bool):
            out[name] = -value
        else:
            out[name] = value
    return out


def _keys(
    f: Filter, by: str, names: dict[str, str], building_groups: dict[str, set[str]] | None
) -> tuple[Callable[[Doc], str | None], Callable[[Doc], Iterable[str]], list[str]]:
    """How to group cells and issues for a breakdown, and the rows to show even when empty."""
    if by == "grid_node":
        assert building_groups is not None
        owner = {b: node for node, buildings in building_groups.items() for b in buildings}

        def node_of(d: Doc) -> str | None:
            return owner.get(d.get("building_id", ""))

        return node_of, lambda d: [k] if (k := node_of(d)) else [], list(building_groups)
    field = "building_id" if by == "building_id" else "service_code"

    def value(d: Doc) -> str | None:
        return d.get(field)

    if by == "building_id":
        keys = sorted(f.buildings) if f.buildings is not None else sorted(names)
    else:
        keys = [f.service_code] if f.service_code else sorted(names)
    return value, lambda d: [d[field]] if d.get(field) else [], keys


def _building(d: Doc) -> str | None:
    return d.get("building_id")
