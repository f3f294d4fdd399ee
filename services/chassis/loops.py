"""The background loops of the services (outbox relay, timers, deliveries) share one shape."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from chassis.outage import is_outage

log = logging.getLogger(__name__)


async def run_forever(
    step: Callable[[], Awaitable[int]], *, name: str, idle_s: float, wake: asyncio.Event | None = None
) -> None:
    """Call `step` for ever: again at once while it finds work (returns > 0); after `idle_s`,
    or as soon as `wake` is set, when it finds none; through an outage with a growing pause."""
    pause = 0.2
    while True:
        try:
            done = await step()
            pause = 0.2
        except Exception as exc:
            if is_outage(exc):
                log.warning("%s waiting for an outage to end: %s", name, exc)
            else:
                log.exception("%s failed; trying again", name)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
            continue
        if done:
            continue
        if wake is None:
            await asyncio.sleep(idle_s)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), idle_s)
        wake.clear()
