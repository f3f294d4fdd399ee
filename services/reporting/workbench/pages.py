"""The workbench's pages (kept out of the OpenAPI document): sign-in, my work, an issue and its
actions. Thin: sessions live in `sessions`, words and tabs in `views`, every read and action goes
through the services' APIs with the signed-in person's rights (`upstream`)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from chassis.auth import Admin, Principal
from kernel import feedback
from kernel.events import SigninLink, new_event
from reporting.bootstrap import Reporting, runtime
from reporting.dashboard.page import POLICY as DASHBOARD_POLICY
from reporting.workbench import views
from reporting.workbench.sessions import Session, safe_next

HERE = Path(__file__).resolve().parent
COOKIE = "louzhang_session"
# The dashboard's policy, with forms posting to this origin.
POLICY = DASHBOARD_POLICY.replace("form-action 'none'", "form-action 'self'")
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": POLICY,
}
ASSETS = {"workbench.css": "text/css; charset=utf-8", "workbench.js": "text/javascript; charset=utf-8"}
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
templates.globals.update(
    status_label=views.STATUS,
    step_label=views.STEPS,
    satisfaction_label=feedback.SATISFACTION,
    local=views.local,
    t=views.t,
    said=views.said,
    lang="zh",
    html_lang="zh-CN",
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/v1/staff", tags=["workbench"])
Runtime = Annotated[Reporting, Depends(runtime)]


def lang_of(request: Request) -> str:
    return views.lang_of(request.cookies.get(views.LANG_COOKIE))


def render(name: str, lang: str, here: str = "/my", **context: Any) -> str:
    """A page in `lang`: its templates say `t("中文")` and `said(text)`, bound here to the language;
    the header's switch to the other language comes back to `here`."""

    def t(text: str, ctx: str = "", **values: Any) -> str:
        return views.t(text, lang, ctx=ctx, **values)

    def said(text: str | None) -> str:
        return views.said(text, lang)

    other = "zh" if lang == "en" else "en"
    return templates.get_template(name).render(
        t=t,
        said=said,
        lang=lang,
        html_lang=views.HTML_LANG[lang],
        switch=f"/workbench/lang/{other}?next={quote(here, safe='/')}",
        switch_lang=views.HTML_LANG[other],
        **context,
    )


def here_of(request: Request) -> str:
    """The page to come back to after switching language: this one (a GET), without its flash."""
    if request.method != "GET":
        return "/my"
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in request.query_params.multi_items() if k != "done")
    return request.url.path + (f"?{query}" if query else "")


