"""What every service runs on: the database, the bus, the outbox relay, tokens.

A service subclasses `Runtime` once (its composition root) and hands it to
`chassis.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from chassis import topology, urls
from chassis.auth import Tokens
from chassis.bus import BatchHandler, Bus, Handler
from chassis.outage import is_outage
from chassis.outbox import OutboxRelay
from chassis.ratelimit import Budget
from chassis.revocations import Revocations, report_sightings
from chassis.settings import ServiceSettings
from chassis.store import Store

log = logging.getLogger(__name__)


def outbound_guard(settings: ServiceSettings) -> urls.OutboundGuard:
    """The guard on user-given outgoing URLs, from `LOUZHANG_OUTBOUND_ALLOW` and the ports in use."""
    try:
        allow = urls.parse_allow(settings.outbound_allow)
    except ValueError as exc:
        raise SystemExit(f"{exc}: refusing to start") from exc
    ports = [settings.port(name) for name in ("intake", "routing", "notify", "reporting")]
    return urls.OutboundGuard(allow, urls.own_ports(ports, [settings.mongo_url, settings.amqp_url]))


class Runtime:
    name: str = "service"

    def __init__(self, settings: ServiceSettings) -> None:
        admin_token, jwt_secret = settings.require_secrets()
        self.settings = settings
        self.outbound = outbound_guard(settings)
        self.tokens = Tokens(admin_token, jwt_secret, admins=self.named_admin)
        self.store = Store(settings.mongo_url, settings.mongo_db, self.name, timeout_s=settings.mongo_timeout_s)
        self.revocations = Revocations(self.store, self.tokens)
        self.budget = Budget(settings.rate_limit_per_min, self.store.col("rate_windows"))
        self.bus = Bus(settings.amqp_url, prefetch=settings.prefetch)
        self.relay = OutboxRelay(self.store, self.bus)
        self.started = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- hooks for the service -------------------------------------------

    async def setup(self) -> None:
        """Create the service's indexes and load what it keeps in memory."""

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return ()

    def batch_handlers(self) -> dict[str, BatchHandler]:
        """Queues whose events the service applies many at a time (by queue name)."""
        return {}

    async def on_started(self) -> None:
        """Runs once the database, the bus and the consumers are up."""

    def holds_directory(self) -> bool:
        return True

    def named_admin(self, staff_id: str) -> bool:
        """Whether the directory version this service holds makes `staff_id` an admin
        (`staff[].admin`): their staff tokens then act with admin rights."""
        return False

    # ---- life cycle ------------------------------------------------------

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._start(), name=f"{self.name}-start"))

    async def _start(self) -> None:
        await self._until_done(self._connect, "connecting")
        revoked = (topology.queue(self.name, "revocations"), self.revocations.apply)
        for queue, handler in [*self.consumers(), revoked]:
            await self.bus.consume(queue, handler, self.batch_handlers().get(queue.queue))
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox"))
        self.spawn(self.revocations.follow(), f"{self.name}-revocations")
        if self.budget.per_minute:
            self.spawn(self.budget.run(), f"{self.name}-rate-limit")
        self.spawn(report_sightings(self.store, self.tokens, self.name), f"{self.name}-token-sightings")
        await self._until_done(self.on_started, "starting")
        self.started.set()
        log.info("%s started", self.name)

    async def _connect(self) -> None:
        if not await self.store.ping():
            raise ConnectionError(f"MongoDB does not answer at {self.settings.mongo_url}")
        await self.store.ensure_indexes()
        await self.revocations.refresh()
        await self.budget.ensure_indexes()
        await self.setup()
        if not self.bus.connected:
            await self.bus.connect()

    async def _until_done(self, step: Callable[[], Awaitable[None]], what: str) -> None:
        """Retry a start-up step until it succeeds: the service stays up (not ready) meanwhile."""
        pause = 0.5
        while True:
            try:
                await step()
                return
            except Exception as exc:
                if is_outage(exc):
                    log.warning("%s %s: waiting for its dependencies: %s", self.name, what, exc)
                else:
                    log.exception("%s %s failed; trying again", self.name, what)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bus.close()
        await self.store.close()

    async def ready(self) -> dict[str, bool]:
        return {
            "started": self.started.is_set(),
            "database": await self.store.ping(),
            "broker": self.bus.connected,
            "directory": self.holds_directory(),
        }

    async def notes(self, ready: bool) -> dict[str, str]:
        """Checks that /readyz reports without ever making the service unready (routing's calendar);
        `ready` says whether the others passed (when not, a note should not wait on the database)."""
        return {}

    def spawn(self, loop: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background loop for the life of the service."""
        self._tasks.append(asyncio.create_task(loop, name=name))
