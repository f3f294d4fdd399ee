"""The summary's raw edges (the partial days of a window) summed inside MongoDB, on the real server:
they must give what `counters.contribution` gives issue by issue in Python, counters and histogram bins
alike; and the exact-median read stays bounded when the counters are out of step with the issues."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chassis.store import Store
from kernel.times import SHANGHAI, utcnow
from reporting.readmodel import counters as C
from reporting.readmodel import histogram
from reporting.readmodel.cells import Cell, day_of
from reporting.readmodel.store import ReadModel
from reporting.reports.queries import EXACT_MEDIANS_UP_TO, Filter, Reports
from reporting.reports.windows import BEGINNING, plan
from tests.support.servers import Mongod

Doc = dict[str, Any]
DAY = datetime(2026, 11, 20, tzinfo=SHANGHAI)
# Both edges partial: [11-19 12:00, 11-20 00:00) and [11-21 00:00, 11-21 12:00) from the issues.
START, END = DAY - timedelta(hours=12), DAY + timedelta(days=1, hours=12)


@pytest.fixture
async def reports(mongod: Mongod) -> AsyncIterator[Reports]:
    store = Store(mongod.url, f"louzhang_edges_{uuid.uuid4().hex[:8]}", "reporting")
    model = ReadModel(store)
    await model.ensure_indexes()
    try:
        yield Reports(model)
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


def ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def durations(rng: random.Random) -> list[float | None]:
    """Seconds after submission: absent, under a second, negative (clocks apart), whole seconds,
    next to each histogram bin's edge, and anything up to a month."""
    near_edges = [histogram.RATIO**k + d for k in range(0, 320, 7) for d in (-0.001, 0.0, 0.001)]
    spread = [rng.uniform(0, 30 * 86400) for _ in range(40)]
    return [None, 0.0, 0.4, 0.999, 1.0, -3.0, 60.0, 3600.0, *near_edges, *spread]


def issues(rng: random.Random, n: int) -> list[Doc]:
    statuses = ["received", "assigned", "acknowledged", "in_progress", "resolved", "closed", "rejected", None]
    feedback = [None, "satisfied", "basically_satisfied", "dissatisfied", "other"]
    seconds = durations(rng)
    docs = []
    for i in range(n):
        submitted = ms(START - timedelta(hours=2) + timedelta(seconds=rng.uniform(0, 52 * 3600)))
        doc: Doc = {"_id": f"I{i}", "submitted_at": submitted, "status": rng.choice(statuses)}
        ack, res, due = rng.choice(seconds), rng.choice(seconds), rng.choice([None, *seconds[:8], 1800.0])
        for name, after in (("acknowledged_at", ack), ("resolved_at", res), ("first_ack_due", due)):
            if after is not None:
                doc[name] = ms(submitted + timedelta(seconds=after))
            elif rng.random() < 0.5:
                doc[name] = None  # stored as null rather than missing
        if rng.random() < 0.3:  # an acknowledgement exactly at its deadline is late
            doc["first_ack_due"] = doc["acknowledged_at"] = ms(submitted + timedelta(minutes=10))
        for name, values in (
            ("reopened", [0, 1, 2]),
            ("overdue", [True, False, None]),
            ("feedback", feedback),
            ("building_id", ["B1", "B2", "B3"]),
            ("service_code", ["talent", "quick"]),
        ):
            if rng.random() < 0.85:  # else missing
                doc[name] = rng.choice(values)
        docs.append(doc)
    return docs


def expected(
    docs: list[Doc], key: Callable[[Cell], str], spans: list[tuple[datetime, datetime]] | None = None
) -> dict[str, C.Counters]:
    """The old way: each issue in the raw edges (or `spans`) folded in Python."""
    spans = plan(START, END).raw if spans is None else spans
    groups: dict[str, C.Counters] = defaultdict(dict)
    for doc in docs:
        if not any(a <= doc["submitted_at"] < b for a, b in spans):
            continue
        part = C.contribution(doc)
        if part is not None:
            C.add(groups[key(part[0])], C.flat(part[1]))
    return dict(groups)


def day_key(period: datetime) -> str:
    return period.astimezone(SHANGHAI).date().isoformat()


