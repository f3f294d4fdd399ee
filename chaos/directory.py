"""The run's small directory: three buildings, three services, every member of staff
with a webhook pointing at the run's receiver; SLAs long enough that nothing escalates."""

from __future__ import annotations

from typing import Any

LONG_SLA = {"acknowledge": "P30D", "resolve": "P90D", "calendar": "natural"}
STAFF = [f"S{i}" for i in range(1, 9)]
ROLES = {"fire-safety": "safety", "elevator": "safety", "talent": "enterprise_service"}
BUILDINGS: dict[str, dict[str, Any]] = {
    "B1": {"grid_node": "park", "heads": ["S4"], "team": {"safety": "S5", "enterprise_service": "S6"}},
    # 双楼长 and no team: both heads are assigned.
    "B2": {"grid_node": "cbd", "heads": ["S7", "S8"], "team": {}},
    "B3": {"grid_node": "park", "heads": ["S4"], "team": {"safety": "S8"}},
}
# What the load submits, in turn: every building with every service.
KINDS = [(building, service) for building in BUILDINGS for service in ROLES]


def webhook_secret(staff_id: str) -> str:
    return f"chaos-{staff_id}"


def directory(receiver_url: str) -> dict[str, Any]:
    return {
        "roles": [{"code": "safety", "name": "安全保障员"}, {"code": "enterprise_service", "name": "企业服务员"}],
        "staff": [
            {
                "id": s,
                "name": f"混沌{s}",
                "phone": f"1380000{i:04}",
                "channels": [{"type": "webhook", "url": f"{receiver_url}/hook/{s}", "secret": webhook_secret(s)}],
            }
            for i, s in enumerate(STAFF, 1)
        ],
        "grid": {
            "id": "town",
            "name": "混沌镇",
            "heads": ["S1"],
            "children": [
                {"id": "park", "name": "混沌园区", "heads": ["S2"], "children": []},
                {"id": "cbd", "name": "混沌商务区", "heads": ["S3"], "children": []},
            ],
        },
        "buildings": [{"id": b, "name": f"混沌{b}号楼", **spec} for b, spec in BUILDINGS.items()],
        "services": [
            {"code": code, "name": f"混沌事项 {code}", "role": role, "urgent": False, "sla": LONG_SLA}
            for code, role in ROLES.items()
        ],
    }


def assignees(building_id: str, service_code: str) -> set[str]:
    """Who `issue.assigned` names (contract: Dispatch, rule 1; no service is urgent)."""
    spec = BUILDINGS[building_id]
    member = spec["team"].get(ROLES[service_code])
    return {member} if member else set(spec["heads"])
