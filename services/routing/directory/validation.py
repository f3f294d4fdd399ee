"""The rules a directory document must satisfy beyond its shape, as pure functions."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

from chassis.urls import OutboundGuard
from kernel.directory import Building, Directory, GridNode, Role, Service, Sla, Staff, WebhookChannel

Problem = dict[str, Any]


def _problem(loc: list[str | int], msg: str, kind: str) -> Problem:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}


def _duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def problems(doc: Directory) -> list[Problem]:
    """Every problem of the document (empty when it is valid)."""
    found: list[Problem] = []
    staff = {s.id for s in doc.staff}
    roles = {r.code for r in doc.roles}
    nodes = [(node, path) for node, path in _walk(doc)]
    node_ids = {node.id for node, _ in nodes}

    for what, ids in (
        ("staff", [s.id for s in doc.staff]),
        ("grid node", [node.id for node, _ in nodes]),
        ("building", [b.id for b in doc.buildings]),
        ("service", [s.code for s in doc.services]),
        ("role", [r.code for r in doc.roles]),
    ):
        for dup in _duplicates(ids):
            found.append(_problem([], f"duplicate {what} id {dup!r}", "duplicate_id"))

    for node, path in nodes:
        if not node.heads:
            found.append(_problem([*path, "heads"], f"grid node {node.id!r} has no head", "missing_head"))
        for i, head in enumerate(node.heads):
            if head not in staff:
                found.append(_problem([*path, "heads", i], f"unknown staff id {head!r}", "unknown_staff"))

    for b_i, building in enumerate(doc.buildings):
        loc: list[str | int] = ["buildings", b_i]
        if not 1 <= len(set(building.heads)) <= 2 or len(set(building.heads)) != len(building.heads):
            found.append(
                _problem(
                    [*loc, "heads"], f"building {building.id!r} must have one or two distinct heads", "heads_count"
                )
            )
        for i, head in enumerate(building.heads):
            if head not in staff:
                found.append(_problem([*loc, "heads", i], f"unknown staff id {head!r}", "unknown_staff"))
        if building.grid_node not in node_ids:
            found.append(
                _problem([*loc, "grid_node"], f"unknown grid node {building.grid_node!r}", "unknown_grid_node")
            )
        for role, member in building.team.items():
            if role not in roles:
                found.append(_problem([*loc, "team", role], f"unknown role {role!r}", "unknown_role"))
            if member not in staff:
                found.append(_problem([*loc, "team", role], f"unknown staff id {member!r}", "unknown_staff"))

    for s_i, service in enumerate(doc.services):
        if service.role not in roles:
            found.append(_problem(["services", s_i, "role"], f"unknown role {service.role!r}", "unknown_role"))
    return found


async def channel_url_problems(doc: Directory, guard: OutboundGuard) -> list[Problem]:
    """Webhook URLs the outbound guard refuses now (literal addresses, names that resolve to
    inside addresses, user:pass@); a name that does not resolve yet passes. The only rule that
    looks outside the document (names are resolved), so kept apart from `problems`."""
    webhooks = [
        (s_i, c_i, str(channel.url))
        for s_i, member in enumerate(doc.staff)
        for c_i, channel in enumerate(member.channels)
        if isinstance(channel, WebhookChannel)
    ]
    urls = sorted({url for _, _, url in webhooks})
    limit = asyncio.Semaphore(16)

    async def check(url: str) -> str | None:
        async with limit:
            return await guard.check_submitted(url)

    reasons = dict(zip(urls, await asyncio.gather(*(check(u) for u in urls)), strict=True))
    return [
        _problem(["staff", s_i, "channels", c_i, "url"], f"webhook URL refused: {reason}", "url_refused")
        for s_i, c_i, url in webhooks
        if (reason := reasons[url]) is not None
    ]


def _walk(doc: Directory) -> list[tuple[Any, list[str | int]]]:
    out: list[tuple[Any, list[str | int]]] = []
    stack: list[tuple[Any, list[str | int]]] = [(doc.grid, ["grid"])]
    while stack:
        node, path = stack.pop()
        out.append((node, path))
        stack.extend((child, [*path, "children", i]) for i, child in enumerate(node.children))
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _items(data: dict[str, Any], part: str) -> list[dict[str, Any]]:
    items = data.get(part)
    return [item if isinstance(item, dict) else {} for item in items] if isinstance(items, list) else []


def _node(raw: Any) -> GridNode:
    raw = raw if isinstance(raw, dict) else {}
    children = raw.get("children")
    return GridNode.model_construct(
        id=_text(raw.get("id")) or "",
        name="",
        heads=_texts(raw.get("heads")),
        children=[_node(child) for child in children] if isinstance(children, list) else [],
    )


_NO_SLA = Sla.model_validate({"acknowledge": "PT1S", "resolve": "PT1S"})  # the rules do not look at it


def problems_despite_shape(data: Any, shape: list[Problem]) -> list[Problem]:
    """The rule problems of a document whose shape is wrong, so that one report holds both: the rules
    are checked on what can be read (ids, heads, teams, roles, grid nodes), and a rule problem at or
    inside a place that already has a shape problem is left out (it would say the same again)."""
    if not isinstance(data, dict):
        return []
    grid = data.get("grid")
    doc = Directory.model_construct(
        roles=[Role.model_construct(code=_text(r.get("code")) or "", name="") for r in _items(data, "roles")],
        staff=[Staff.model_construct(id=_text(s.get("id")) or "", name="") for s in _items(data, "staff")],
        grid=_node(grid),
        buildings=[
            Building.model_construct(
                id=_text(b.get("id")) or "",
                name="",
                grid_node=_text(b.get("grid_node")) or "",
                heads=_texts(b.get("heads")),
                team={k: v for k, v in b["team"].items() if isinstance(v, str)}
                if isinstance(b.get("team"), dict)
                else {},
            )
            for b in _items(data, "buildings")
        ],
        services=[
            Service.model_construct(
                code=_text(s.get("code")) or "", name="", role=_text(s.get("role")) or "", sla=_NO_SLA
            )
            for s in _items(data, "services")
        ],
    )
    broken = [tuple(p["loc"]) for p in shape]
    found = []
    for problem in problems(doc):
        loc = tuple(problem["loc"])
        if problem["type"] == "duplicate_id" and "''" in problem["msg"]:
            continue  # items without a readable id
        if not isinstance(grid, dict) and problem["type"] in ("unknown_grid_node", "missing_head"):
            continue  # no grid to check against
        if len(loc) > 1 and any(loc[: len(b)] == b or b[: len(loc)] == loc for b in broken):
            continue
        found.append(problem)
    return found
