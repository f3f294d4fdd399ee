"""Who is responsible for an issue, and who comes next when nobody acknowledges it.

Pure functions over the directory (contract: Dispatch, escalation and SLA, rules 1-3).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.directory import Building, DirectoryIndex, Service


def assignees(building: Building, service: Service) -> list[str]:
    """Rule 1: the team member holding the service's role, else the building's heads."""
    member = building.team.get(service.role)
    return [member] if member else list(dict.fromkeys(building.heads))


def escalation_chain(index: DirectoryIndex, building: Building, first: list[str]) -> list[list[str]]:
    """Rule 2: assignees, the building's heads, the heads of its grid node and of each
    ancestor up to the root; a level equal to the one before it is dropped."""
    node = index.nodes[building.grid_node]
    levels = [first, building.heads, node.heads, *(n.heads for n in reversed(index.ancestors[node.id]))]
    chain: list[list[str]] = []
    for level in levels:
        members = list(dict.fromkeys(level))
        if not members or (chain and set(chain[-1]) == set(members)):
            continue
        chain.append(members)
    return chain


def level_name(index: DirectoryIndex, building: Building, chain: list[list[str]], level: int) -> str:
    """A chain level named by the grid, as people say it: the officer's role, 点楼长 (the building's
    heads), 分楼长 (a grid node's heads) or 总楼长 (the root's), with the building or node."""
    if not 0 <= level < len(chain):
        return f"第{level + 1}层"
    node = index.nodes[building.grid_node]
    root = index.directory.grid.id
    named: list[tuple[list[str], str]] = [
        (building.heads, f"点楼长（{building.name}）"),
        *(
            (n.heads, f"{'总楼长' if n.id == root else '分楼长'}（{n.name}）")
            for n in [node, *reversed(index.ancestors[node.id])]
        ),
    ]
    members = set(chain[level])
    if level == 0:
        role = next((r for r, m in building.team.items() if {m} == members), None)
        if role is not None:
            return _role(index, role)
    for heads, name in named:
        if set(heads) == members:
            return name
    return f"第{level + 1}层"


def _role(index: DirectoryIndex, code: str) -> str:
    return next((r.name for r in index.directory.roles if r.code == code), code)


@dataclass(frozen=True)
class Dispatch:
    chain: list[list[str]]
    level: int
    notify: list[str]

    @property
    def assignees(self) -> list[str]:
        return self.chain[0]


def dispatch(index: DirectoryIndex, building: Building, service: Service, staff_id: str | None = None) -> Dispatch:
    """Rule 3: level 0 is notified at once; an urgent service reaches level 1 too and starts there.

    `staff_id` names the assignee directly (a transfer to a person) instead of rule 1."""
    first = [staff_id] if staff_id else assignees(building, service)
    chain = escalation_chain(index, building, first)
    level = 1 if service.urgent and len(chain) > 1 else 0
    notify = list(dict.fromkeys(member for lvl in chain[: level + 1] for member in lvl))
    return Dispatch(chain=chain, level=level, notify=notify)


def escalate(chain: list[list[str]], level: int, notified: list[str]) -> tuple[int, list[str]] | None:
    """Rule 4: one level up and the members of it not notified before; None at the top."""
    if level + 1 >= len(chain):
        return None
    new_level = level + 1
    return new_level, [m for m in chain[new_level] if m not in notified]


def supervisors(index: DirectoryIndex, building: Building) -> list[str]:
    """Rule 5 (督办): the heads of the building's grid node, or of its nearest ancestor with heads."""
    node = index.nodes[building.grid_node]
    for candidate in (node, *reversed(index.ancestors[node.id])):
        if candidate.heads:
            return list(dict.fromkeys(candidate.heads))
    return []


def responsible_heads(index: DirectoryIndex, building: Building) -> set[str]:
    """Heads in scope of a work order: the building's heads and the heads of its grid node and ancestors."""
    node = index.nodes.get(building.grid_node)
    heads = set(building.heads)
    if node is not None:
        for n in (node, *index.ancestors[node.id]):
            heads |= set(n.heads)
    return heads
