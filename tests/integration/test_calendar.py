"""The working calendar's fallback on the real servers (docs/calendar.md, "When a year is missing").

A service whose resolve time is P2000D on the working calendar reaches years that no package has
data for (chinesecalendar 1.11.0 stops at 2026, and no release will carry years eight years out).
From the moment such a work order is dispatched, routing's /readyz names the years in its
`calendar` check while staying 200, /metrics counts the fallback, and reporting's
/v1/reports/calendar (the dashboard's banner) lists them; once the work order is no longer open,
both say so no more. The stack is the test's own (a vhost and a database of its own), so that no
other test's work orders are in its answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from kernel.times import SHANGHAI as SH
from tests.conftest import TEST_ENV
from tests.support.api import Api
from tests.support.calendar import banner_years, far_stack, submit_far
from tests.support.servers import Mongod, eventually


@pytest.fixture(scope="module")
def own(mongod: Mongod) -> Iterator[Api]:
    with far_stack(mongod, TEST_ENV) as api:
        yield api


def readyz(api: Api) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{api.stack.url('routing')}/readyz", timeout=10)
    return r.status_code, r.json()


def fallback_count(api: Api, year: int) -> float:
    text = httpx.get(f"{api.stack.url('routing')}/metrics", timeout=10).text
    found = re.search(rf'^louzhang_calendar_fallback_total\{{year="{year}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def data_until(api: Api) -> float:
    text = httpx.get(f"{api.stack.url('routing')}/metrics", timeout=10).text
    found = re.search(r"^louzhang_calendar_data_until_year (\S+)$", text, re.M)
    assert found, "no louzhang_calendar_data_until_year on routing's /metrics"
    return float(found.group(1))


def test_a_deadline_in_a_year_without_data_shows_on_readyz_metrics_and_the_dashboard(own: Api) -> None:
    api = own
    status, body = readyz(api)
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["calendar"] == "ok"  # no work order yet
    assert banner_years(api) == []
    assert 2026 <= data_until(api) < datetime.now(SH).year + 8

    order = submit_far(api)
    issue_id = order["issue_id"]
    year = datetime.fromisoformat(order["resolve_due"]).astimezone(SH).year
    assert year > data_until(api)  # the deadline lies in a year without data

    def calendar_check() -> str | None:
        status, body = readyz(api)
        assert status == 200 and body["status"] == "ready", body  # never unready for a missing year
        note = str(body["checks"]["calendar"])
        return note if note != "ok" else None

    note = eventually(calendar_check, timeout=30, what="routing's /readyz reporting the fallback")
    assert note.startswith("fallback: ") and note.endswith(" weekdays only") and str(year) in note
    assert fallback_count(api, year) >= 1
    years = eventually(lambda: banner_years(api), timeout=30, what="reporting's banner years")
    assert year in years and all(str(y) in note for y in years)

    admin_reject = api.post("routing", f"/v1/workorders/{issue_id}/reject", json={"reason": "测试结束"})
    assert admin_reject.status_code == 200, admin_reject.text
    eventually(lambda: calendar_check() is None, timeout=30, what="the check back to ok once nothing open falls back")
    eventually(lambda: banner_years(api) == [], timeout=30, what="no banner once nothing open falls back")
    assert fallback_count(api, year) >= 1  # a counter: it remembers
