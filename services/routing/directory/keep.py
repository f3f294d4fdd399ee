"""A new directory version beside the current one, as pure functions: channels kept, changes listed.

`PUT /v1/directory?channels=keep` gives every staff member whom the new document gives no channels
the channels that member (same id) has in the current version. `?dry_run=1` answers `changes()`.
"""

from __future__ import annotations

from typing import Any

from kernel.directory import Directory

Change = dict[str, Any]


def keep_channels(current: Directory | None, new: Directory) -> tuple[Directory, list[str]]:
    """`new` with the current channels of each staff member it gives none (by staff id), and the ids
    of those whose channels were kept. Staff the new document gives channels keep theirs as given;
    staff not in the current version have nothing to keep."""
    if current is None:
        return new, []
    before = {member.id: member.channels for member in current.staff}
    merged = new.model_copy(deep=True)
    kept: list[str] = []
    for member in merged.staff:
        channels = before.get(member.id)
        if not member.channels and channels:
            member.channels = [channel.model_copy(deep=True) for channel in channels]
            kept.append(member.id)
    return merged, kept


def posts(doc: Directory) -> dict[str, list[str]]:
    """Each staff id → where they serve, sorted: `grid node town: head`, `building B1: head`,
    `building B1: safety` (the role code of the building's team)."""
    out: dict[str, set[str]] = {}
    for node, _ in doc.nodes():
        for head in node.heads:
            out.setdefault(head, set()).add(f"grid node {node.id}: head")
    for building in doc.buildings:
        for head in building.heads:
            out.setdefault(head, set()).add(f"building {building.id}: head")
        for role, member in building.team.items():
            out.setdefault(member, set()).add(f"building {building.id}: {role}")
    return {staff_id: sorted(places) for staff_id, places in out.items()}


def _parents(doc: Directory) -> dict[str, str | None]:
    return {node.id: (ancestors[-1].id if ancestors else None) for node, ancestors in doc.nodes()}


def _names(doc: Directory | None, part: str, key: str) -> dict[str, str]:
    if doc is None:
        return {}
    if part == "grid":
        return {node.id: node.name for node, _ in doc.nodes()}
    return {getattr(item, key): item.name for item in getattr(doc, part)}


def changes(current: Directory | None, new: Directory) -> dict[str, list[Change]]:
    """What `new` changes against `current`, as `{"added": [...], "removed": [...], "moved": [...]}`.

    Added and removed: staff, buildings, grid nodes and services, each `{"kind", "id", "name"}`.
    Moved: a building whose grid node changed (`"field": "grid_node"`), a grid node whose parent
    changed (`"field": "parent"`), and a staff member whose posts changed (`"field": "posts"`: the
    grid nodes they head, the buildings they head or serve in a role, see `posts()`) or whose admin
    flag changed (`"field": "admin"`), each with `"from"` and `"to"`. Renames and contact changes
    are not moves.
    """
    added: list[Change] = []
    removed: list[Change] = []
    moved: list[Change] = []

    def compare(kind: str, before: dict[str, str], after: dict[str, str]) -> None:
        added.extend({"kind": kind, "id": i, "name": after[i]} for i in after if i not in before)
        removed.extend({"kind": kind, "id": i, "name": before[i]} for i in before if i not in after)

    compare("staff", _names(current, "staff", "id"), _names(new, "staff", "id"))
    compare("grid_node", _names(current, "grid", "id"), _names(new, "grid", "id"))
    compare("building", _names(current, "buildings", "id"), _names(new, "buildings", "id"))
    compare("service", _names(current, "services", "code"), _names(new, "services", "code"))
    if current is None:
        return {"added": added, "removed": removed, "moved": moved}
    old = current

    def move(kind: str, ident: str, name: str, field: str, before: Any, after: Any) -> None:
        if before != after:
            moved.append({"kind": kind, "id": ident, "name": name, "field": field, "from": before, "to": after})

    old_staff = {s.id: s for s in old.staff}
    old_posts, new_posts = posts(old), posts(new)
    for member in new.staff:
        if member.id in old_staff:
            move("staff", member.id, member.name, "posts", old_posts.get(member.id, []), new_posts.get(member.id, []))
            move("staff", member.id, member.name, "admin", old_staff[member.id].admin, member.admin)
    old_parents, new_parents = _parents(old), _parents(new)
    for node, _ in new.nodes():
        if node.id in old_parents:
            move("grid_node", node.id, node.name, "parent", old_parents[node.id], new_parents[node.id])
    old_buildings = {b.id: b for b in old.buildings}
    for building in new.buildings:
        if building.id in old_buildings:
            before = old_buildings[building.id].grid_node
            move("building", building.id, building.name, "grid_node", before, building.grid_node)
    return {"added": added, "removed": removed, "moved": moved}
