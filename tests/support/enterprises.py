"""Enterprises held by intake, put there as routing would (an `enterprise.updated` event on the broker)."""

from __future__ import annotations

import asyncio
import uuid

from kernel.enterprises import Enterprise
from kernel.events import EnterpriseUpdated, new_event
from tests.support.api import Api
from tests.support.broker import publish_raw
from tests.support.servers import eventually
from tests.support.uscc import new_uscc


def publish(api: Api, enterprise: Enterprise, version: int) -> str:
    """Publish `enterprise.updated` to the broker as routing would; returns the event id."""
    event = new_event(
        "enterprise.updated",
        source="test",
        subject=enterprise.id,
        data=EnterpriseUpdated(version=version, enterprise=enterprise),
    )
    asyncio.run(publish_raw(api.stack.amqp_url, "enterprise.updated", event.model_dump_json().encode(), event.id))
    return event.id


def put_enterprise(api: Api, building_id: str, *, enterprise_id: str | None = None, version: int = 1) -> str:
    """An enterprise in the building, held by intake (waits until intake stores this event)."""
    enterprise_id = enterprise_id or f"E-{uuid.uuid4().hex[:10]}"
    enterprise = Enterprise(
        id=enterprise_id, name=f"测试企业 {enterprise_id}", building_id=building_id, uscc=new_uscc()
    )
    event_id = publish(api, enterprise, version)
    held = api.stack.database()["intake_enterprises"]
    eventually(
        lambda: held.find_one({"_id": enterprise_id, "event_id": event_id}), what=f"intake holds {enterprise_id}"
    )
    return enterprise_id
