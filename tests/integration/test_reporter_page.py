"""The reporter's page (回访) on the real stack: the link in every answer a submitter gets, the
progress page, one rating per resolution through intake's feedback path as actor `reporter`, the
summary's satisfaction rate, and nothing for a forged link."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bson import ObjectId

from chassis.auth import Tokens
from tests.conftest import TEST_ENV
from tests.support.api import Api
from tests.support.endpoints import Endpoints
from tests.support.reporter import ROUND, act, reporter_stack, submit
from tests.support.servers import Mongod, eventually


@pytest.fixture(scope="module")
def rapi(mongod: Mongod, endpoints: Endpoints) -> Iterator[Api]:
    with reporter_stack(mongod, endpoints, TEST_ENV) as api:
        yield api


def page(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def rate(url: str, satisfaction: str, comment: str = "", round: str | None = None) -> httpx.Response:
    if round is None:
        found = ROUND.search(page(url).text)
        round = found.group(1) if found else ""
    data = {"satisfaction": satisfaction, "comment": comment, "round": round}
    return httpx.post(url, data=data, timeout=10)


def feedback_steps(api: Api, issue_id: str) -> list[dict[str, Any]]:
    return [e for e in api.get("intake", f"/v1/issues/{issue_id}").json()["timeline"] if e["type"] == "feedback"]


def test_follow_url_comes_with_the_201_and_the_same_on_a_replay(rapi: Api) -> None:
    body = {"building_id": "B1", "service_code": "talent", "title": "人才公寓", "description": "申请"}
    key = {"Idempotency-Key": "reporter-link-1"}
    first = rapi.post("intake", "/v1/issues", json=body, headers=key)
    assert first.status_code == 201, first.text
    link = first.json()["follow_url"]
    base = f"{rapi.stack.url('reporting')}/r/"
    assert link.startswith(base)
    token = link.removeprefix(base)
    assert len(token) >= 32 and first.json()["id"] not in token
    again = rapi.post("intake", "/v1/issues", json=body, headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.json()["follow_url"] == link
    other = rapi.post("intake", "/v1/issues", json=body)
    assert other.json()["follow_url"] != link
    # Read back, the issue does not carry the link: staff in scope, judged by the 回访, never see it.
    read = rapi.get("intake", f"/v1/issues/{first.json()['id']}").json()
    assert "follow_url" not in read and token not in str(read)
    assert page(link).status_code == 200


def test_open311_answer_carries_the_link(rapi: Api) -> None:
    key = rapi.token_for("system", "open311-client")
    form = {"service_code": "talent", "attribute[building_id]": "B1", "description": "人才公寓申请", "api_key": key}
    r = httpx.post(f"{rapi.stack.url('intake')}/open311/v2/requests.json", data=form, timeout=10)
    assert r.status_code == 201, r.text
    [created] = r.json()
    assert created["follow_url"].startswith(f"{rapi.stack.url('reporting')}/r/")
    eventually(lambda: "已受理" in page(created["follow_url"]).text, what="the page shows the request assigned")


def test_callbacks_carry_the_link_and_staff_webhooks_do_not(rapi: Api, endpoints: Endpoints) -> None:
    created = rapi.post("routing", "/v1/tokens", json={"kind": "system", "subject": "hotline-r"}).json()
    client = rapi.as_token(created["token"])
    issue = submit(client, service_code="fire-safety", callback_url=f"{endpoints.url}/callback")

    def calls() -> list[Any]:
        return [c for c in endpoints.at("/callback") if c.json()["issue"]["id"] == issue["id"]]

    [call] = eventually(calls, what="the assignment called back")
    assert call.json()["issue"]["follow_url"] == issue["follow_url"]
    secret = created["signing_secret"].encode()
    assert call.headers["x-louzhang-signature"] == "sha256=" + hmac.new(secret, call.body, hashlib.sha256).hexdigest()
    # The officer's own webhook (S05 handles fire safety at B1) hears of it without the link.
    hooks = eventually(
        lambda: [c for c in endpoints.at("/hook/S05") if c.json()["issue"]["id"] == issue["id"]], what="S05's webhook"
    )
    assert all("follow_url" not in c.json()["issue"] for c in hooks)
    assert issue["follow_url"].rsplit("/", 1)[1] not in str([c.body for c in hooks])


def test_the_page_shows_progress_takes_one_rating_per_resolution_as_the_reporter(rapi: Api) -> None:
    before = rapi.get("reporting", "/v1/reports/summary").json()
    issue = submit(rapi, title='<b id="x">标题</b>', reporter={"name": "李女士", "phone": "13900000000"})
    link, issue_id = issue["follow_url"], issue["id"]

    shown = page(link)
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    assert "已受理" in shown.text and "&lt;b id=&#34;x&#34;&gt;标题&lt;/b&gt;" in shown.text
    assert '<b id="x">' not in shown.text
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    # No staff names or phones, not the reporter's own, no form before 办结.
    for private in ("测试人员", "S06", "138000000", "13900000000", "李女士"):
        assert private not in shown.text
    assert 'name="satisfaction"' not in shown.text

    # Rated before it is resolved: refused, nothing recorded.
    early = rate(link, "satisfied", round="")
    assert early.status_code == 409 and "尚未办结" in early.text
    assert feedback_steps(rapi, issue_id) == []

    act(rapi, "S06", issue_id, "acknowledge")
    assert "处理中" in page(link).text
    act(rapi, "S06", issue_id, "resolve", {"note": "已安排人才公寓看房"})
    shown = page(link)
    assert "已办结" in shown.text and "已安排人才公寓看房" in shown.text and 'name="satisfaction"' in shown.text
    first_round = ROUND.search(shown.text)
    assert first_round and first_round.group(1)

    # 不满意 reopens the issue; the timeline's actor is `reporter`.
    r = rate(link, "dissatisfied", "还没看房")
    assert r.status_code == 303 and r.headers["location"] == f"/r/{link.rsplit('/', 1)[1]}?done=1"
    [step] = feedback_steps(rapi, issue_id)
    assert step["actor"] == "reporter" and step["note"] == "不满意：还没看房"
    reopened = rapi.get("intake", f"/v1/issues/{issue_id}").json()
    assert (
        reopened["status"] == "in_progress" and reopened["reopened"] == 1 and reopened["feedback"]["by"] == "reporter"
    )
    thanks = page(link + "?done=1")
    assert "感谢您的评价" in thanks.text and "不满意" in thanks.text and 'name="satisfaction"' not in thanks.text

    # A second rating of the same resolution: 409, nothing more recorded.
    second = rate(link, "satisfied", round=first_round.group(1))
    assert second.status_code == 409 and "已经评价过了" in second.text
    assert len(feedback_steps(rapi, issue_id)) == 1

    # Resolved again, it can be rated again, once; a form of the earlier resolution is refused.
    eventually(lambda: rapi.get("routing", f"/v1/workorders/{issue_id}").json()["status"] == "in_progress")
    act(rapi, "S06", issue_id, "resolve", {"note": "已看房并签约"})
    stale = rate(link, "satisfied", round=first_round.group(1))
    assert stale.status_code == 409 and "办理结果已更新" in stale.text
    bad = rate(link, "great")
    assert bad.status_code == 422 and "请选择" in bad.text
    assert rate(link, "basically_satisfied", "谢谢").status_code == 303
    assert rate(link, "satisfied").status_code == 409
    steps = feedback_steps(rapi, issue_id)
    assert [s["actor"] for s in steps] == ["reporter", "reporter"] and steps[-1]["note"] == "基本满意：谢谢"
    assert rapi.get("intake", f"/v1/issues/{issue_id}").json()["status"] == "closed"

    # The summary counts the latest verdict: basically satisfied (0.9).
    def moved() -> dict[str, Any] | None:
        s: dict[str, Any] = rapi.get("reporting", "/v1/reports/summary").json()
        return (
            s
            if s["feedback"] == before["feedback"] + 1 and s["basically_satisfied"] == before["basically_satisfied"] + 1
            else None
        )

    after = eventually(moved, what="the summary counts the reporter's rating")
    assert after["satisfaction_rate"] is not None and after["satisfaction_rate"] != before["satisfaction_rate"]
    eventually(lambda: "已关闭" in page(link).text, what="the page shows it closed")


def test_a_forged_or_foreign_link_opens_nothing(rapi: Api) -> None:
    issue = submit(rapi, title="秘密标题")
    link = issue["follow_url"]
    token = link.rsplit("/", 1)[1]
    base = f"{rapi.stack.url('reporting')}/r/"
    others = [
        token[:-1],
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        issue["id"],
        "x" * 64,
        "%00",
        # A token made with another secret, and a genuine one for an issue that does not exist.
        Tokens("admin", "another-secret").follow_token(issue["id"]),
        Tokens(rapi.stack.admin_token, rapi.stack.jwt_secret).follow_token(str(ObjectId())),
    ]
    for forged in others:
        r = page(base + forged)
        assert r.status_code == 404, forged
        assert "秘密标题" not in r.text and "链接无效" in r.text
        p = httpx.post(base + forged, data={"satisfaction": "satisfied", "round": ""}, timeout=10)
        assert p.status_code == 404 and "秘密标题" not in p.text
    paths = httpx.get(f"{rapi.stack.url('reporting')}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/r/")]


def test_only_the_admin_relays_a_reporters_rating_and_only_with_that_issues_token(rapi: Api) -> None:
    issue = submit(rapi)
    other = submit(rapi, title="另一个")
    act(rapi, "S06", issue["id"], "acknowledge")
    act(rapi, "S06", issue["id"], "resolve", {"note": "好了"})
    path = f"/v1/issues/{issue['id']}/feedback"
    own = issue["follow_url"].rsplit("/", 1)[1]
    staff = rapi.as_token(rapi.token_for("staff", "S04"))  # B1's head: may give feedback, not as the reporter
    r = staff.post("intake", path, json={"satisfaction": "satisfied"}, headers={"X-Louzhang-Follow-Token": own})
    assert r.status_code == 403, r.text
    foreign = other["follow_url"].rsplit("/", 1)[1]
    r = rapi.post("intake", path, json={"satisfaction": "satisfied"}, headers={"X-Louzhang-Follow-Token": foreign})
    assert r.status_code == 403, r.text
    assert feedback_steps(rapi, issue["id"]) == []
    r = rapi.post("intake", path, json={"satisfaction": "satisfied"}, headers={"X-Louzhang-Follow-Token": own})
    assert r.status_code == 200 and r.json()["timeline"][-1]["actor"] == "reporter"
