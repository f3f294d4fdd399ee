"""The demo (`LOUZHANG_DEMO=1`, as `make run` starts it) on a stack of its own: its issues are raised
on the visits of the past four weeks, so that the dashboard's trends show every week, not one bar."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api
from tests.support.servers import Mongod, Stack, Vhost, eventually


def weeks_with_issues(api: Api) -> dict[str, int] | None:
    r = api.get("reporting", "/v1/reports/timeseries", params={"interval": "week"})
    if r.status_code != 200:
        return None
    weeks = {row["period"]: row["total"] for row in r.json()["items"] if row["total"]}
    return weeks if len(weeks) >= 4 else None


def test_the_demo_issues_spread_over_the_four_weeks_of_visits(mongod: Mongod) -> None:
    vhost = Vhost()
    vhost.create()
    stack = Stack(mongo_url=mongod.url, amqp_url=vhost.url, extra_env={"LOUZHANG_DEMO": "1"})
    try:
        stack.start()
        api = Api(stack)
        eventually(lambda: weeks_with_issues(api), timeout=300, what="demo issues in four weeks")
        days: list[dict[str, Any]] = api.get("reporting", "/v1/reports/timeseries").json()["items"]
        assert len([d for d in days if d["total"]]) >= 10, days
    finally:
        stack.stop()
        stack.drop()
        vhost.delete()
