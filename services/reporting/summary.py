"""The summary over the per-issue read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from reporting import kpis

DONE = ["resolved", "closed"]


def _count(condition: Any) -> dict[str, Any]:
    return {"$sum": {"$cond": [condition, 1, 0]}}


async def summarize(
    issues: AsyncCollection[dict[str, Any]],
    *,
    start: datetime | None,
    end: datetime,
    buildings: set[str] | None,
    service_code: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Issues submitted in [start, end) within the filter, rejected ones excluded."""
    match: dict[str, Any] = {"submitted_at": {"$lt": end}, "status": {"$ne": "rejected"}}
    if start is not None:
        match["submitted_at"]["$gte"] = start
    if buildings is not None:
        match["building_id"] = {"$in": sorted(buildings)}
    if service_code is not None:
        match["service_code"] = service_code
    acknowledged = {"$gt": ["$acknowledged_at", None]}
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {
            "$group": {
                "_id": None,
                "total": {"$sum": 1},
                "acknowledged": _count(acknowledged),
                "acknowledged_on_time": _count(
                    {
                        "$and": [
                            acknowledged,
                            {"$gt": ["$first_ack_due", None]},
                            {"$lt": ["$acknowledged_at", "$first_ack_due"]},
                        ]
                    }
                ),
                "resolved": _count({"$in": ["$status", DONE]}),
                "closed": _count({"$eq": ["$status", "closed"]}),
                "reopened": _count({"$gt": [{"$ifNull": ["$reopened", 0]}, 0]}),
                "feedback": _count({"$gt": ["$feedback", None]}),
                "satisfied": _count({"$eq": ["$feedback", "satisfied"]}),
                "basically_satisfied": _count({"$eq": ["$feedback", "basically_satisfied"]}),
                "dissatisfied": _count({"$eq": ["$feedback", "dissatisfied"]}),
                "overdue_open": _count(
                    {
                        "$and": [
                            {"$not": [{"$in": ["$status", DONE]}]},
                            {"$gt": ["$resolve_due", None]},
                            {"$lt": ["$resolve_due", now]},
                        ]
                    }
                ),
                "ack_seconds": {
                    "$push": {
                        "$cond": [
                            acknowledged,
                            {"$divide": [{"$subtract": ["$acknowledged_at", "$submitted_at"]}, 1000]},
                            "$$REMOVE",
                        ]
                    }
                },
                "resolve_seconds": {
                    "$push": {
                        "$cond": [
                            {"$and": [{"$in": ["$status", DONE]}, {"$gt": ["$resolved_at", None]}]},
                            {"$divide": [{"$subtract": ["$resolved_at", "$submitted_at"]}, 1000]},
                            "$$REMOVE",
                        ]
                    }
                },
            }
        },
    ]
    rows = await (await issues.aggregate(pipeline)).to_list()
    row = rows[0] if rows else {}
    return kpis.summary(row, row.get("ack_seconds", []), row.get("resolve_seconds", []))
