"""The reporter's page (回访), `/r/{token}`: an issue's progress in plain Chinese, its result, and one
rating per resolution (docs/reporter-page.md).

The token is the capability: it names one issue and proves it (`Tokens.followed_issue`, an HMAC
under the JWT secret), so nothing is stored and a forged or cut token opens nothing. The page reads
the issue from intake as the admin and shows only what `progress` picks: no other issue, no staff
names or contact details, not the reporter's own phone (a link may be forwarded). A rating goes to
intake's feedback route as the admin with the token attached, which intake checks again and records
as actor `reporter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Form, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from kernel.directory import DirectoryIndex
from reporting.bootstrap import Reporting, runtime
from reporting.workbench.pages import HEADERS, templates
from reporting.workbench.views import local

router = APIRouter(include_in_schema=False)
Runtime = Annotated[Reporting, Depends(runtime)]
# A capability URL must not be indexed, nor leak through a Referer (pages.HEADERS says no-referrer).
PAGE_HEADERS = {**HEADERS, "X-Robots-Tag": "noindex, nofollow"}

# What the reporter reads for each status.
STATUS = {
    "received": "已提交，等待受理",
    "assigned": "已受理",
    "acknowledged": "处理中",
    "in_progress": "处理中",
    "resolved": "已办结",
    "closed": "已关闭",
    "rejected": "已退回",
}
CHOICES = (("satisfied", "满意"), ("basically_satisfied", "基本满意"), ("dissatisfied", "不满意"))
LABEL = dict(CHOICES)
ORDER = ("received", "assigned", "in_progress", "resolved", "closed")


@dataclass(frozen=True)
class Step:
    label: str
    time: str
    state: str  # "done", "now" or "todo"


def _stage(status: str) -> str:
    return "in_progress" if status == "acknowledged" else status


def _at(value: str | datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _latest(issue: dict[str, Any], kind: str) -> dict[str, Any] | None:
    entries = [e for e in issue.get("timeline", []) if e["type"] == kind]
    return max(entries, key=lambda e: _at(e["time"])) if entries else None


def resolution(issue: dict[str, Any]) -> str | None:
    """The current resolution's mark (the time of the latest 办结), None if never resolved. The
    form carries it, so that a rating is taken for the resolution the reporter read."""
    latest = _latest(issue, "resolved")
    return _at(latest["time"]).isoformat() if latest else None


def rated(issue: dict[str, Any]) -> bool:
    """Feedback was given after the latest resolution."""
    resolved = _latest(issue, "resolved")
    feedback = _latest(issue, "feedback")
    return resolved is not None and feedback is not None and _at(feedback["time"]) >= _at(resolved["time"])


def refusal(issue: dict[str, Any]) -> tuple[str, str]:
    """Why the issue takes no rating now (title, text)."""
    if rated(issue):
        again = "问题已重新办理，再次办结后可以再评价。" if issue["status"] == "in_progress" else ""
        return "已经评价过了", f"这次办理结果已经评价过，感谢您的反馈。{again}"
    if issue["status"] == "closed":
        return "已关闭", "这个问题已关闭，不再接受评价。"
    if issue["status"] == "rejected":
        return "已退回", "这个问题已退回，无需评价。"
    return "尚未办结", "问题还没有办结，办结后才能评价。"


def progress(issue: dict[str, Any], index: DirectoryIndex | None) -> dict[str, Any]:
    """What the page shows of an issue (intake's admin view): pure, and nothing else reaches the page."""
    timeline = issue.get("timeline", [])

    def first(kind: str) -> str:
        times = [_at(e["time"]) for e in timeline if e["type"] == kind]
        return local(min(times)) if times else ""

    status = issue["status"]
    building = index.buildings.get(issue["building_id"]) if index else None
    service = index.services.get(issue["service_code"]) if index else None
    resolved = _latest(issue, "resolved")
    closed = _latest(issue, "closed")
    feedback = _latest(issue, "feedback")
    times = {
        "received": local(issue["created_at"]),
        "assigned": first("assigned"),
        "in_progress": first("acknowledged") or first("progressed"),
        "resolved": local(resolved["time"]) if resolved else "",
        "closed": local(closed["time"])
        if closed
        else (local(feedback["time"]) if status == "closed" and feedback else ""),
    }
    labels = {
        "received": "已提交",
        "assigned": "已受理",
        "in_progress": "处理中",
        "resolved": "已办结",
        "closed": "已关闭",
    }
    steps: list[Step] = []
    if status == "rejected":
        steps = [Step("已提交", times["received"], "done"), Step("已退回", first("rejected"), "now")]
    else:
        at = ORDER.index(_stage(status))
        steps = [
            Step(labels[s], times[s] if i <= at else "", "done" if i < at else "now" if i == at else "todo")
            for i, s in enumerate(ORDER)
        ]
    shown_feedback = None
    if issue.get("feedback") and status in ("closed", "in_progress"):
        given = issue["feedback"]
        shown_feedback = {
            "label": LABEL.get(given["satisfaction"], given["satisfaction"]),
            "comment": given.get("comment") if given.get("by") == "reporter" else None,
            "yours": given.get("by") == "reporter",
        }
    return {
        "title": issue["title"],
        "description": issue["description"],
        "building": building.name if building else issue["building_id"],
        "service": service.name if service else issue["service_code"],
        "department": service.department if service and service.department else None,
        "status": status,
        "status_label": STATUS.get(status, status),
        "steps": steps,
        "result": resolved.get("note") if resolved and status in ("resolved", "closed") else None,
        "resolved_at": local(resolved["time"]) if resolved else None,
        "reopened": issue.get("reopened", 0),
        "feedback": shown_feedback,
        "may_rate": status == "resolved" and not rated(issue),
        "round": resolution(issue),
    }


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status, headers=PAGE_HEADERS)