def page(request: Request, name: str, status: int = 200, here: str | None = None, **context: Any) -> HTMLResponse:
    text = render(name, lang_of(request), here or here_of(request), **context)
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def message(request: Request, title: str, text: str, status: int, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    return page(request, "message.html", status, title=views.t(title, lang), text=views.t(text, lang), **context)


async def signed_in(request: Request, reporting: Reporting) -> Session | None:
    """The request's live session; a person the directory no longer holds is signed out for good."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    session = await reporting.sessions.current(session_id)
    if session is None:
        return None
    index = reporting.directory.index
    if index is None or session.staff_id not in index.staff:
        await reporting.sessions.end_all(session.staff_id)
        return None
    return session


async def session_principal(request: Request) -> Principal | None:
    """The signed-in staff member, for the reports API's reads (the dashboard): a named admin's
    session reads as their token does (everything), while the directory held names them."""
    reporting: Reporting = request.app.state.runtime
    session = await signed_in(request, reporting)
    return reporting.tokens.staff(session.staff_id) if session else None


def to_signin(path: str) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={quote(path, safe='/')}", status_code=303, headers=HEADERS)


def csrf_ok(request: Request, session: Session, field: str | None) -> bool:
    given = field or request.headers.get("x-csrf-token") or ""
    return hmac.compare_digest(given.encode(), session.csrf.encode())


def who_is(reporting: Reporting, who: str) -> tuple[str, str, str] | None:
    """(staff id, name, email) of the person a staff id, phone or email names, if they have an email."""
    index = reporting.directory.index
    if index is None:
        return None
    text = who.strip()
    digits = "".join(c for c in text if c.isdigit())
    for member in index.directory.staff:
        phone = "".join(c for c in (member.phone or "") if c.isdigit())
        if (
            member.id == text
            or (member.email and member.email.casefold() == text.casefold())
            or (len(digits) >= 7 and phone.endswith(digits[-11:]) and len(phone) >= 7)
        ):
            return (member.id, member.name, member.email) if member.email else None
    return None


# ---- sign-in --------------------------------------------------------------------------------


@router.get("/signin")
async def signin_form(request: Request, reporting: Runtime, next: str | None = None) -> HTMLResponse:
    return page(request, "signin.html", next=safe_next(next))


@router.post("/signin")
async def signin_request(
    request: Request,
    reporting: Runtime,
    tasks: BackgroundTasks,
    who: Annotated[str, Form(max_length=254)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/my",
) -> HTMLResponse:
    address = request.client.host if request.client else "?"
    budget = reporting.signin_budget
    if (
        budget.take(f"signin-addr:{address}") is not None
        or budget.take(f"signin-who:{who.strip().casefold()}") is not None
    ):
        return message(request, "请求太频繁", "登录链接申请太频繁，请一分钟后再试。", 429, here="/signin")
    found = who_is(reporting, who)
    if found is not None:  # sent after the answer, which is the same either way
        tasks.add_task(send_link, reporting, *found, next)
    return page(
        request, "sent.html", here="/signin", minutes=int(reporting.settings.signin_link_ttl.total_seconds() // 60)
    )


async def send_link(reporting: Reporting, staff_id: str, name: str, email: str, next_path: str) -> None:
    token, expires = await reporting.sessions.new_link(staff_id, next_path)
    url = f"{reporting.settings.public_url.rstrip('/')}/signin/{token}"
    data = SigninLink(staff_id=staff_id, name=name, email=email, url=url, expires_at=expires)
    await reporting.bus.publish(new_event("signin.link", source="reporting", subject=staff_id, data=data))


@router.get("/signin/{token}")
async def signin_redeem(request: Request, token: str, reporting: Runtime) -> Response:
    redeemed = await reporting.sessions.redeem(token)
    if redeemed is None:
        return message(
            request,
            "链接已失效",
            "这个登录链接已使用、已过期或无效。请重新申请登录链接。",
            410,
            again=True,
            here="/signin",
        )
    session_id, _, next_path = redeemed
    response = RedirectResponse(next_path, status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(reporting.settings.session_max.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=reporting.settings.public_url.startswith("https:"),
        path="/",
    )
    return response


@router.get("/signout")
async def signout_form(request: Request, reporting: Runtime) -> Response:
    session = await signed_in(request, reporting)
    if session is None:
        return RedirectResponse("/signin", status_code=303, headers=HEADERS)
    return page(request, "signout.html", session=session, me=name_of(reporting, session.staff_id))


@router.post("/signout")
async def signout(
    request: Request, reporting: Runtime, csrf: Annotated[str | None, Form(max_length=100)] = None
) -> Response:
    session = await signed_in(request, reporting)
    if session is not None:
        if not csrf_ok(request, session, csrf):
            return message(request, "请求无效", "页面已过期，请刷新后重试。", 403)
        await reporting.sessions.end(request.cookies[COOKIE])
    response = RedirectResponse("/signin", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/")
    return response


class HandedLink(BaseModel):
    url: str
    expires_at: datetime


@api.post(
    "/{staff_id}/signin-links",
    status_code=201,
    response_model=HandedLink,
    summary="A sign-in link to hand a person (onboarding: `louzhang staff sign-in-link`)",
    responses={404: {"description": "a staff member the directory lacks"}},
)
async def hand_link(staff_id: str, _: Admin, reporting: Runtime) -> HandedLink:
    index = reporting.directory.require()
    if staff_id not in index.staff:
        raise HTTPException(404, f"no staff member {staff_id!r} in the directory")
    token, expires = await reporting.sessions.new_link(staff_id, "/my")
    return HandedLink(url=f"{reporting.settings.public_url.rstrip('/')}/signin/{token}", expires_at=expires)


@api.delete("/{staff_id}/sessions", status_code=204, summary="End every workbench session of a person")
async def revoke_sessions(staff_id: str, _: Admin, reporting: Runtime) -> Response:
    await reporting.sessions.end_all(staff_id)
    reporting.upstream.forget(staff_id)
    return Response(status_code=204)


# ---- my work and the issue page -----------------------------------------------------------


def name_of(reporting: Reporting, staff_id: str) -> str:
    if staff_id == "reporter":  # 回访 given on the reporter's page
        return "报告人"
    index = reporting.directory.index
    return index.staff_name(staff_id) if index else staff_id


def describe(reporting: Reporting, order: dict[str, Any], lang: str = "zh") -> dict[str, Any]:
    """A work order with the names and deadlines a page shows."""
    index = reporting.directory.index
    building = index.buildings.get(order["building_id"]) if index else None
    node = index.nodes.get(order["grid_node"]) if index else None
    service = index.services.get(order["service_code"]) if index else None
    working = order.get("sla_calendar") == "working"
    ack_left, ack_late = views.left(order.get("acknowledge_left_s"), working, lang)
    res_left, res_late = views.left(order.get("resolve_left_s"), working, lang)
    return {
        **order,
        "building_name": building.name if building else order["building_id"],
        "address": building.address if building else None,
        "node_name": node.name if node else order["grid_node"],
        "service_name": service.name if service else order["service_code"],
        "ack_left": ack_left if order["status"] == "assigned" else "",
        "ack_late": ack_late and order["status"] == "assigned",
        "res_left": res_left if order["status"] in ("assigned", "acknowledged", "in_progress") else "",
        "res_late": res_late and order["status"] in ("assigned", "acknowledged", "in_progress"),
        "late": views.late(order),
    }


@router.get("/my")
async def my_work(
    request: Request, reporting: Runtime, tab: str | None = None, page_no: int = Query(1, alias="page", ge=1, le=1000)
) -> Response:
    session = await signed_in(request, reporting)
    if session is None:
        return to_signin("/my" + (f"?tab={quote(tab)}" if tab else ""))
    me = session.staff_id
    mine = await reporting.upstream.call(
        me, "GET", "routing", "/v1/workorders", params={"assignee": "me", "limit": 500}
    )
    orders = mine.json()["items"] if mine.status_code == 200 else []
    index = reporting.directory.index
    is_head = bool(index and any(me in n.heads for n in index.nodes.values()))
    if is_head:  # a head also sees what their grid subtree holds
        scoped = await reporting.upstream.call(me, "GET", "routing", "/v1/workorders", params={"limit": 500})
        seen = {o["issue_id"] for o in orders}
        orders += [
            o for o in (scoped.json()["items"] if scoped.status_code == 200 else []) if o["issue_id"] not in seen
        ]
    inbox = await unread(reporting, me)
    current = views.tab(tab)
    counts = {t.key: sum(1 for o in orders if views.in_tab(o, t)) for t in views.TABS}
    listed = sorted((o for o in orders if views.in_tab(o, current)), key=lambda o: o["created_at"], reverse=True)
    window, more = views.page_of(listed, page_no)
    shown = [describe(reporting, o, lang_of(request)) for o in window]
    return page(
        request,
        "my.html",
        session=session,
        me=name_of(reporting, me),
        tabs=views.TABS,
        current=current,
        counts=counts,
        orders=shown,
        page_no=page_no,
        more=more,
        is_head=is_head,
        inbox=inbox[:10],
        unread_count=len(inbox),
    )


def choices(reporting: Reporting, staff_id: str) -> dict[str, list[tuple[str, str]]]:
    """What a transfer form offers: the buildings in the person's scope, the services, and the
    people of those buildings (routing still decides what may be done)."""
    index = reporting.directory.index
    if index is None:
        return {"buildings": [], "services": [], "staff": []}
    mine = sorted(index.scope(staff_id))
    people = {p for b in mine for p in (*index.buildings[b].heads, *index.buildings[b].team.values())}
    return {
        "buildings": [(b, index.buildings[b].name) for b in mine],
        "services": [(s.code, s.name) for s in index.services.values()],
        "staff": sorted((p, index.staff_name(p)) for p in people - {staff_id}),
    }


async def unread(reporting: Reporting, staff_id: str) -> list[dict[str, Any]]:
    r = await reporting.upstream.call(staff_id, "GET", "notify", "/v1/inbox", params={"unread": 1, "limit": 50})
    return list(r.json()["items"]) if r.status_code == 200 else []


@router.get("/my/stream")
async def my_stream(request: Request, reporting: Runtime) -> Response:
    """The person's inbox stream (notify's), relayed on this origin: the page reloads its list on news."""
    session = await signed_in(request, reporting)
    if session is None:
        return Response(status_code=401)
    upstream = reporting.upstream
    # Connected before the answer starts: once the page sees the stream open, nothing is missed.
    request_out = upstream.client.build_request(
        "GET",
        f"{upstream.urls['notify']}/v1/inbox/stream",
        headers={"Authorization": f"Bearer {upstream.token(session.staff_id)}"},
        timeout=httpx.Timeout(10.0, read=None),
    )
    r = await upstream.client.send(request_out, stream=True)
    if r.status_code != 200:
        await r.aclose()
        return Response(status_code=503 if r.status_code >= 500 else r.status_code)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in r.aiter_raw():
                yield chunk
        finally:
            await r.aclose()

    return StreamingResponse(
        relay(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


async def issue_view(reporting: Reporting, session: Session, issue_id: str, lang: str = "zh") -> dict[str, Any] | None:
    me = session.staff_id
    order = await reporting.upstream.call(me, "GET", "routing", f"/v1/workorders/{quote(issue_id, safe='')}")
    if order.status_code != 200:
        return None
    issue = await reporting.upstream.call(me, "GET", "intake", f"/v1/issues/{quote(issue_id, safe='')}")
    acting = views.may_act(order.json(), reporting.directory.index, me)
    return {
        "order": describe(reporting, order.json(), lang),
        "issue": issue.json() if issue.status_code == 200 else None,
        "actions": views.actions(order.json()["status"]) if acting else [],
        "read_only": not acting,
        "names": {s: name_of(reporting, s) for s in {e["actor"] for e in order.json()["timeline"]}},
        "choices": choices(reporting, me),
    }


def not_found(request: Request, session: Session | None) -> HTMLResponse:
    # The same page for every id, whether it exists or not: the switch does not name it either.
    return message(request, "未找到", views.NOT_FOUND, 404, session=session, here="/my")


@router.get("/issues/{issue_id}")
async def issue_page(request: Request, issue_id: str, reporting: Runtime, done: str | None = None) -> Response:
    session = await signed_in(request, reporting)
    if session is None:
        return to_signin(f"/issues/{issue_id}")
    view = await issue_view(reporting, session, issue_id, lang_of(request))
    if view is None:
        return not_found(request, session)
    for item in await unread(reporting, session.staff_id):  # seen: its notices are read
        if item["issue_id"] == issue_id:
            await reporting.upstream.call(session.staff_id, "POST", "notify", f"/v1/inbox/{item['id']}/read")
    done_text = views.DONE.get(done or "", "")
    return page(request, "issue.html", session=session, me=name_of(reporting, session.staff_id), done=done_text, **view)


# Photos sent with one 办结 (each at most routing's LOUZHANG_PHOTO_MAX_BYTES).
MAX_PHOTOS = 3
BODY_FIELDS = {
    "acknowledge": (),
    "progress": ("note",),
    "resolve": ("note",),
    "transfer": ("building_id", "service_code", "staff_id", "reason"),
    "reject": ("reason", "duplicate_of"),
}


@router.post("/issues/{issue_id}/{action}")
async def issue_action(request: Request, issue_id: str, action: str, reporting: Runtime) -> Response:
    session = await signed_in(request, reporting)
    if session is None:
        return to_signin(f"/issues/{issue_id}")
    form = await request.form()
    csrf = form.get("csrf")
    if not csrf_ok(request, session, csrf if isinstance(csrf, str) else None):
        return message(request, "请求无效", "页面已过期或请求来源不明，请刷新页面后重试。", 403, session=session)
    if action not in BODY_FIELDS:
        return not_found(request, session)
    body = {}
    for name in BODY_FIELDS[action]:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            body[name] = value.strip()
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    for upload in uploads[:MAX_PHOTOS] if action == "resolve" else []:
        files = {"file": (upload.filename or "photo", await upload.read(), upload.content_type or "image/jpeg")}
        r = await reporting.upstream.call(
            session.staff_id, "POST", "routing", f"/v1/workorders/{quote(issue_id, safe='')}/photos", files=files
        )
        if r.status_code != 201:
            return await refused(request, reporting, session, issue_id, action, r)
    r = await reporting.upstream.call(
        session.staff_id, "POST", "routing", f"/v1/workorders/{quote(issue_id, safe='')}/{action}", json=body
    )
    if r.status_code == 200:
        return RedirectResponse(f"/issues/{quote(issue_id, safe='')}?done={action}", status_code=303, headers=HEADERS)
    return await refused(request, reporting, session, issue_id, action, r)


async def refused(
    request: Request, reporting: Reporting, session: Session, issue_id: str, action: str, r: httpx.Response
) -> Response:
    """The issue page again, with the API's refusal in words and its status."""
    lang = lang_of(request)
    view = await issue_view(reporting, session, issue_id, lang)
    if view is None:
        return not_found(request, session)
    try:
        detail: Any = r.json()
    except ValueError:
        detail = None
    return page(
        request,
        "issue.html",
        r.status_code,
        here=f"/issues/{quote(issue_id, safe='')}",
        session=session,
        me=name_of(reporting, session.staff_id),
        error=views.refusal(r.status_code, detail, lang),
        failed=action,
        **view,
    )


