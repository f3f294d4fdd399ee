"""The AsyncAPI document of a service, generated from the topology and the event schemas."""

from __future__ import annotations

from typing import Any

from chassis import topology
from kernel.events import SCHEMAS, Event, type_of


def document(service: str) -> dict[str, Any]:
    consumed = sorted({key for q in topology.QUEUES if q.service == service for key in q.bindings})
    published = sorted(topology.PUBLISHES.get(service, ()))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name in sorted({*consumed, *published}):
        message_id = name.replace(".", "_")
        schema = SCHEMAS[name].model_json_schema(ref_template="#/components/schemas/{model}")
        messages[message_id] = {
            "name": type_of(name),
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    Event.model_json_schema(),
                    {"type": "object", "properties": {"type": {"const": type_of(name)}, "data": schema}},
                ]
            },
        }
        channels[message_id] = {
            "address": name,
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": topology.EXCHANGE, "type": "topic"}}},
        }
        if name in published:
            operations[f"publish_{message_id}"] = {"action": "send", "channel": {"$ref": f"#/channels/{message_id}"}}
        if name in consumed:
            operations[f"consume_{message_id}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{message_id}"},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"louzhang {service}", "version": "1.0"},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
