"""Each counter is declared once (`reporting.readmodel.counters`) and read two ways: in Python by the
folds, as a MongoDB expression by the reports that sum issues inside MongoDB. On the real server,
over issue documents with every field missing, null or set (edges included), the two readings of
every counter, every duration histogram and the population must agree document by document."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection

from chassis.store import Store
from reporting.readmodel import counters as C
from reporting.readmodel import histogram
from reporting.readmodel.predicates import Condition
from reporting.readmodel.store import ReadModel
from reporting.reports.queries import Filter, Reports

Doc = dict[str, Any]
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
MISSING = object()

STATUSES = ["received", "assigned", "acknowledged", "in_progress", "resolved", "closed", "rejected"]
# After submission, in seconds: under a second, at and next to histogram bin edges, hours, days,
# and before it (clocks apart).
OFFSETS = [-3.0, 0.0, 0.5, 1.0, histogram.RATIO**40, 600.0, 1800.0, 86400.0, 10 * 86400.0]


def _at(seconds: float) -> datetime:
    t = T0 + timedelta(seconds=seconds)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)  # what MongoDB stores


VARIANTS: dict[str, list[Any]] = {
    "submitted_at": [MISSING, None, T0, T0, T0, T0],
    "status": [MISSING, None, *STATUSES],
    "acknowledged_at": [MISSING, None, *(_at(s) for s in OFFSETS)],
    "first_ack_due": [MISSING, None, *(_at(s) for s in OFFSETS)],
    "resolved_at": [MISSING, None, *(_at(s) for s in OFFSETS)],
    "reopened": [MISSING, None, 0, 1, 2],
    "overdue": [MISSING, None, False, True],
    "feedback": [MISSING, None, *C.SATISFACTION, "other"],
    "building_id": [MISSING, "B1"],
    "service_code": [MISSING, "talent"],
}


def samples() -> list[Doc]:
    """Every value of each field at least once against every value of each other field (pairs
    drawn at random until covered, seeded), plus an acknowledgement exactly at its deadline."""
    rng = random.Random(14)
    names = list(VARIANTS)
    wanted = {
        (a, i, b, j)
        for a, b in itertools.combinations(names, 2)
        for i in range(len(VARIANTS[a]))
        for j in range(len(VARIANTS[b]))
    }
    docs: list[Doc] = []
    while wanted:
        pick = {name: rng.randrange(len(VARIANTS[name])) for name in names}
        covered = {(a, pick[a], b, pick[b]) for a, b in itertools.combinations(names, 2)}
        if not covered & wanted and rng.random() < 0.9:
            continue
        wanted -= covered
        doc: Doc = {"_id": f"I{len(docs)}"}
        for name, index in pick.items():
            value = VARIANTS[name][index]
            if value is not MISSING:
                doc[name] = value
        docs.append(doc)
    on_the_dot = {"_id": "dot", "submitted_at": T0, "status": "acknowledged"}
    docs.append({**on_the_dot, "acknowledged_at": _at(600), "first_ack_due": _at(600)})
    return docs


@pytest.fixture(scope="module")
async def store(mongod: Any) -> AsyncIterator[Store]:
    store = Store(mongod.url, f"louzhang_counters_{uuid.uuid4().hex[:8]}", "reporting")
    await ReadModel(store).issues.insert_many(samples())
    try:
        yield store
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


@pytest.fixture
def issues(store: Store) -> tuple[AsyncCollection[Doc], list[Doc]]:
    return ReadModel(store).issues, samples()


async def evaluated(collection: AsyncCollection[Doc], expression: Any) -> dict[str, Any]:
    pipeline = [{"$project": {"v": expression}}]
    return {d["_id"]: d["v"] async for d in await collection.aggregate(pipeline)}


def as_bool(expression: Any) -> Any:
    return {"$cond": [expression, True, False]}


CONDITIONS: dict[str, Condition] = {
    "population": C.POPULATION,
    **{c.name: c.when for c in C.COUNTERS},
    **{f"{d.name} counts": d.when for d in C.DURATIONS},
}


def test_the_samples_hold_every_case_of_every_condition() -> None:
    docs = samples()
    for name, condition in CONDITIONS.items():
        if name != "total":  # every issue of the population
            assert {condition.test(d) for d in docs} == {True, False}, name


@pytest.mark.parametrize("name", list(CONDITIONS))
async def test_a_condition_reads_the_same_in_python_and_in_mongodb(
    issues: tuple[AsyncCollection[Doc], list[Doc]], name: str
) -> None:
    collection, docs = issues
    condition = CONDITIONS[name]
    in_mongodb = await evaluated(collection, as_bool(condition.expression()))
    in_python = {d["_id"]: condition.test(d) for d in docs}
    differ = {i: (in_python[i], in_mongodb[i]) for i in in_python if in_python[i] != in_mongodb[i]}
    assert not differ, [next(d for d in docs if d["_id"] == i) for i in list(differ)[:3]]


@pytest.mark.parametrize("duration", C.DURATIONS, ids=lambda d: d.name)
async def test_a_duration_falls_in_the_same_bin_in_python_and_in_mongodb(
    issues: tuple[AsyncCollection[Doc], list[Doc]], duration: C.Duration
) -> None:
    collection, docs = issues
    # Only where a submission time is known: a duration is counted for issues of the population.
    have = [d for d in docs if d.get("submitted_at") is not None]
    in_mongodb = await evaluated(collection, duration.bin_expression())
    for doc in have:
        seconds = duration.seconds(doc)
        expected = None if seconds is None else histogram.bin_of(seconds)
        got = in_mongodb[doc["_id"]]
        assert (None if got is None else int(got)) == expected, doc


async def test_the_contribution_summed_in_mongodb_is_the_one_folded_in_python(
    issues: tuple[AsyncCollection[Doc], list[Doc]],
) -> None:
    collection, docs = issues
    pipeline = [
        {"$match": {"$expr": C.POPULATION.expression()}},
        {"$project": C.contribution_expressions()},
    ]
    rows = {r["_id"]: r async for r in await collection.aggregate(pipeline)}
    expected = {d["_id"]: part[1] for d in docs if (part := C.contribution(d)) is not None}
    assert rows.keys() == expected.keys() and len(rows) > 100
    for issue_id, row in rows.items():
        got = {name: 1 for name in C.SCALARS if row[name]}
        got.update({f"{name}.{int(row[name])}": 1 for name in C.HISTOGRAMS if row[name] is not None})
        assert got == expected[issue_id], issue_id


async def test_the_overdue_list_holds_the_issues_the_overdue_counter_counts(store: Store) -> None:
    docs = samples()
    counted = {d["_id"] for d in docs if (part := C.contribution(d)) is not None and "overdue_open" in part[1]}
    listed = await Reports(ReadModel(store)).overdue(Filter(None, T0 + timedelta(days=365), None, None))
    assert {d["_id"] for d in listed} == counted and counted