async def test_raw_edges_summed_in_mongodb_equal_the_issues_folded_in_python(reports: Reports) -> None:
    p = plan(START, END)
    assert len(p.raw) == 2 and p.days and not p.months, "the window has both edges raw"
    await reports.model.issues.insert_many(issues(random.Random(20261126), 3000))
    stored = await reports.model.issues.find().to_list()  # as stored: dates to the millisecond
    f = Filter(START, END, None, None)
    cases: list[tuple[str | None, Callable[[Doc], str], Callable[[Cell], str]]] = [
        (None, lambda d: "all", lambda c: "all"),
        ("building_id", lambda d: d["building_id"], lambda c: c.building_id),
        ("service_code", lambda d: d["service_code"], lambda c: c.service_code),
        ("period", lambda d: day_key(d["period"]), lambda c: day_key(c.day)),
    ]
    for field, row_key, cell_key in cases:
        got = await reports.grouped(f, field, row_key)
        want = expected(stored, cell_key)
        assert want and sum(g.get("h_ack", {}).get(0, 0) for g in want.values()), "the data reach bin 0"
        assert got == want, f"grouped by {field}"
    # Those without a building count under "" (as their cells do), and only the edges' days.
    assert "" in await reports.grouped(f, "building_id", lambda d: d["building_id"])
    assert set(await reports.grouped(f, "period", lambda d: day_key(d["period"]))) == {"2026-11-19", "2026-11-21"}


async def test_the_filter_applies_to_the_edges(reports: Reports) -> None:
    docs = issues(random.Random(7), 600)
    await reports.model.issues.insert_many(docs)
    stored = await reports.model.issues.find().to_list()
    f = Filter(START, END, frozenset({"B2"}), "quick")
    got = await reports.grouped(f, None)
    chosen = [d for d in stored if d.get("building_id") == "B2" and d.get("service_code") == "quick"]
    assert got == expected(chosen, lambda c: "all")
    assert got["all"]["total"] < len([d for d in stored if d.get("status") != "rejected"])


async def test_a_window_ending_now_counts_today_from_its_cells_less_the_issues_after_its_end(
    reports: Reports,
) -> None:
    """Cells kept as the consumer keeps them; some of today's issues stamped after the window's end
    (a clock ahead): the summary up to now counts exactly the issues before it."""
    now = utcnow()
    today = day_of(now)
    rng = random.Random(11)
    docs = issues(rng, 900)
    ahead = (day_of(now) + timedelta(days=1) - now) / 2
    for i, doc in enumerate(docs):  # a third yesterday or before, a third today, a third after now
        moved = {0: today - timedelta(hours=rng.uniform(1, 60)), 1: today + (now - today) * rng.random()}
        shift = moved.get(i % 3, now + ahead * rng.uniform(0.01, 1)) - doc["submitted_at"]
        for name in ("submitted_at", "acknowledged_at", "resolved_at", "first_ack_due"):
            if doc.get(name) is not None:
                doc[name] = ms(doc[name] + shift)
    await reports.model.issues.insert_many(docs)
    stored = await reports.model.issues.find().to_list()
    changes: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for doc in stored:
        for cell, counts in C.delta(None, doc).items():
            for name, n in counts.items():
                changes[cell][name] += n
    await reports.model.add(changes, None)

    assert plan(None, now, utcnow()).less, "the window's last day comes from its cells"
    before = [d for d in stored if d["submitted_at"] < now]
    assert 0 < len(before) < len(stored)
    f = Filter(None, now, None, None)
    got = await reports.grouped(f, None)
    want = expected(before, lambda c: "all", [(BEGINNING, now)])
    assert _same(got, want)
    by_day = await reports.grouped(f, "period", lambda d: day_key(d["period"]))
    assert _same(by_day, expected(before, lambda c: day_key(c.day), [(BEGINNING, now)]))
    summary = await reports.summary(f)
    assert summary["total"] == len([d for d in before if d.get("status") != "rejected"])


def _same(got: dict[str, C.Counters], want: dict[str, C.Counters]) -> bool:
    """Equal counters, leaving out zeros (a histogram bin that only issues after the end filled
    is taken away to 0)."""

    def nonzero(c: C.Counters) -> C.Counters:
        out: C.Counters = {}
        for name, value in c.items():
            if name in C.HISTOGRAMS:
                bins = {b: n for b, n in value.items() if n}
                if bins:
                    out[name] = bins
            elif value:
                out[name] = value
        return out

    return {k: nonzero(v) for k, v in got.items()} == {k: nonzero(v) for k, v in want.items()}


async def test_exact_medians_read_no_more_issues_than_their_limit(reports: Reports) -> None:
    """Counters that say "few" while the issues are many (cells not loaded yet): estimated medians,
    not every issue read into memory."""
    t = ms(DAY + timedelta(hours=1))
    docs = [
        {"_id": f"I{i}", "submitted_at": t, "status": "acknowledged", "acknowledged_at": t + timedelta(seconds=i)}
        for i in range(EXACT_MEDIANS_UP_TO + 1)
    ]
    await reports.model.issues.insert_many(docs)
    f = Filter(None, DAY + timedelta(days=1), None, None)
    assert await reports.exact_durations(f, lambda d: ["all"], total=5) is None
    await reports.model.issues.delete_one({"_id": "I0"})
    exact = await reports.exact_durations(f, lambda d: ["all"], total=5)
    assert exact is not None and len(exact["all"][0]) == EXACT_MEDIANS_UP_TO
