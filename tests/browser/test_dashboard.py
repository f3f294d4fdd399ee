"""The dashboard in Debian's headless Chromium, driven by Playwright, against the real stack.

Needs /usr/bin/chromium (`make browser` installs it as root with apt-get). Without it the test
fails saying so; LOUZHANG_SKIP_BROWSER=1 skips it instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.servers import eventually

CHROMIUM = Path("/usr/bin/chromium")
# As this machine's Chromium must be started: headless, no sandbox (root), and no connections of
# its own to the outside (the network is closed). Playwright gives every launch a new, empty
# profile of its own (--user-data-dir in a temporary folder; it refuses one among these args).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
XSS = "<img src=x onerror=alert(1)>"

RATES = ("response_rate", "on_time_response_rate", "resolution_rate", "satisfaction_rate", "visit_coverage_rate")
COUNTS = ("total", "acknowledged", "resolved", "overdue_open", "visits", "enterprises")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, or None when it cannot be had (see `ready`)."""
    if os.environ.get("LOUZHANG_SKIP_BROWSER") == "1":
        pytest.skip("LOUZHANG_SKIP_BROWSER=1: browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        yield None
        return
    if not CHROMIUM.exists():
        yield None
        return
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def ready(browser: Any, request: pytest.FixtureRequest) -> Api:
    """Fails (it does not skip) without a browser, before the stack is started; then the stack's api."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`make browser` does it, as root with apt-get), "
            "or set LOUZHANG_SKIP_BROWSER=1 to skip the browser tests",
            pytrace=False,
        )
    if browser is None:
        pytest.fail("the playwright package is missing: `pip install -e '.[dev]'`", pytrace=False)
    api: Api = request.getfixturevalue("api")
    return api


class Watch:
    """What a page said on its console, threw, asked (dialogs) and fetched."""

    def __init__(self, page: Any, origin: str) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: None if r.url.startswith((origin, "data:")) else self.outside.append(r.url))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning", "assert"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.problems == []
        assert self.dialogs == []
        assert self.outside == [], "the page made requests outside its own origin"


def percent(rate: float | None) -> str:
    """As the page shows a rate: one decimal, halves away from zero (JavaScript's toFixed)."""
    if rate is None:
        return "—"
    return f"{Decimal(rate * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def shown(summary: dict[str, Any]) -> dict[str, str]:
    return {**{f: percent(summary[f]) for f in RATES}, **{f: f"{summary[f]:,}" for f in COUNTS}}


def tiles(page: Any) -> dict[str, str]:
    return {f: page.text_content(f'[data-kpi="{f}"] .value') or "" for f in (*RATES, *COUNTS)}


def tiles_match_summary(page: Any, api: Api) -> dict[str, Any] | None:
    summary: dict[str, Any] = api.get("reporting", "/v1/reports/summary").json()
    return summary if tiles(page) == shown(summary) else None


def periods(page: Any) -> list[str]:
    """The buckets of the submitted/resolved chart."""
    return list(page.locator("#chart-counts svg g.bucket").evaluate_all("gs => gs.map(g => g.dataset.period)"))


def submit(api: Api, building_id: str, service_code: str, title: str) -> str:
    r = api.post(
        "intake",
        "/v1/issues",
        json={"building_id": building_id, "service_code": service_code, "title": title, "description": "看板测试"},
    )
    assert r.status_code == 201, r.text
    issue_id = str(r.json()["id"])
    eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
    return issue_id


def act(api: Api, issue_id: str, action: str, body: dict[str, Any]) -> None:
    r = api.post("routing", f"/v1/workorders/{issue_id}/{action}", json=body)
    assert r.status_code == 200, r.text


def seed(api: Api) -> dict[str, str]:
    """Issues of every kind the page shows: resolved with feedback, acknowledged, open, and overdue
    (second-scale SLA, `quick`) under a title that is markup."""
    before = api.get("reporting", "/v1/reports/summary").json()
    ids = {
        "resolved": submit(api, "B1", "fire-safety", "消防通道堆物"),
        "acknowledged": submit(api, "B2", "fire-safety", "灭火器过期"),
        "open": submit(api, "B2", "talent", "人才公寓申请咨询"),
        "xss": submit(api, "B1", "quick", XSS),
    }
    act(api, ids["resolved"], "acknowledge", {})
    act(api, ids["resolved"], "resolve", {"note": "已清理"})
    act(api, ids["acknowledged"], "acknowledge", {})
    eventually(
        lambda: api.get("intake", f"/v1/issues/{ids['resolved']}").json()["status"] == "resolved", what="resolved"
    )
    r = api.post("intake", f"/v1/issues/{ids['resolved']}/feedback", json={"satisfaction": "satisfied"})
    assert r.status_code == 200, r.text
    eventually(
        lambda: any(i["id"] == ids["xss"] for i in api.get("reporting", "/v1/reports/overdue").json()["items"]),
        timeout=30,
        what="the quick issue is overdue (督办)",
    )
    eventually(
        lambda: (
            (s := api.get("reporting", "/v1/reports/summary").json())["total"] == before["total"] + 4
            and s["resolved"] >= before["resolved"] + 1
            and s["feedback"] == before["feedback"] + 1
            and s["overdue_open"] >= before["overdue_open"] + 1
        ),
        what="the summary counts the new issues",
    )
    return ids


def test_dashboard_shows_the_summary_grid_ranking_and_overdue_live_and_safely(
    browser: Any, request: pytest.FixtureRequest
) -> None:
    api = ready(browser, request)
    ids = seed(api)
    base = api.stack.url("reporting")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    watch = Watch(page, base)

    # A shared link signs in once and leaves the address bar clean.
    page.goto(f"{base}/dashboard#token={api.token}")
    page.wait_for_selector("#board:not([hidden])")
    assert "#" not in page.url and "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('louzhang.dashboard.token')") == api.token
    assert page.get_attribute("html", "lang") == "zh-CN"

    # The tiles show what /v1/reports/summary says.
    summary = eventually(lambda: tiles_match_summary(page, api), timeout=40, what="tiles equal the summary")
    assert page.text_content('[data-kpi="response_rate"] .label') == "问题回应率"
    assert page.text_content('[data-kpi="satisfaction_rate"] .value') == percent(summary["satisfaction_rate"])
    assert page.text_content("#updated").startswith("更新于")

    # The overdue list shows the markup title as text: no element made of it, no alert. It names
    # who is responsible now (the level the order climbed to) and how late, in working hours.
    row = page.locator(f'#overdue tr[data-issue="{ids["xss"]}"]')
    row.wait_for()
    assert row.locator("td.title").text_content() == XSS
    assert row.locator("td.title a").get_attribute("href") == f"/issues/{ids['xss']}"
    assert row.locator("td").nth(1).text_content() == "一号楼"
    assert row.locator("td").nth(2).text_content() == "秒级时限测试事项"

    def responsible_now() -> bool:
        [listed] = [i for i in api.get("reporting", "/v1/reports/overdue").json()["items"] if i["id"] == ids["xss"]]
        climbed = listed["responsible"] != listed["assignees"]  # past the safety officer it went to first
        return climbed and row.locator("td.who").text_content() == "、".join(p["name"] for p in listed["responsible"])

    eventually(responsible_now, timeout=40, what="the 督办 row names who is responsible now")
    assert (row.locator("td.late").text_content() or "").endswith(" 小时")
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('#overdue img, [onerror]').length") == 0
    assert page.text_content("#overdue-count") == str(len(api.get("reporting", "/v1/reports/overdue").json()["items"]))

    # A KPI opens the list of the issues it counts: the same issues as the drill-down API's.
    drill_from_a_kpi(page, api, ids)

    # Dates read yyyy-mm-dd whatever the browser's locale; typed otherwise, they are rewritten so.
    assert page.get_attribute("#f-from", "type") == "text"
    assert page.get_attribute("#f-from", "placeholder") == "yyyy-mm-dd"
    page.fill("#f-from", "2026/1/5")
    page.press("#f-from", "Tab")
    assert page.input_value("#f-from") == "2026-01-05"
    page.fill("#f-from", "2026-02-30")
    page.press("#f-from", "Tab")
    eventually(lambda: "日期格式" in (page.text_content("#message") or ""), what="an impossible date said so")
    page.click("#f-reset")
    eventually(lambda: tiles_match_summary(page, api), what="tiles after the reset")

    # Export what is on screen: the breakdown by grid node, as the API writes it.
    exported(page, api)

    # The grid tree: every node with its subtree's figures; a node collapses and expands.
    grid = api.get("reporting", "/v1/reports/grid").json()
    for node in (grid, *grid["children"]):
        item = page.locator(f'#tree li[data-node="{node["id"]}"] > .node-row')
        assert item.locator(".node-name .name").text_content() == node["name"]
        figures = item.locator(".fig").all_text_contents()
        f = node["figures"]
        assert figures == [
            f"{f['total']:,}",
            percent(f["response_rate"]),
            percent(f["resolution_rate"]),
            f"{f['overdue_open']:,}",
        ]
    children = page.locator('#tree li[data-node="town"] > ul')
    assert children.is_visible()
    page.click('#tree li[data-node="town"] > .node-row button.toggle')
    assert children.is_hidden()
    page.click('#tree li[data-node="town"] > .node-row button.toggle')
    assert children.is_visible()

    # 考核排名 in the API's order.
    ranking = api.get("reporting", "/v1/reports/ranking").json()["items"]
    assert page.locator("#ranking tbody tr").evaluate_all("rows => rows.map(r => r.dataset.node)") == [
        r["key"] for r in ranking
    ]
    assert page.locator("#ranking tbody tr").first.locator("td").nth(1).text_content() == ranking[0]["name"]

    # Trend charts are inline SVG, by day (two weeks at least, empty days included), then by week.
    assert len(periods(page)) >= 14
    assert page.locator("#chart-counts svg rect.bar-total").count() >= 1
    assert page.locator("#chart-rate svg circle.dot-rate").count() >= 1
    page.click('#interval button[data-interval="week"]')
    page.wait_for_selector('#interval button[data-interval="week"][aria-pressed="true"]')
    eventually(
        lambda: len(ps := periods(page)) >= 8 and all(date.fromisoformat(p).weekday() == 0 for p in ps),
        what="weekly buckets, each from a Monday",
    )
    assert page.locator("#chart-counts svg rect.bar-total").count() >= 1

    # English and back; the choice is remembered and <html lang> follows it.
    page.click("#lang")
    assert page.get_attribute("html", "lang") == "en"
    assert page.text_content('[data-kpi="response_rate"] .label') == "Response rate"
    assert page.text_content("#ranking-title") == "Ranking"
    assert page.text_content("#updated").startswith("Updated")
    page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)
    page.reload()
    page.wait_for_selector("#board:not([hidden])")
    assert page.get_attribute("html", "lang") == "en"
    eventually(lambda: tiles_match_summary(page, api), timeout=40, what="tiles after reload")
    page.click("#lang")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.text_content('[data-kpi="response_rate"] .label') == "问题回应率"
    assert page.evaluate("localStorage.getItem('louzhang.dashboard.lang')") == "zh"

    # Filters: a grid node (the select is filled from /v1/reports/grid) narrows the figures.
    assert page.locator("#f-grid option").evaluate_all("os => os.map(o => o.value)") == ["", "town", "park", "cbd"]
    page.select_option("#f-grid", "cbd")
    cbd = api.get("reporting", "/v1/reports/summary", params={"grid_node": "cbd"}).json()
    eventually(lambda: tiles(page)["total"] == f"{cbd['total']:,}", what="the cbd figures")
    page.select_option("#f-grid", "")
    eventually(lambda: tiles_match_summary(page, api), what="back to the whole district")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Live: a new issue shows within one refresh (15 s); a hidden tab pauses.
    submit(api, "B2", "talent", "新增：停车位申请")
    eventually(lambda: tiles_match_summary(page, api), timeout=40, what="the new issue, live")
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    assert page.text_content("#updated") == "已暂停（页面不可见）"
    page.evaluate("delete document.hidden; document.dispatchEvent(new Event('visibilitychange'))")
    eventually(lambda: (page.text_content("#updated") or "").startswith("更新于"), what="refreshing again")

    # Sign out, and in again with the form.
    page.click("#signout")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('louzhang.dashboard.token')") is None
    page.fill("#token", api.token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#board:not([hidden])")
    eventually(lambda: tiles_match_summary(page, api), what="tiles after signing in with the form")
    watch.assert_clean()

    # A phone's width: readable, nothing wider than the screen.
    phone = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True)
    small = phone.new_page()
    small_watch = Watch(small, base)
    small.goto(f"{base}/dashboard#token={api.token}")
    eventually(lambda: tiles_match_summary(small, api), timeout=40, what="tiles on a phone")
    assert small.evaluate("document.documentElement.scrollWidth") <= 375
    small.screenshot(path=str(ARTIFACTS / "dashboard-375.png"), full_page=True)
    small_watch.assert_clean()
    phone.close()
    context.close()


