"""The whole RabbitMQ topology, declared by every service at every start.

Every service declares every queue (not only its own) so that an event
published before its consumer first started is never unroutable.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.events import WORK_ORDER_EVENTS

EXCHANGE = "louzhang.events"
DEAD_EXCHANGE = "louzhang.dead"
# RabbitMQ 3.10 sets no delivery limit of its own; 4.x defaults to 20.
DELIVERY_LIMIT = 20


@dataclass(frozen=True)
class Queue:
    service: str
    name: str
    bindings: tuple[str, ...]

    @property
    def queue(self) -> str:
        return f"louzhang.{self.service}.{self.name}"

    @property
    def dead_queue(self) -> str:
        return f"{self.queue}.dead"


QUEUES: tuple[Queue, ...] = (
    Queue("intake", "directory", ("directory.updated",)),
    Queue("intake", "workorders", WORK_ORDER_EVENTS),
    Queue("intake", "enterprises", ("enterprise.updated",)),
    Queue("routing", "issues", ("issue.submitted", "issue.feedback")),
    Queue("notify", "directory", ("directory.updated", "directory.contacts.updated")),
    Queue("notify", "workorders", WORK_ORDER_EVENTS),
    Queue("reporting", "directory", ("directory.updated",)),
    Queue("reporting", "issues", ("issue.submitted", "issue.feedback", *WORK_ORDER_EVENTS)),
    Queue("reporting", "notifications", ("notification.sent", "notification.failed")),
    Queue("reporting", "visits", ("enterprise.updated", "visit.recorded")),
    Queue("routing", "tokens", ("token.seen",)),
    Queue("notify", "signin", ("signin.link",)),
    *(Queue(service, "revocations", ("token.revoked",)) for service in ("intake", "routing", "notify", "reporting")),
)

PUBLISHES: dict[str, tuple[str, ...]] = {
    "intake": ("issue.submitted", "issue.feedback", "visit.recorded", "token.seen"),
    "routing": (
        *WORK_ORDER_EVENTS,
        "directory.updated",
        "directory.contacts.updated",
        "enterprise.updated",
        "token.seen",
        "token.revoked",
    ),
    "notify": ("notification.sent", "notification.failed", "token.seen"),
    "reporting": ("token.seen", "signin.link"),
}


def queue(service: str, name: str) -> Queue:
    for q in QUEUES:
        if (q.service, q.name) == (service, name):
            return q
    raise KeyError(f"no queue {service}.{name} in the topology")