@router.get("/workbench/lang/{lang}")
async def switch_language(request: Request, lang: str, reporting: Runtime, next: str | None = None) -> Response:
    """The language switch in every page's header: remembered in a cookie (a year), back to `next`."""
    if lang not in views.LANGS:
        return message(request, "未找到", "没有这个页面。", 404)
    response = RedirectResponse(safe_next(next), status_code=303, headers=HEADERS)
    response.set_cookie(
        views.LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=reporting.settings.public_url.startswith("https:"),
        path="/",
    )
    return response


@router.get("/issues/{issue_id}/photos/{photo_id}")
async def issue_photo(request: Request, issue_id: str, photo_id: str, reporting: Runtime) -> Response:
    session = await signed_in(request, reporting)
    if session is None:
        return Response(status_code=401)
    path = f"/v1/workorders/{quote(issue_id, safe='')}/photos/{quote(photo_id, safe='')}"
    r = await reporting.upstream.call(session.staff_id, "GET", "routing", path)
    return photo(r)


@router.get("/photos/{photo_id}")
async def public_photo(photo_id: str, reporting: Runtime) -> Response:
    """A result's photo by its unguessable id alone: what Open311's `media_url` names."""
    r = await reporting.upstream.client.get(
        f"{reporting.upstream.urls['routing']}/v1/photos/{quote(photo_id, safe='')}",
        headers={"Authorization": f"Bearer {reporting.settings.require_secrets()[0]}"},
    )
    return photo(r)


def photo(r: httpx.Response) -> Response:
    if r.status_code != 200:
        return Response(status_code=404 if r.status_code in (403, 404) else 502)
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(r.content, media_type=r.headers.get("content-type"), headers=headers)


@router.get("/workbench/assets/{name}")
async def asset(request: Request, name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        return message(request, "未找到", "没有这个文件。", 404)
    return FileResponse(HERE / "assets" / name, media_type=media_type, headers={"Cache-Control": "no-cache"})
