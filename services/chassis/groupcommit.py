"""Group commit: requests that arrive while a transaction is in flight share the next one.

Under load this turns N transactions (each a few round trips and a majority commit)
into one; alone, a request commits at once, as before. A batch that fails for a
reason other than an outage is committed again one item at a time, so that one bad
item never fails the others (and is counted: a batch that always splits is a bug).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Counter
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.outage import is_outage

log = logging.getLogger(__name__)

BATCHES = Counter(
    "louzhang_group_commit_batches_total",
    "Group-commit batches by outcome: committed, split (committed again one by one), failed (an outage, or one item)",
    ["name", "outcome"],
)

T = TypeVar("T")
Transaction = Callable[[Callable[[AsyncClientSession], Awaitable[None]]], Awaitable[None]]
Write = Callable[[Sequence[T], AsyncClientSession], Awaitable[None]]
Before = Callable[[Sequence[T]], Awaitable[None]]


class GroupCommit(Generic[T]):
    """`write(items, session)` runs in the batch's transaction; `before(items)`, when given, runs
    just before it, outside the transaction (reads that need not hold it open, or that MongoDB
    does not allow in a transaction)."""

    def __init__(
        self,
        name: str,
        transaction: Transaction,
        write: Write[T],
        *,
        before: Before[T] | None = None,
        max_batch: int = 64,
    ) -> None:
        self.name = name
        self._transaction = transaction
        self._write = write
        self._before = before
        self.max_batch = max_batch
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def commit(self, item: T) -> None:
        """Return once `item` is committed (in some batch); raise what its commit raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        await future

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            try:
                await self._commit([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 (handed to the waiting requests)
                if len(batch) == 1 or is_outage(exc):
                    BATCHES.labels(self.name, "failed").inc()
                    for _, future in batch:
                        _settle(future, exc)
                    continue
                BATCHES.labels(self.name, "split").inc()
                log.warning("a %s batch of %d failed (%r); committing them one by one", self.name, len(batch), exc)
                for item, future in batch:
                    try:
                        await self._commit([item])
                    except Exception as alone:  # noqa: BLE001 (handed to its request)
                        _settle(future, alone)
                    else:
                        _settle(future, None)
                continue
            BATCHES.labels(self.name, "committed").inc()
            for _, future in batch:
                _settle(future, None)

    async def _commit(self, items: Sequence[T]) -> None:
        if self._before is not None:
            await self._before(items)

        async def work(session: AsyncClientSession) -> None:
            await self._write(items, session)

        await self._transaction(work)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
