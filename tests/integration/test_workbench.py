"""The staff workbench on the real stack: sign-in by a link mailed to the person's own address,
sessions (single-use links, expiry, revocation, removal from the directory), CSRF, and the issue
page's actions through the API with the person's own rights."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.directory import small_directory
from tests.support.endpoints import Mailbox
from tests.support.servers import eventually

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def base(api: Api) -> str:
    return api.stack.url("reporting")


def submit(api: Api, title: str, building_id: str = "B1", service_code: str = "talent") -> str:
    body = {"building_id": building_id, "service_code": service_code, "title": title, "description": "工作台测试"}
    issue_id = str(api.post("intake", "/v1/issues", json=body).json()["id"])
    eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
    return issue_id


def link_for(api: Api, mailbox: Mailbox, who: str, email: str, next_path: str = "/my") -> str:
    """Ask for a sign-in link as a person would and take it from their mailbox."""
    before = len(mailbox.to(email))
    r = httpx.post(f"{base(api)}/signin", data={"who": who, "next": next_path})
    assert r.status_code == 200, r.text
    mails = eventually(lambda: mailbox.to(email)[before:], what=f"a sign-in mail to {email}")
    text = mails[-1].get_content()
    found = re.search(r"(http://\S+/signin/\S+)", text)
    assert found, text
    return found.group(1)


def signed_in(api: Api, mailbox: Mailbox, staff_id: str, next_path: str = "/my") -> httpx.Client:
    client = httpx.Client(base_url=base(api))
    r = client.get(link_for(api, mailbox, staff_id, f"{staff_id.lower()}@example.org", next_path))
    assert r.status_code == 303 and r.headers["location"] == next_path, r.text
    return client


def test_asking_for_a_link_answers_the_same_whoever_is_named(api: Api, mailbox: Mailbox) -> None:
    emails = ("s09@example.org", "s10@example.org", "s11@example.org")
    before = {email: len(mailbox.to(email)) for email in emails}
    answers = {
        who: httpx.post(f"{base(api)}/signin", data={"who": who, "next": "/my"})
        for who in ("S09", "s10@example.org", "138-0000-0011", "NOBODY", "nobody@example.org", "13999999999")
    }
    assert {r.status_code for r in answers.values()} == {200}
    assert len({r.text for r in answers.values()}) == 1
    # By id, email and phone: each known person gets one mail at their own address.
    for email in emails:
        eventually(lambda e=email: len(mailbox.to(e)) == before[e] + 1, what=f"mail to {email}")
    assert not mailbox.to("nobody@example.org")


def test_a_link_signs_in_once_and_not_after_it_expires(api: Api, mailbox: Mailbox) -> None:
    link = link_for(api, mailbox, "S06", "s06@example.org")
    first = httpx.get(link)
    assert first.status_code == 303 and first.headers["location"] == "/my"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("louzhang_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the public URL is http here
    again = httpx.get(link)
    assert again.status_code == 410 and "louzhang_session" not in again.headers.get("set-cookie", "")
    # A link past its validity (LOUZHANG_SIGNIN_LINK_TTL) signs nobody in.
    late = link_for(api, mailbox, "S06", "s06@example.org")
    from datetime import UTC, datetime, timedelta

    links = api.stack.database()["reporting_signin_links"]
    assert links.update_many({}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}).matched_count
    assert httpx.get(late).status_code == 410


def test_the_message_link_signed_out_leads_to_sign_in_and_back_and_shows_nothing(api: Api, mailbox: Mailbox) -> None:
    issue_id = submit(api, "工作台未登录测试")
    path = f"/issues/{issue_id}"
    r = httpx.get(f"{base(api)}{path}")
    assert r.status_code == 303 and r.headers["location"] == f"/signin?next={path}"
    form = httpx.get(f"{base(api)}{r.headers['location']}")
    assert form.status_code == 200 and "工作台未登录测试" not in form.text and path in form.text
    client = signed_in(api, mailbox, "S06", path)
    page = client.get(path)
    assert page.status_code == 200 and "工作台未登录测试" in page.text and "测试路1号" in page.text


def test_someone_outside_the_scope_gets_the_page_of_an_unknown_id(api: Api, mailbox: Mailbox) -> None:
    issue_id = submit(api, "范围外的问题")
    outsider = signed_in(api, mailbox, "S03")
    hidden, unknown = outsider.get(f"/issues/{issue_id}"), outsider.get("/issues/no-such-issue")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text and "没有这个问题，或您无权查看" in hidden.text
    assert "范围外的问题" not in hidden.text and issue_id not in hidden.text


def test_someone_in_scope_who_may_not_act_reads_the_page_without_actions(api: Api, mailbox: Mailbox) -> None:
    """S06 (B1's enterprise service officer) sees B1's safety issue (B1 is in their scope) but was
    never notified on it and heads nothing: the page shows it read-only. Its officer S05 may act."""
    issue_id = submit(api, "只读测试", service_code="quick-urgent")
    reader = signed_in(api, mailbox, "S06")
    page = reader.get(f"/issues/{issue_id}")
    assert page.status_code == 200 and "只读测试" in page.text
    assert "只读：" in page.text and f'action="/issues/{issue_id}/acknowledge"' not in page.text
    actor = signed_in(api, mailbox, "S05")
    page = actor.get(f"/issues/{issue_id}")
    assert "只读：" not in page.text and f'action="/issues/{issue_id}/acknowledge"' in page.text


def test_acknowledge_and_resolve_from_the_page_as_oneself(api: Api, mailbox: Mailbox) -> None:
    issue_id = submit(api, "工作台办理测试")
    path = f"/issues/{issue_id}"
    officer = signed_in(api, mailbox, "S06", path)
    page = officer.get(path)
    assert "签收" in page.text and "待签收" in page.text
    [csrf, *_] = CSRF.findall(page.text)

    def status() -> str:
        return str(api.get("routing", f"/v1/workorders/{issue_id}").json()["status"])

    # Without the CSRF token, or with another, nothing happens.
    assert officer.post(f"{path}/acknowledge", data={}).status_code == 403
    assert officer.post(f"{path}/acknowledge", data={"csrf": "forged"}).status_code == 403
    assert status() == "assigned"
    done = officer.post(f"{path}/acknowledge", data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"{path}?done=acknowledge"
    assert status() == "acknowledged"
    # The header works as the form field does.
    assert (
        officer.post(f"{path}/progress", data={"note": "已联系企业"}, headers={"X-CSRF-Token": csrf}).status_code == 303
    )
    # 办结 needs a result; the refusal is in words, nothing changes.
    empty = officer.post(f"{path}/resolve", data={"csrf": csrf, "note": ""})
    assert empty.status_code == 422 and "请检查填写的内容" in empty.text and status() == "in_progress"
    assert officer.post(f"{path}/resolve", data={"csrf": csrf, "note": "已办结，企业确认"}).status_code == 303
    assert status() == "resolved"
    # Someone acted first (here: oneself, before): a 409 explained, the page showing the order as it is.
    late = officer.post(f"{path}/acknowledge", data={"csrf": csrf})
    assert late.status_code == 409 and "别人已经先处理了" in late.text and "已办结" in late.text
    steps = [(e["type"], e["actor"]) for e in api.get("routing", f"/v1/workorders/{issue_id}").json()["timeline"]]
    assert steps[1:] == [("acknowledged", "S06"), ("progressed", "S06"), ("resolved", "S06")]
    timeline = officer.get(path).text
    assert "已办结，企业确认" in timeline and "测试人员06" in timeline


def test_my_work_lists_the_tabs_with_counts(api: Api, mailbox: Mailbox) -> None:
    issue_id = submit(api, "我的工作测试")
    officer = signed_in(api, mailbox, "S06")
    todo = officer.get("/my")
    assert todo.status_code == 200 and "我的工作测试" in todo.text and f"/issues/{issue_id}" in todo.text
    assert all(label in todo.text for label in ("待签收", "办理中", "已逾期", "已办结"))
    assert "我的工作测试" not in orders_of(officer.get("/my?tab=done").text)
    # The new work order is an unread inbox item, read once its page is opened.
    assert "【新工单】我的工作测试" in todo.text
    assert officer.get(f"/issues/{issue_id}").status_code == 200
    assert "【新工单】我的工作测试" not in officer.get("/my").text


def orders_of(page: str) -> str:
    """The work-order list of a /my page, without the inbox."""
    return page[page.index('<ul class="orders">') :]


def test_a_session_ends_when_an_admin_revokes_it_or_the_directory_drops_the_person(api: Api, mailbox: Mailbox) -> None:
    officer = signed_in(api, mailbox, "S06")
    assert officer.get("/my").status_code == 200
    staff = api.as_token(api.token_for("staff", "S04"))
    assert staff.request("DELETE", "reporting", "/v1/staff/S06/sessions").status_code == 403
    assert api.request("DELETE", "reporting", "/v1/staff/S06/sessions").status_code == 204
    r = officer.get("/my")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")

    leaving = signed_in(api, mailbox, "S12")
    assert leaving.get("/my").status_code == 200
    doc = small_directory()
    without = {**doc, "staff": [s for s in doc["staff"] if s["id"] != "S12"]}
    try:
        assert api.put("routing", "/v1/directory", json=without).status_code == 200
        eventually(lambda: leaving.get("/my").status_code == 303, what="the removed person signed out")
    finally:
        assert api.put("routing", "/v1/directory", json=doc).status_code == 200
    # Back in the directory, the old session stays ended.
    eventually(lambda: "S12" in api.get("routing", "/v1/directory").text, what="directory restored")
    assert leaving.get("/my").status_code == 303


@pytest.fixture
def limited(api: Api) -> Any:
    url = api.stack.start_replica("reporting", "reporting-signin-limited", env={"LOUZHANG_SIGNIN_PER_MIN": "2"})
    eventually(lambda: httpx.get(f"{url}/readyz").status_code == 200, what="limited reporting ready")
    yield url
    api.stack.kill("reporting-signin-limited")


def test_too_many_sign_in_requests_are_refused(limited: str) -> None:
    # From an address of its own (the count is shared with the other reporting processes).
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as client:
        codes = [client.post(f"{limited}/signin", data={"who": f"X{i}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    # Per name too, whatever the address.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3")) as one:
        assert [one.post(f"{limited}/signin", data={"who": "S07"}).status_code for _ in range(2)] == [200, 200]
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.4")) as other:
        assert other.post(f"{limited}/signin", data={"who": "S07"}).status_code == 429


def test_the_reports_api_reads_with_a_workbench_session_but_never_writes(api: Api, mailbox: Mailbox) -> None:
    head = signed_in(api, mailbox, "S03")  # the cbd's head: B2 only
    assert head.get("/v1/reports/summary").status_code == 200
    assert head.get("/v1/reports/summary", params={"building_id": "B1"}).status_code == 403  # outside the grid
    assert head.get("/v1/reports/summary", params={"building_id": "B2"}).status_code == 200
    # A cookie alone never changes anything through the API, nor reads outside reporting.
    assert head.request("DELETE", "/v1/staff/S03/sessions").status_code == 401
    assert httpx.get(f"{base(api)}/v1/reports/summary").status_code == 401


def test_an_admin_hands_a_person_a_sign_in_link_from_the_cli(api: Api, tmp_path: Any) -> None:
    import subprocess
    import sys

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LOUZHANG_ADMIN_TOKEN": api.stack.admin_token,
        "LOUZHANG_REPORTING_URL": base(api),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ops.cli", "staff", "sign-in-link", *args]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)

    handed = cli("S09")
    assert handed.returncode == 0, handed.stderr
    [url] = handed.stdout.splitlines()  # piped: the link alone
    first = httpx.get(url)
    assert first.status_code == 303 and first.headers["set-cookie"].startswith("louzhang_session=")
    assert httpx.get(url).status_code == 410
    unknown = cli("NOBODY")
    assert unknown.returncode == 1 and "404" in unknown.stderr
    assert (
        api.as_token(api.token_for("staff", "S04")).post("reporting", "/v1/staff/S09/signin-links").status_code == 403
    )


SWITCH = re.compile(r'<a class="lang" href="([^"]+)" lang="([^"]+)"')


def test_the_pages_switch_to_english_and_back_and_remember_it(api: Api, mailbox: Mailbox) -> None:
    issue_id = submit(api, "英文切换测试")
    path = f"/issues/{issue_id}"
    officer = signed_in(api, mailbox, "S06", path)
    chinese = officer.get(path)
    assert '<html lang="zh-CN">' in chinese.text and "待签收" in chinese.text  # Chinese unless chosen
    [(href, lang)] = SWITCH.findall(chinese.text)
    assert (href, lang) == (f"/workbench/lang/en?next={path}", "en")

    switched = officer.get(href)
    assert switched.status_code == 303 and switched.headers["location"] == path
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith("louzhang_lang=en;") and "SameSite=lax" in cookie and "Path=/" in cookie
    english = officer.get(path)
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert "To acknowledge" in english.text and "Acknowledge by" in english.text and "Timeline" in english.text
    assert "待签收" not in english.text and "英文切换测试" in english.text  # the title is the reporter's own
    # Actions and refusals in English too.
    [csrf, *_] = CSRF.findall(english.text)
    done = officer.post(f"{path}/acknowledge", data={"csrf": csrf}, follow_redirects=True)
    assert "Acknowledged." in done.text and "已签收。" not in done.text
    refused = officer.post(f"{path}/resolve", data={"csrf": csrf, "note": ""})
    assert refused.status_code == 422 and "Please check what you entered. Note:" in refused.text
    assert '<span class="status">Acknowledged</span>' in refused.text  # the order as it is
    submit(api, "英文收件箱测试")  # a new, unread inbox item

    def my_work() -> httpx.Response | None:
        r = officer.get("/my")
        return r if "英文收件箱测试" in r.text else None

    mine = eventually(my_work, what="the inbox item")
    assert "<title>My work · Louzhang workbench</title>" in mine.text and "To acknowledge" in mine.text
    assert "待签收" not in mine.text and "[New work order] 英文收件箱测试" in mine.text  # the inbox title in English
    # Remembered without a session too: the sign-in form after signing out.
    assert "Sign in to the Louzhang workbench" in httpx.get(f"{base(api)}/signin", cookies={"louzhang_lang": "en"}).text

    [(back, lang)] = SWITCH.findall(officer.get(f"{path}?done=acknowledge").text)
    assert (back, lang) == (f"/workbench/lang/zh?next={path}", "zh-CN")  # the flash is not repeated
    assert officer.get(back).headers["location"] == path
    again = officer.get(path)
    assert '<html lang="zh-CN">' in again.text and "已签收" in again.text and "办理过程" in again.text

    # Only this site's pages, only the two languages.
    assert officer.get("/workbench/lang/en", params={"next": "https://evil.example/"}).headers["location"] == "/my"
    assert officer.get("/workbench/lang/fr", params={"next": path}).status_code == 404
