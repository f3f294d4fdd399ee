"""Who may read and act on a work order, and what an action's body may name (contract: Auth,
Work orders). Pure functions over the directory; the one check that needs the database (a
rejection's `duplicate_of` must exist) is the service's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chassis.auth import Principal
from kernel.directory import DirectoryIndex
from routing.workorders import states
from routing.workorders.dispatch import responsible_heads
from routing.workorders.order import WorkOrder


class Forbidden(Exception):
    pass


class Invalid(Exception):
    """A body that names something unknown (422); `loc` names the field."""

    def __init__(self, loc: str, message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc, self.kind = loc, kind


def visible(who: Principal, order: Mapping[str, Any], index: DirectoryIndex) -> bool:
    """Admin, anyone ever notified of the order, and staff whose scope holds its building."""
    if who.is_admin:
        return True
    if who.kind != "staff":
        return False
    return who.subject in order["notified"] or order["building_id"] in index.scope(who.subject)


def check_actor(who: Principal, order: WorkOrder, index: DirectoryIndex, action: states.Action) -> None:
    """Raise Forbidden unless `who` may take `action`: admin, the heads in scope (the building's and
    its grid's), or, for any action but reject, anyone notified of the order."""
    if who.is_admin:
        return
    if who.kind != "staff":
        raise Forbidden(f"{who.kind} tokens cannot act on work orders")
    building = index.buildings.get(order.building_id)
    heads = responsible_heads(index, building) if building else {m for level in order.chain[1:] for m in level}
    if who.subject in heads:
        return
    if action == "reject":
        raise Forbidden("only the heads of the building or its grid may reject a work order")
    if who.subject not in order.notified:
        raise Forbidden("you are neither notified on this work order nor a head in its scope")


def transfer_problem(index: DirectoryIndex, who: Principal, source: str, target: str, staff_id: str | None) -> None:
    """Raise Forbidden or Invalid when `who` may not move an order from building `source` to `target`
    (for `staff_id`). Moving it to another building needs the target within the caller's scope: for a
    head, a grid subtree holding both ends; for an officer, their own buildings. A named person must
    have the target in their scope, and nobody transfers to themselves."""
    if not who.is_admin and target != source and target not in index.scope(who.subject):
        raise Forbidden(f"building {target!r} is outside what you may reach: ask a head whose grid holds both")
    if staff_id is None:
        return
    if staff_id == who.subject:
        raise Invalid("staff_id", "you cannot transfer a work order to yourself", "self_transfer")
    if target not in index.scope(staff_id):
        raise Invalid("staff_id", f"building {target!r} is outside the scope of staff {staff_id!r}", "out_of_scope")


def check_body(
    order: WorkOrder, index: DirectoryIndex, action: states.Action, body: Mapping[str, Any], who: Principal
) -> None:
    """Raise Invalid (or Forbidden, for a transfer out of reach) for a body naming what cannot be."""
    if action == "transfer":
        for loc, known, kind in (
            ("building_id", index.buildings, "building"),
            ("service_code", index.services, "service"),
            ("staff_id", index.staff, "staff id"),
        ):
            if body.get(loc) is not None and body[loc] not in known:
                raise Invalid(loc, f"unknown {kind} {body[loc]!r}", f"unknown_{kind.split()[0]}")
        building_id = body.get("building_id") or order.building_id
        service_code = body.get("service_code") or order.service_code
        if building_id not in index.buildings or service_code not in index.services:
            raise Invalid("building_id", "the work order's building or service is no longer in the directory")
        transfer_problem(index, who, order.building_id, building_id, body.get("staff_id"))
    if action == "reject" and body.get("duplicate_of") == order.id:
        raise Invalid("duplicate_of", "an issue cannot duplicate itself")
