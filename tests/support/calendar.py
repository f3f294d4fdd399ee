"""A stack of its own with a service whose working-time deadline reaches years without calendar data.

`far` resolves in P2000D working days: from any date this decade that runs some eight years on,
past any year a calendar package has official holidays for. Its own vhost and database keep other
tests' work orders out of the calendar's answers (tests/integration/test_calendar.py,
tests/browser/test_dashboard.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.api import Api
from tests.support.directory import receivers_allow, small_directory
from tests.support.servers import Mongod, eventually, own_stack

FAR = {
    "code": "far",
    "name": "长期跟踪事项",
    "role": "enterprise_service",
    "sla": {"acknowledge": "PT4H", "resolve": "P2000D", "calendar": "working"},
}
SERVICES = ("intake", "routing", "reporting")


@contextmanager
def far_stack(mongod: Mongod, env: dict[str, str]) -> Iterator[Api]:
    directory = small_directory()
    directory["services"].append(FAR)
    extra = {**env, "LOUZHANG_OUTBOUND_ALLOW": receivers_allow()}
    with own_stack(mongod.url, None, extra, directory, SERVICES) as stack:
        yield Api(stack)


def submit_far(api: Api) -> dict[str, Any]:
    """A `far` issue, once routing has dispatched it: its work order."""
    r = api.post(
        "intake", "/v1/issues", json={"building_id": "B1", "service_code": "far", "title": "长期", "description": "d"}
    )
    assert r.status_code == 201, r.text
    issue_id = r.json()["id"]
    order: dict[str, Any] = eventually(
        lambda: (w := api.get("routing", f"/v1/workorders/{issue_id}")).status_code == 200 and w.json(),
        timeout=30,
        what="the work order dispatched",
    )
    return order


def banner_years(api: Api) -> list[int]:
    r = api.get("reporting", "/v1/reports/calendar")
    assert r.status_code == 200, r.text
    return list(r.json()["fallback_years"])