def _notice(title: str, text: str, status: int, token: str | None = None) -> HTMLResponse:
    return _page("reporter.html", status, notice={"title": title, "text": text}, token=token, view=None)


def _not_found() -> HTMLResponse:
    return _notice("链接无效", "没有找到这个链接对应的问题。请核对链接是否完整。", 404)


def _unavailable() -> HTMLResponse:
    response = _notice("暂时无法打开", "系统暂时不可用，请稍后再试。", 503)
    response.headers["Retry-After"] = "5"
    return response


def _admin(reporting: Reporting) -> dict[str, str]:
    admin_token, _ = reporting.settings.require_secrets()
    return {"Authorization": f"Bearer {admin_token}"}


async def _issue(reporting: Reporting, issue_id: str) -> dict[str, Any] | None:
    """The issue from intake, or None when intake holds none such; httpx.HTTPError when it is down."""
    url = f"{reporting.upstream.urls['intake']}/v1/issues/{quote(issue_id, safe='')}"
    r = await reporting.upstream.client.get(url, headers=_admin(reporting))
    if r.status_code == 404:
        return None
    if r.status_code != 200:
        raise httpx.HTTPStatusError(f"intake answered {r.status_code}", request=r.request, response=r)
    found: dict[str, Any] = r.json()
    return found


async def _open(reporting: Reporting, token: str) -> dict[str, Any] | None:
    issue_id = reporting.tokens.followed_issue(token)
    return None if issue_id is None else await _issue(reporting, issue_id)


def _view(reporting: Reporting, token: str, issue: dict[str, Any], status: int = 200, **extra: Any) -> HTMLResponse:
    view = progress(issue, reporting.directory.index)
    return _page("reporter.html", status, view=view, token=token, choices=CHOICES, **extra)


@router.get("/r/{token}")
async def reporter_page(token: str, reporting: Runtime, done: str | None = None) -> Response:
    try:
        issue = await _open(reporting, token)
    except httpx.HTTPError:
        return _unavailable()
    if issue is None:
        return _not_found()
    return _view(reporting, token, issue, thanks=done == "1")


@router.post("/r/{token}")
async def reporter_rating(
    token: str,
    reporting: Runtime,
    satisfaction: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    round: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        issue = await _open(reporting, token)
    except httpx.HTTPError:
        return _unavailable()
    if issue is None:
        return _not_found()
    if issue["status"] != "resolved" or rated(issue):
        title, text = refusal(issue)
        return _view(reporting, token, issue, 409, error=f"{title}：{text}")
    if round != resolution(issue):
        # Reopened and resolved again since the page was read: the reporter rates what they see.
        return _view(reporting, token, issue, 409, error="办理结果已更新，请阅读最新结果后再评价。")
    if satisfaction not in LABEL:
        return _view(reporting, token, issue, 422, error="请选择：满意、基本满意或不满意。", comment=comment)
    if len(comment.strip()) > 2000:
        return _view(reporting, token, issue, 422, error="意见最多 2000 字。", comment=comment)
    body = {"satisfaction": satisfaction, "comment": comment.strip() or None}
    url = f"{reporting.upstream.urls['intake']}/v1/issues/{quote(issue['id'], safe='')}/feedback"
    try:
        r = await reporting.upstream.client.post(
            url, json=body, headers={**_admin(reporting), "X-Louzhang-Follow-Token": token}
        )
    except httpx.HTTPError:
        return _unavailable()
    if r.status_code == 200:
        return RedirectResponse(f"/r/{token}?done=1", status_code=303, headers=PAGE_HEADERS)
    try:
        fresh = await _issue(reporting, issue["id"]) or issue
    except httpx.HTTPError:
        fresh = issue
    if r.status_code == 409:
        title, text = refusal(fresh)
        return _view(reporting, token, fresh, 409, error=f"{title}：{text}")
    if r.status_code == 422:
        return _view(reporting, token, fresh, 422, error="请检查填写的内容后再提交。", comment=comment)
    if r.status_code in (429, 503) or r.status_code >= 500:
        return _unavailable()
    return _view(reporting, token, fresh, 400, error="评价未能提交，请稍后再试。")
