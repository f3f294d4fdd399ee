"""A small directory for the tests: two towns, a 双楼长 building, an urgent service."""

from __future__ import annotations

from typing import Any

# Where the stand-ins for webhooks and robots listen (tests/support/endpoints.py), set by the
# session fixture before the directory is loaded.
ENDPOINTS = {"url": "http://127.0.0.1:9"}


def receivers_allow() -> str:
    """`LOUZHANG_OUTBOUND_ALLOW` for a stack whose directory is `small_directory()`: its webhooks
    point at the loopback stand-ins, which the outbound guard refuses unless the list names them."""
    return ENDPOINTS["url"].removeprefix("http://")


def small_directory() -> dict[str, Any]:
    hooks = ENDPOINTS["url"]
    staff: list[dict[str, Any]] = [
        {"id": f"S{i:02}", "name": f"测试人员{i:02}", "phone": f"138000000{i:02}", "email": f"s{i:02}@example.org"}
        for i in range(1, 13)
    ]
    staff[0]["channels"] = [{"type": "webhook", "url": f"{hooks}/hook/S01", "secret": "hush"}]
    # The urgent services' officer hears on every channel; the head of B1's webhook always fails.
    staff[4].update(
        email="s05@example.org",
        channels=[
            {"type": "webhook", "url": f"{hooks}/hook/S05", "secret": "s05-secret"},
            {"type": "wecom", "key": "wecom-S05"},
            {"type": "dingtalk", "access_token": "ding-S05", "secret": "SECs05"},
            {"type": "email"},
        ],
    )
    staff[3]["channels"] = [{"type": "webhook", "url": f"{hooks}/fail/S04", "secret": "s04-secret"}]
    # The park's head hears of 督办 on a WeCom group robot.
    staff[1]["channels"] = [{"type": "wecom", "key": "wecom-S02"}]
    return {
        "roles": [{"code": "safety", "name": "安全保障员"}, {"code": "enterprise_service", "name": "企业服务员"}],
        "staff": staff,
        "grid": {
            "id": "town",
            "name": "测试镇",
            "heads": ["S01"],
            "children": [
                {"id": "park", "name": "测试园区", "heads": ["S02"], "children": []},
                {"id": "cbd", "name": "商务区", "heads": ["S03"], "children": []},
            ],
        },
        "buildings": [
            {
                "id": "B1",
                "name": "一号楼",
                "grid_node": "park",
                "address": "测试路1号",
                "location": {"lat": 31.2350, "long": 121.4100},
                "heads": ["S04"],
                "team": {"safety": "S05", "enterprise_service": "S06"},
            },
            {
                "id": "B2",
                "name": "二号楼",
                "grid_node": "cbd",
                "location": {"lat": 31.2400, "long": 121.4300},
                "heads": ["S07", "S08"],
                "team": {},
            },
        ],
        "services": [
            {
                "code": "fire-safety",
                "name": "消防安全隐患",
                "role": "safety",
                "urgent": True,
                "sla": {"acknowledge": "PT30M", "resolve": "PT24H", "calendar": "natural"},
            },
            {
                "code": "quick",
                "name": "秒级时限测试事项",
                "role": "safety",
                "sla": {"acknowledge": "PT1S", "resolve": "PT5S", "calendar": "natural"},
            },
            {
                "code": "quick-urgent",
                "name": "秒级紧急测试事项",
                "role": "safety",
                "urgent": True,
                "sla": {"acknowledge": "PT1S", "resolve": "PT1H", "calendar": "natural"},
            },
            {
                "code": "talent",
                "name": "人才公寓申请",
                "role": "enterprise_service",
                "sla": {"acknowledge": "PT4H", "resolve": "P10D", "calendar": "working"},
            },
        ],
    }
