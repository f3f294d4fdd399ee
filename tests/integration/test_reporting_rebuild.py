"""`louzhang reporting rebuild` on the real stack, while the reporting service keeps running: the read
models rebuilt from the stored events give the very figures the live ones gave, twice over."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from chassis.store import Store
from ops.cli import app
from reporting.readmodel.cells import ALL, day_of
from reporting.readmodel.rebuild import Rebuilt, rebuild, repair_days
from reporting.readmodel.store import ReadModel
from tests.support.api import Api
from tests.support.servers import eventually

BY = ("building", "grid_node", "service_code", "assignee")


def submit(api: Api, building_id: str = "B1") -> str:
    body = {"building_id": building_id, "service_code": "talent", "title": "重建测试", "description": uuid.uuid4().hex}
    r = api.post("intake", "/v1/issues", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def status(api: Api, issue_id: str) -> str:
    return str(api.get("intake", f"/v1/issues/{issue_id}").json()["status"])


def figures(api: Api) -> dict[str, Any]:
    """The summary and every breakdown, as the service answers now."""
    out = {"summary": api.get("reporting", "/v1/reports/summary").json()}
    for by in BY:
        r = api.get("reporting", "/v1/reports/breakdown", params={"by": by})
        assert r.status_code == 200, r.text
        out[by] = r.json()["items"]
    return out


def settled(api: Api, quiet_s: float = 3.0, timeout: float = 40.0) -> dict[str, Any]:
    """The figures once they have not changed for `quiet_s` (timers of earlier tests may still fire)."""
    deadline = time.monotonic() + timeout
    last, since = figures(api), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = figures(api)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    raise AssertionError("the figures kept changing")


def cells(api: Api) -> dict[str, dict[str, Any]]:
    """The counter cells with their zero counters (and cells of nothing but zeros) left out: the live
    cells went up and down to reach them, the rebuilt ones did not."""
    out = {}
    for doc in api.stack.database()["reporting_cells"].find():
        counters = {k: v for k, v in doc.items() if k not in ("_id", "grain", "period", "building_id", "service_code")}
        kept = {k: v for k, v in counters.items() if v and not isinstance(v, dict)}
        kept.update({k: {i: n for i, n in v.items() if n} for k, v in counters.items() if isinstance(v, dict)})
        kept = {k: v for k, v in kept.items() if v}
        if kept:
            out[doc["_id"]] = kept
    return out


def issue_docs(api: Api) -> dict[str, dict[str, Any]]:
    return {d["_id"]: d for d in api.stack.database()["reporting_issues"].find()}


def run_rebuild(api: Api) -> tuple[Rebuilt, list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []

    async def main() -> Rebuilt:
        store = Store(api.stack.mongo_url, api.stack.db_name, "reporting")
        try:
            return await rebuild(store, lambda done, total: seen.append((done, total)))
        finally:
            await store.close()

    return asyncio.run(main()), seen


@pytest.fixture(scope="module")
def history(api: Api) -> list[str]:
    """A few issues of this module's own, in every state a rebuild must reproduce."""
    done, waiting, elsewhere, reopened = submit(api), submit(api), submit(api, "B2"), submit(api)
    for issue_id in (done, waiting, elsewhere, reopened):
        eventually(lambda i=issue_id: status(api, i) == "assigned", what=f"{issue_id} assigned")
    officer = api.as_token(api.token_for("staff", "S06"))
    for issue_id in (done, reopened):
        for action, body in (("acknowledge", {}), ("resolve", {"note": "已办结"})):
            assert officer.post("routing", f"/v1/workorders/{issue_id}/{action}", json=body).status_code == 200
        eventually(lambda i=issue_id: status(api, i) == "resolved", what="resolved in intake")
    verdicts = ((done, "satisfied"), (reopened, "dissatisfied"))
    for issue_id, verdict in verdicts:
        r = api.post("intake", f"/v1/issues/{issue_id}/feedback", json={"satisfaction": verdict})
        assert r.status_code == 200, r.text
    eventually(lambda: api.get("reporting", "/v1/reports/summary").json()["reopened"] >= 1, what="the summary has them")
    return [done, waiting, elsewhere, reopened]


def test_a_rebuild_gives_the_same_figures_and_the_service_keeps_answering(api: Api, history: list[str]) -> None:
    before = settled(api)
    live_cells, live_issues = cells(api), issue_docs(api)
    stored = api.stack.database()["reporting_events"].count_documents({})

    result, progress = run_rebuild(api)

    assert result.events >= stored and result.folded > 0
    assert result.counts["issues"] == len(live_issues) and result.counts["cells"] > 0
    assert progress[0] == (0, result.events) and progress[-1][0] >= result.events
    assert all(done <= total for done, total in progress)
    after = eventually(lambda: (f := figures(api)) == before and f, timeout=5, what="the same figures")
    assert after["summary"]["total"] >= len(history)
    # Underneath too: the rebuilt cells and issue documents are those the running service kept.
    assert cells(api) == live_cells
    assert issue_docs(api) == live_issues
    db = api.stack.database()
    assert not [name for name in db.list_collection_names() if name.endswith("_rebuild")]
    run = db["reporting_rebuilds"].find_one(sort=[("started_at", -1)])
    assert run is not None and run["state"] == "done" and run["counts"] == result.counts

    # The running service folds into the collections put in place.
    fresh = submit(api)
    eventually(
        lambda: api.get("reporting", "/v1/reports/summary").json()["total"] == before["summary"]["total"] + 1,
        what="a new issue is counted after the rebuild",
    )
    eventually(lambda: status(api, fresh) == "assigned", what="assigned")


