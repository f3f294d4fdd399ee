"""The workbench as a 楼长 lives it on a phone, in Debian's Chromium under Playwright, on the real
stack: a message on the WeCom stand-in, its link, sign-in by a mailed link, 签收 and 办结."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_dashboard import ARTIFACTS, Watch, browser, ready  # noqa: F401 (browser: a fixture)
from tests.support.endpoints import Endpoints, Mailbox
from tests.support.servers import eventually

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def test_a_head_acts_on_an_issue_from_the_message_that_told_them(
    browser: Any,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    api = ready(browser, request)
    endpoints: Endpoints = request.getfixturevalue("endpoints")
    mailbox: Mailbox = request.getfixturevalue("mailbox")
    before = api.get("reporting", "/v1/reports/summary").json()
    body = {
        "building_id": "B1",
        "service_code": "fire-safety",
        "title": "三楼消防通道堆物",
        "description": "三楼东侧消防通道被纸箱堵塞，影响疏散，请尽快处理。",
        "reporter": {"name": "王经理", "phone": "13912342222"},
    }
    r = api.post("intake", "/v1/issues", json=body)
    assert r.status_code == 201, r.text
    issue_id = r.json()["id"]

    # The message on the WeCom group robot, and the link at its end.
    def wecom_link() -> str | None:
        for call in endpoints.at("/cgi-bin/webhook/send"):
            content = call.json()["text"]["content"]
            if issue_id in content and call.query == {"key": "wecom-S05"}:
                found = re.search(r"详情：(\S+)", content)
                return found.group(1) if found else None
        return None

    link = eventually(wecom_link, timeout=20, what="the WeCom message")
    base = api.stack.url("reporting")
    assert link == f"{base}/issues/{issue_id}"

    context = browser.new_context(locale="zh-CN", **PHONE)
    page = context.new_page()
    watch = Watch(page, base)
    page.goto(link)
    # Signed out: the sign-in form, which shows nothing of the issue.
    page.wait_for_selector("form[action='/signin']")
    assert "消防通道" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "workbench-signin.png"), full_page=True)
    page.fill("#who", "13800000005")  # by phone, as an officer would
    page.click("button[type=submit]")
    page.wait_for_selector("text=请查收邮件")

    mails = eventually(
        lambda: (
            mailbox.to("s05@example.org")
            and [m for m in mailbox.to("s05@example.org") if m["Subject"] == "楼长工作台登录链接"]
        ),
        what="the sign-in mail",
    )
    signin = re.search(r"(http://\S+/signin/\S+)", mails[-1].get_content())
    assert signin
    page.goto(signin.group(1))
    # Back on the issue the message named.
    page.wait_for_selector("h1:has-text('三楼消防通道堆物')")
    assert page.url == link
    text = page.inner_text("main")
    assert "王经理" in text and "一号楼（测试园区）" in text and "待签收" in text
    page.screenshot(path=str(ARTIFACTS / "workbench-issue.png"), full_page=True)

    page.click("form.one-tap button")
    page.wait_for_selector("text=已签收。")
    order = api.get("routing", f"/v1/workorders/{issue_id}").json()
    assert order["status"] == "acknowledged"

    page.click("summary:has-text('办结')")
    page.fill("#resolve-note", "纸箱已清走，通道畅通，已拍照留存。")
    page.click("details[open] button[type=submit]")
    page.wait_for_selector("text=已办结。")
    order = api.get("routing", f"/v1/workorders/{issue_id}").json()
    assert order["status"] == "resolved"
    steps = [(e["type"], e["actor"]) for e in order["timeline"]]
    assert ("acknowledged", "S05") in steps and ("resolved", "S05") in steps
    timeline = page.inner_text(".timeline")
    assert "签收 测试人员05" in timeline and "办结 测试人员05：纸箱已清走" in timeline
    page.screenshot(path=str(ARTIFACTS / "workbench-resolved.png"), full_page=True)
    # The same page on a desk screen.
    desk = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, storage_state=context.storage_state()
    )
    wide = desk.new_page()
    wide.goto(link)
    wide.wait_for_selector("h1:has-text('三楼消防通道堆物')")
    assert wide.evaluate("document.documentElement.scrollWidth") <= 1280
    wide.screenshot(path=str(ARTIFACTS / "workbench-desk.png"), full_page=True)
    desk.close()

    page.goto(f"{base}/my?tab=done")
    page.wait_for_selector("text=三楼消防通道堆物")
    page.screenshot(path=str(ARTIFACTS / "workbench-my.png"), full_page=True)

    # Live: a new assignment appears on my work without a reload by hand.
    page.goto(f"{base}/my")
    page.wait_for_selector("#live[data-state=open]", state="attached")
    r = api.post("intake", "/v1/issues", json={**body, "title": "二楼灭火器过期", "description": "二楼灭火器已过期"})
    assert r.status_code == 201, r.text
    page.wait_for_selector(".orders >> text=二楼灭火器过期", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "workbench-my-live.png"), full_page=True)

    # The dashboard takes the same session: no token to paste.
    page.goto(f"{base}/dashboard")
    page.wait_for_selector("#board:not([hidden])")
    assert page.is_hidden("#signin")

    # In English, by the switch in the header, remembered; and back to Chinese.
    second = f"{base}/issues/{r.json()['id']}"  # the new assignment: its actions, the time left
    page.goto(second)
    page.click("header a.lang")
    page.wait_for_selector("html[lang=en]", state="attached")
    assert page.url == second
    text = page.inner_text("body")
    assert "To acknowledge" in text and "Timeline" in text and "二楼灭火器过期" in text and "办理过程" not in text
    assert re.search(r"\d+ h \d+ min left", text), text
    page.screenshot(path=str(ARTIFACTS / "workbench-en.png"), full_page=True)
    page.goto(f"{base}/my")
    page.wait_for_selector("nav.tabs >> text=To acknowledge")
    page.click("header a.lang:has-text('中文')")
    page.wait_for_selector("html[lang=zh-CN]", state="attached")
    assert "我的工作" in page.title()

    # The district's figures count the acknowledgement.
    eventually(
        lambda: api.get("reporting", "/v1/reports/summary").json()["acknowledged"] >= before["acknowledged"] + 1,
        what="the summary counts the acknowledgement",
    )
    watch.assert_clean()
    context.close()
