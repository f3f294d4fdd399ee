"""Shared builders for the unit tests: one small valid directory document.

Grid: root (S1) → mid (S2) → leaf (S3), and root → side (S8).
B1 at leaf is a 双楼长 building (S4, S5) with a safety member S6; B2 sits on the root;
B3 at side; B4 at mid. S1 carries one channel of every kind.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from kernel.directory import Directory, DirectoryIndex
from kernel.events import IssueSubmitted, StaffRef, Submitter, WorkOrderChanged

SLA = {"acknowledge": "PT30M", "resolve": "PT24H", "calendar": "natural"}

DOC: dict[str, Any] = {
    "roles": [{"code": "safety", "name": "安全保障员"}, {"code": "enterprise_service", "name": "企业服务员"}],
    "staff": [
        {
            "id": "S1",
            "name": "总楼长",
            "phone": "13800000001",
            "channels": [
                {"type": "webhook", "url": "http://hook.example.org/x", "secret": "hook-secret"},
                {"type": "wecom", "key": "wecom-key"},
                {"type": "dingtalk", "access_token": "ding-token", "secret": "SECding"},
                {"type": "email"},
            ],
        },
        *({"id": f"S{i}", "name": f"员工{i}"} for i in range(2, 10)),
    ],
    "grid": {
        "id": "root",
        "name": "长征镇",
        "heads": ["S1"],
        "children": [
            {
                "id": "mid",
                "name": "分网格",
                "heads": ["S2"],
                "children": [{"id": "leaf", "name": "天地软件园", "heads": ["S3"], "children": []}],
            },
            {"id": "side", "name": "星云经济区", "heads": ["S8"], "children": []},
        ],
    },
    "buildings": [
        {"id": "B1", "name": "电科大厦", "grid_node": "leaf", "heads": ["S4", "S5"], "team": {"safety": "S6"}},
        {"id": "B2", "name": "春之声大厦", "grid_node": "root", "heads": ["S7"]},
        {"id": "B3", "name": "港鸿大厦", "grid_node": "side", "heads": ["S9"], "team": {"enterprise_service": "S6"}},
        {"id": "B4", "name": "天汇广场", "grid_node": "mid", "heads": ["S4"]},
    ],
    "services": [
        {"code": "fire-safety", "name": "消防安全隐患", "role": "safety", "urgent": True, "sla": SLA},
        {"code": "talent", "name": "人才服务", "role": "enterprise_service", "sla": SLA},
    ],
}


@pytest.fixture
def doc() -> dict[str, Any]:
    """A fresh, mutable copy of the valid document."""
    return copy.deepcopy(DOC)


@pytest.fixture
def directory(doc: dict[str, Any]) -> Directory:
    return Directory.model_validate(doc)


@pytest.fixture
def index(directory: Directory) -> DirectoryIndex:
    return DirectoryIndex(directory)


NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def issue_submitted() -> IssueSubmitted:
    return IssueSubmitted(
        id="I1",
        building_id="B1",
        service_code="fire-safety",
        title="消防通道堆物",
        description="三楼消防通道被杂物堵塞",
        created_at=NOW,
        submitted_by=Submitter(kind="system", subject="hotline"),
    )


@pytest.fixture
def work_order() -> WorkOrderChanged:
    """B1's fire-safety issue after dispatch: level 1, deadlines in UTC."""
    return WorkOrderChanged(
        issue_id="I1",
        seq=1,
        status="assigned",
        title="消防通道堆物",
        building_id="B1",
        service_code="fire-safety",
        grid_node="leaf",
        assignees=[StaffRef(id="S6", name="员工6")],
        escalation_level=1,
        acknowledge_due=datetime(2026, 11, 20, 2, 30, tzinfo=UTC),  # 10:30 in Shanghai
        resolve_due=datetime(2026, 11, 20, 17, 5, tzinfo=UTC),  # 01:05 the next day in Shanghai
        time=NOW,
    )
