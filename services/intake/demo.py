"""Demo data for `make run`: four weeks of visits (联络走访) to the demo enterprises, some
of which raised an issue (submitted at the visit's time, so that the trends spread over the four
weeks), so that a fresh system shows a living dashboard. Everything it writes is marked 示例.
Seeded: the same visits and issues, days before the start, on every fresh start."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from chassis.auth import Principal
from chassis.replica import DirectoryReplica
from chassis.store import Store
from intake.enterprises import EnterpriseCopy
from intake.visits.models import VisitCreate, VisitIssue
from intake.visits.service import Visits
from kernel.times import SHANGHAI, utcnow

log = logging.getLogger(__name__)
DEMO = Principal("admin", "demo")
NOTES = (
    "了解企业用工需求（示例）",
    "宣讲最新扶持政策（示例）",
    "回访上次反映的问题（示例）",
    "介绍楼宇党群服务站活动（示例）",
    "听取企业发展规划（示例）",
    "协调物业服务事项（示例）",
)
KINDS = ("visit",) * 12 + ("call",) * 4 + ("meeting",) * 3 + ("activity",)


async def seed_visits(
    store: Store,
    directory: DirectoryReplica,
    enterprises: EnterpriseCopy,
    visits: Visits,
    *,
    days: int = 28,
    seed: int = 2018,
) -> int:
    """Record the demo visits once (the first replica to claim the marker does it)."""
    if not await _wait_for_enterprises(directory, enterprises):
        log.info("no demo enterprises arrived: no demo visits")
        return 0
    try:
        await store.col("demo").insert_one({"_id": "visits", "at": utcnow()})
    except DuplicateKeyError:
        return 0
    if await visits.any():
        return 0
    index = directory.require()
    rng = random.Random(seed)
    now = utcnow()
    recorded = 0
    async for copy in enterprises.all():
        building = index.buildings.get(copy["building_id"])
        if building is None or rng.random() > 0.6:
            continue
        team = list(dict.fromkeys([*building.team.values(), *building.heads]))
        services = [s for s in index.services.values() if not s.urgent and s.role in building.team]
        for _ in range(rng.choice((1, 1, 2))):
            day = (now - timedelta(days=rng.uniform(0.5, days))).astimezone(SHANGHAI)
            visited_at = day.replace(
                hour=rng.randint(9, 16), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0
            )
            issues = []
            if services and rng.random() < 0.2:
                service = rng.choice(services)
                issues.append(
                    VisitIssue(
                        service_code=service.code,
                        title=f"{service.name}（示例）",
                        description=f"走访中{copy['enterprise']['name']}反映：{service.name}相关事项需要协调。",
                    )
                )
            body = VisitCreate(
                building_id=building.id,
                enterprise_id=copy["_id"],
                visited_at=min(visited_at, now),
                kind=rng.choice(KINDS),
                notes=rng.choice(NOTES),
                participants=rng.sample(team, k=min(len(team), rng.choice((1, 2)))),
                issues=issues,
            )
            # The issue raised then, not now: the trends show the four weeks, not one day.
            await visits.record(DEMO, body, index, directory.version, raised_then=True)
            recorded += 1
    log.info("recorded %d demo visits", recorded)
    return recorded


async def _wait_for_enterprises(
    directory: DirectoryReplica, enterprises: EnterpriseCopy, within_s: float = 180.0
) -> bool:
    """Until the directory is held and the enterprises routing loaded have stopped arriving."""
    deadline = asyncio.get_running_loop().time() + within_s
    last = -1
    while asyncio.get_running_loop().time() < deadline:
        count = await enterprises.count()
        if directory.held and count and count == last:
            return True
        last = count
        await asyncio.sleep(2)
    return False