def test_rebuilding_twice_changes_nothing(api: Api, history: list[str]) -> None:
    before = settled(api)
    run_rebuild(api)
    first_cells, first_issues = cells(api), issue_docs(api)
    second, _ = run_rebuild(api)
    assert cells(api) == first_cells
    assert issue_docs(api) == first_issues
    assert second.days_repaired == 0
    assert eventually(lambda: (f := figures(api)) == before and f, timeout=5, what="the same figures")


def test_the_command_line_rebuilds_with_a_progress_bar(api: Api, history: list[str]) -> None:
    before = settled(api)
    env = {"LOUZHANG_MONGO_URL": api.stack.mongo_url, "LOUZHANG_MONGO_DB": api.stack.db_name}
    result = CliRunner().invoke(app, ["reporting", "rebuild"], env=env)
    assert result.exit_code == 0, result.output
    assert "events stored" in result.output and "issues:" in result.output
    assert eventually(lambda: (f := figures(api)) == before and f, timeout=5, what="the same figures")


def test_cells_out_of_step_with_the_issues_are_recounted(api: Api, history: list[str]) -> None:
    """What a transaction of the running service caught between two renames of the swap leaves
    behind (its counter changes lost, its issue document kept) is put right by the recount."""
    before = settled(api)
    issue = api.stack.database()["reporting_issues"].find_one({"_id": history[1]})
    assert issue is not None
    day = day_of(issue["submitted_at"])
    month = day.replace(day=1)
    lost = {"$inc": {"total": -1}}
    cells_db = api.stack.database()["reporting_cells"]
    for grain, period in (("day", day), ("month", month)):
        for building in ("B1", ALL):
            for service in ("talent", ALL):
                key = f"{grain}|{period.date().isoformat()}|{building}|{service}"
                assert cells_db.update_one({"_id": key}, lost).matched_count == 1
    # Today is read from its cells once the window takes in the whole day (until then, from the issues).
    tomorrow = {"to": (day + timedelta(days=1)).date().isoformat()}
    broken = api.get("reporting", "/v1/reports/summary", params=tomorrow).json()
    assert broken["total"] == before["summary"]["total"] - 1

    async def main() -> int:
        store = Store(api.stack.mongo_url, api.stack.db_name, "reporting")
        try:
            return await repair_days(ReadModel(store), {day})
        finally:
            await store.close()

    assert asyncio.run(main()) == 1
    assert api.get("reporting", "/v1/reports/summary", params=tomorrow).json() == before["summary"]
    assert eventually(lambda: (f := figures(api)) == before and f, timeout=5, what="the figures put right")


def test_a_window_of_history_rebuilt_matches_the_summary_of_that_window(api: Api, history: list[str]) -> None:
    """Windows that cut through days and months (raw edges, day and month cells) agree after a rebuild."""
    now = datetime.now(UTC)
    today = day_of(now)
    windows = [
        # Whole days and months: from the counter cells alone.
        {"from": (today - timedelta(days=40)).date().isoformat(), "to": (today + timedelta(days=1)).date().isoformat()},
        {"from": today.date().isoformat(), "to": (today + timedelta(days=1)).date().isoformat()},
        # Partial days: from the issue documents.
        {"from": (now - timedelta(minutes=30)).isoformat()},
    ]
    settled(api)
    before = [api.get("reporting", "/v1/reports/summary", params=w).json() for w in windows]
    run_rebuild(api)
    after = [api.get("reporting", "/v1/reports/summary", params=w).json() for w in windows]
    assert after == before


def test_events_arriving_during_a_rebuild_are_not_lost(api: Api, history: list[str]) -> None:
    """Issues submitted and acted on while the rebuild folds and swaps: the live read models end as a
    quiet rebuild from every stored event makes them."""
    settled(api)
    stop = threading.Event()
    submitted: list[str] = []

    def traffic() -> None:
        while not stop.is_set():
            submitted.append(submit(api, "B2"))
            time.sleep(0.02)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(0.3)
        result, _ = run_rebuild(api)
        time.sleep(0.3)
    finally:
        stop.set()
        worker.join()
    assert result.caught_up > 0, "events arrived while the rebuild ran"
    for issue_id in submitted:
        eventually(lambda i=issue_id: status(api, i) == "assigned", what=f"{issue_id} assigned")
    # Compared in a quiet moment: no event (a timer of an earlier test firing) between the snapshot
    # of the live models and the end of the quiet rebuild, else the two would differ by that event.
    events = api.stack.database()["reporting_events"]
    for _ in range(5):
        during = settled(api)
        seen = events.count_documents({})
        live_cells, live_issues = cells(api), issue_docs(api)
        quiet, _ = run_rebuild(api)
        if events.count_documents({}) == seen:
            break
    else:
        raise AssertionError("events kept arriving: no quiet moment to compare the live and rebuilt models")
    assert during["summary"]["total"] >= len(submitted) + len(history)
    assert set(submitted) <= set(live_issues)
    assert quiet.days_repaired == 0
    rebuilt = cells(api)
    differing = {k: (live_cells.get(k), rebuilt.get(k)) for k in live_cells.keys() | rebuilt.keys()}
    assert {k: v for k, v in differing.items() if v[0] != v[1]} == {}, "live and rebuilt cells differ"
    assert issue_docs(api) == live_issues
    assert eventually(lambda: (f := figures(api)) == during and f, timeout=5, what="the same figures")
