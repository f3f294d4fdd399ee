"""Who is responsible for an issue, and who comes next when nobody acknowledges it.

Pure functions over the directory (contract: Dispatch, escalation and SLA, rules 1-3).
"""

from __future__ import annotations

from dataclasses import dataclass

from louzhang.directory import Building, DirectoryIndex, Service


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


@dataclass(frozen=True)
class Dispatch:
    chain: list[list[str]]
    level: int
    notify: list[str]

    @property
    def assignees(self) -> list[str]:
        return self.chain[0]


def dispatch(index: DirectoryIndex, building: Building, service: Service) -> Dispatch:
    """Rule 3: level 0 is notified at once; an urgent service reaches level 1 too and starts there."""
    chain = escalation_chain(index, building, assignees(building, service))
    level = 1 if service.urgent and len(chain) > 1 else 0
    notify = list(dict.fromkeys(member for lvl in chain[: level + 1] for member in lvl))
    return Dispatch(chain=chain, level=level, notify=notify)
