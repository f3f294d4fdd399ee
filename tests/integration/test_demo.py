"""The demo (`LOUZHANG_DEMO=1`, as `make run` starts it) on a stack of its own: its issues are raised
on the visits of the past four weeks, so that the dashboard's trends show every week, not one bar."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.servers import Mongod, Stack, Vhost, eventually


def spread(api: Api) -> tuple[int, int, int] | None:
    """(weeks, days, issues) with issues, once the demo's issues cover four weeks and ten days."""
    weeks, days = ({"interval": "week"}, {"interval": "day"})
    found = []
    for params in (weeks, days):
        r = api.get("reporting", "/v1/reports/timeseries", params=params)
        if r.status_code != 200:
            return None
        found.append([row["total"] for row in r.json()["items"] if row["total"]])
    by_week, by_day = found
    return (len(by_week), len(by_day), sum(by_day)) if len(by_week) >= 4 and len(by_day) >= 10 else None


def test_the_demo_issues_spread_over_the_four_weeks_of_visits(mongod: Mongod) -> None:
    vhost = Vhost()
    vhost.create()
    stack = Stack(mongo_url=mongod.url, amqp_url=vhost.url, extra_env={"LOUZHANG_DEMO": "1"})
    try:
        stack.start()
        weeks, days, issues = eventually(lambda: spread(Api(stack)), timeout=300, what="demo issues over four weeks")
        print(f"demo issues: {issues} on {days} days in {weeks} weeks")
    finally:
        stack.stop()
        stack.drop()
        vhost.delete()
