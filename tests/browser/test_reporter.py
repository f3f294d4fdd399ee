"""The reporter's page (回访) in Debian's headless Chromium on a phone, against the real stack: the
link from the submission answer shows the progress, takes one rating after 办结, refuses a second,
and the summary's satisfaction rate moves.

Needs /usr/bin/chromium, as tests/browser/test_dashboard.py; LOUZHANG_SKIP_BROWSER=1 skips it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.test_dashboard import ARTIFACTS, CHROMIUM, FLAGS, Watch
from tests.conftest import TEST_ENV
from tests.support.api import Api
from tests.support.endpoints import Endpoints
from tests.support.reporter import act, reporter_stack, submit
from tests.support.servers import Mongod, eventually

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def phone_browser() -> Iterator[Any]:
    if os.environ.get("LOUZHANG_SKIP_BROWSER") == "1":
        pytest.skip("LOUZHANG_SKIP_BROWSER=1: browser tests skipped")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs it, or LOUZHANG_SKIP_BROWSER=1", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: `pip install -e '.[dev]'`", pytrace=False)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def rapi(phone_browser: Any, mongod: Mongod, endpoints: Endpoints) -> Iterator[Api]:
    with reporter_stack(mongod, endpoints, TEST_ENV) as api:
        yield api


def test_the_reporter_follows_the_issue_rates_it_once_on_a_phone(phone_browser: Any, rapi: Api) -> None:
    before = rapi.get("reporting", "/v1/reports/summary").json()
    client = rapi.as_token(rapi.token_for("system", "mini-program"))
    issue = submit(
        client,
        title="三楼消防通道堆物",
        service_code="talent",
        reporter={"name": "李女士", "phone": "13900000000", "enterprise": "某科技公司"},
    )
    link = issue["follow_url"]
    base = rapi.stack.url("reporting")
    context = phone_browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    watch = Watch(page, base)

    # The progress, in plain words; nothing to rate yet.
    page.goto(link)
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.text_content("#status") == "已受理"
    assert page.text_content("#title") == "三楼消防通道堆物"
    assert page.locator("#steps .step.now .step-label").text_content() == "已受理"
    assert page.locator("#rate").count() == 0
    body = page.text_content("body") or ""
    assert "测试人员" not in body and "13900000000" not in body and "138000000" not in body
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "reporter-progress.png"), full_page=True)

    # 办结 by the officer: the result and the form show.
    act(rapi, "S06", issue["id"], "acknowledge")
    act(rapi, "S06", issue["id"], "resolve", {"note": "已联系物业清理通道，并安排每日巡查。"})
    page.reload()
    assert page.text_content("#status") == "已办结"
    assert "已联系物业清理通道" in (page.text_content("#result") or "")
    page.locator("#rate").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "reporter-rate.png"), full_page=True)
    # The same form, open in a second tab, for the second rating below.
    second = context.new_page()
    second_watch = Watch(second, base)
    second.goto(link)
    second.locator("#rate").wait_for()

    # One rating: 满意 with a comment.
    page.check("input[name=satisfaction][value=satisfied]")
    page.fill("#comment", "处理及时，谢谢！")
    page.click("#submit")
    page.locator("#thanks").wait_for()
    assert page.locator("#rate").count() == 0
    assert "满意" in (page.text_content("#feedback") or "") and "处理及时" in (page.text_content("#feedback") or "")
    page.screenshot(path=str(ARTIFACTS / "reporter-thanks.png"), full_page=True)
    steps = [e for e in rapi.get("intake", f"/v1/issues/{issue['id']}").json()["timeline"] if e["type"] == "feedback"]
    assert [(s["actor"], s["note"]) for s in steps] == [("reporter", "满意：处理及时，谢谢！")]

    # A second rating of the same resolution is refused with a 409 page, and changes nothing.
    second.check("input[name=satisfaction][value=dissatisfied]")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.click("#submit")
    assert answer.value.status == 409
    assert "已经评价过了" in (second.text_content("#error") or "")
    assert rapi.get("intake", f"/v1/issues/{issue['id']}").json()["status"] == "closed"
    second.screenshot(path=str(ARTIFACTS / "reporter-second.png"), full_page=True)

    # The summary's satisfaction rate moves.
    after = eventually(
        lambda: (
            (s := rapi.get("reporting", "/v1/reports/summary").json())["satisfied"] == before["satisfied"] + 1 and s
        ),
        what="the rating in the summary",
    )
    assert before["satisfaction_rate"] is None and after["satisfaction_rate"] == 1.0
    watch.assert_clean()
    # Chromium logs the 409 answer itself on the console: that one line is expected, nothing else.
    assert second_watch.problems == [
        "console error: Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
    second_watch.problems.clear()
    second_watch.assert_clean()
    context.close()


def test_a_forged_link_shows_the_not_found_page_and_nothing_else(phone_browser: Any, rapi: Api) -> None:
    issue = submit(rapi, title="不可见的标题")
    base = rapi.stack.url("reporting")
    context = phone_browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    answer = page.goto(issue["follow_url"][:-2] + "xx")
    assert answer is not None and answer.status == 404
    assert page.text_content("h1") == "链接无效"
    assert "不可见的标题" not in (page.content() or "")
    assert outside == []
    context.close()