def test_dashboard_says_clearly_when_a_token_is_refused_and_keeps_staff_to_their_scope(
    browser: Any, request: pytest.FixtureRequest
) -> None:
    api = ready(browser, request)
    base = api.stack.url("reporting")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/dashboard#token=not-a-token")
    page.wait_for_selector("#signin:not([hidden])")
    message = page.locator("#message")
    message.wait_for()
    assert "令牌无效或已过期" in (message.text_content() or "")
    assert page.evaluate("sessionStorage.getItem('louzhang.dashboard.token')") is None

    # A system token may not read reports: 403, said as such.
    page.fill("#token", api.token_for("system", "dashboard-test"))
    page.click("#signin-form button[type=submit]")
    eventually(lambda: "无权查看报表" in (message.text_content() or ""), what="the 403 message")
    assert page.is_visible("#signin")

    # A staff token sees its own part (S02 heads 测试园区): the tree starts there, not at the district.
    staff = api.as_token(api.token_for("staff", "S02"))
    page.fill("#token", staff.token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#board:not([hidden])")
    eventually(lambda: tiles_match_summary(page, staff), timeout=40, what="the staff member's figures")
    assert tiles(page) == shown(api.get("reporting", "/v1/reports/summary", params={"grid_node": "park"}).json())
    assert page.locator("#tree > li").get_attribute("data-node") == "park"
    assert page.locator('#tree li[data-node="cbd"], #tree li[data-node="town"]').count() == 0
    assert page.locator("#f-grid option").evaluate_all("os => os.map(o => o.value)") == ["", "park"]
    assert page.is_visible("#board")
    context.close()


def drill_from_a_kpi(page: Any, api: Api, ids: dict[str, str]) -> None:
    """The 超期未办结 tile lists the 督办 issues, each naming who is responsible now; a grid node's
    figure lists that node's issues; the list closes."""
    page.click('[data-kpi="overdue_open"]')
    page.wait_for_selector("#drill:not([hidden])")
    expected = api.get("reporting", "/v1/reports/issues", params={"measure": "overdue_open"}).json()["items"]
    listed = lambda: page.locator("#drill-table tbody tr[data-issue]").evaluate_all(  # noqa: E731
        "rows => rows.map(r => r.dataset.issue)"
    )
    eventually(lambda: set(listed()) == {i["id"] for i in expected}, what="the tile's list = the drill-down")
    assert (page.text_content("#drill-title") or "").startswith("超期未办结")
    row = page.locator(f'#drill-table tr[data-issue="{ids["xss"]}"]')
    assert row.locator("td.title a").text_content() == XSS
    assert row.locator("td.status").text_content() == "待签收"
    assert (row.locator("td.who").text_content() or "") != "测试人员05"  # not the original assignee
    page.click("#drill-close")
    assert page.is_hidden("#drill")
    cbd = api.get("reporting", "/v1/reports/issues", params={"grid_node": "cbd", "limit": 50}).json()
    page.click('#tree li[data-node="cbd"] > .node-row .fig >> nth=0')
    page.wait_for_selector("#drill:not([hidden])")
    eventually(lambda: listed() == [i["id"] for i in cbd["items"]], what="the node's issues, newest first")
    assert "商务区" in (page.text_content("#drill-title") or "")
    assert page.is_visible("#drill-more") == (cbd["next_cursor"] is not None)
    page.click("#drill-close")


def exported(page: Any, api: Api) -> None:
    import csv
    import io

    import openpyxl

    names = [
        r["name"] for r in api.get("reporting", "/v1/reports/breakdown", params={"by": "grid_node"}).json()["items"]
    ]
    with page.expect_download() as caught:
        page.click("#export-xlsx")
    download = caught.value
    assert download.suggested_filename.endswith(".xlsx")
    path = ARTIFACTS / "dashboard-export.xlsx"
    download.save_as(str(path))
    sheet = openpyxl.load_workbook(path).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(name in cells for name in names), (names, cells[:40])
    with page.expect_download() as caught:
        page.click("#export-csv")
    data = Path(caught.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and caught.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0][:2] == ["编号", "名称"] and [r[1] for r in rows[1:]] == names


def test_a_head_signed_in_goes_from_a_kpi_to_an_issues_page(browser: Any, request: pytest.FixtureRequest) -> None:
    """Signed in on the workbench (the mailed link), S02 opens the dashboard: their own part, a KPI's
    list, and from a row the issue's workbench page."""
    import re

    api = ready(browser, request)
    mailbox = request.getfixturevalue("mailbox")
    title = "看板下钻到工单"
    issue_id = submit(api, "B1", "talent", title)
    base = api.stack.url("reporting")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    watch = Watch(page, base)
    page.goto(f"{base}/signin?next=/dashboard")
    before = len(mailbox.to("s02@example.org"))
    page.fill("#who", "S02")
    page.click("button[type=submit]")
    mails = eventually(lambda: mailbox.to("s02@example.org")[before:], what="the sign-in mail")
    link = re.search(r"(http://\S+/signin/\S+)", mails[-1].get_content())
    assert link
    page.goto(link.group(1))
    page.wait_for_selector("#board:not([hidden])")
    staff = api.as_token(api.token_for("staff", "S02"))
    eventually(lambda: tiles_match_summary(page, staff), timeout=40, what="S02's figures")
    assert page.locator("#tree > li").get_attribute("data-node") == "park"

    page.click('[data-kpi="total"]')
    row = page.locator(f'#drill-table tr[data-issue="{issue_id}"]')
    row.wait_for()  # newest first: on the first page
    assert row.locator("td.status").text_content() == "待签收"
    assert row.locator("td.who").text_content() == "测试人员06"
    page.screenshot(path=str(ARTIFACTS / "dashboard-drill.png"), full_page=True)
    row.locator("td.title a").click()
    page.wait_for_url(f"{base}/issues/{issue_id}")
    page.wait_for_selector(f"h1:has-text('{title}')")
    assert page.locator("form.one-tap").count() == 1  # a head of its grid may act on it
    watch.assert_clean()
    context.close()


def test_dashboard_page_is_outside_the_api_schema_and_locked_to_its_origin(api: Api) -> None:
    import httpx

    base = api.stack.url("reporting")
    r = httpx.get(f"{base}/dashboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    for asset in ("dashboard.js", "dashboard.css"):
        assert httpx.get(f"{base}/dashboard/assets/{asset}").status_code == 200
    assert httpx.get(f"{base}/dashboard/assets/page.py").status_code == 404
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/dashboard")]


def test_dashboard_header_shows_a_banner_while_deadlines_fall_back_to_weekdays(
    browser: Any, request: pytest.FixtureRequest
) -> None:
    """A stack of its own (tests/support/calendar.py): the banner is hidden, shows the years once an
    open issue's working-time deadline reaches a year without official holidays, and goes again."""
    from tests.conftest import TEST_ENV
    from tests.support.calendar import banner_years, far_stack, submit_far

    if not CHROMIUM.exists() or browser is None:
        ready(browser, request)  # fails saying what is missing
    with far_stack(request.getfixturevalue("mongod"), TEST_ENV) as api:
        base = api.stack.url("reporting")
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        watch = Watch(page, base)
        page.goto(f"{base}/dashboard#token={api.token}")
        page.wait_for_selector("#board:not([hidden])")
        eventually(lambda: (page.text_content("#updated") or "").startswith("更新于"), what="the first refresh")
        banner = page.locator("#calendar-banner")
        assert banner.is_hidden()

        order = submit_far(api)
        years = eventually(lambda: banner_years(api), timeout=30, what="reporting's fallback years")
        page.reload()  # rather than waiting for the 15-second refresh
        banner.wait_for(state="visible")
        text = banner.text_content() or ""
        assert all(str(y) in text for y in years) and "周一至周五" in text and "调休" in text
        assert banner.locator("xpath=ancestor::header").count() == 1
        page.screenshot(path=str(ARTIFACTS / "dashboard-calendar.png"))
        page.click("#lang")
        english = banner.text_content() or ""
        assert all(str(y) in english for y in years) and "Monday to Friday" in english
        page.click("#lang")

        r = api.post("routing", f"/v1/workorders/{order['issue_id']}/reject", json={"reason": "测试结束"})
        assert r.status_code == 200, r.text
        eventually(lambda: banner_years(api) == [], timeout=30, what="no open issue in fallback")
        page.reload()
        page.wait_for_selector("#board:not([hidden])")
        eventually(lambda: (page.text_content("#updated") or "").startswith("更新于"), what="refreshed")
        assert banner.is_hidden()
        watch.assert_clean()
        context.close()
