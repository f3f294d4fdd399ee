"""Demo staff at work (`make run` with LOUZHANG_DEMO=1): the assignees of the demo issues
acknowledge most of them and resolve many, so that the dashboard shows a living system."""

from __future__ import annotations

import asyncio
import logging
import random

from chassis.auth import Principal
from routing.workorders.access import Forbidden
from routing.workorders.service import NotFound, WorkOrders
from routing.workorders.states import Action, NotAllowed

log = logging.getLogger(__name__)
DEMO_SUBMITTER = "demo"


async def work_demo_orders(workorders: WorkOrders, *, rounds: int = 36, every_s: float = 5.0, seed: int = 2018) -> None:
    """For a few minutes after start, act on the demo issues' work orders as their assignees."""
    rng = random.Random(seed)
    seen: set[str] = set()
    for _ in range(rounds):
        await asyncio.sleep(every_s)
        for order in await workorders.unacknowledged(DEMO_SUBMITTER, sorted(seen)):
            seen.add(order["_id"])
            if rng.random() > 0.85:
                continue  # left for the grid to escalate
            who = Principal("staff", order["assignees"][0])
            steps: list[tuple[Action, dict[str, str]]] = [("acknowledge", {})]
            if rng.random() < 0.6:
                steps.append(("resolve", {"note": "已协调解决（示例）"}))
            for action, body in steps:
                try:
                    await workorders.act(order["_id"], who, action, body)
                except (NotFound, Forbidden, NotAllowed) as exc:
                    log.info("demo %s on %s: %s", action, order["_id"], exc)
                    break
