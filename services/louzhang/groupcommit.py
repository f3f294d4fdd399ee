"""Group commit: requests that arrive while a transaction is in flight share the next one.

Under load this turns N transactions (each a few round trips and a majority commit)
into one; alone, a request commits at once, as before. A batch that fails for a
reason other than an outage is committed again one item at a time, so that one bad
item never fails the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from louzhang.outage import is_outage

T = TypeVar("T")
Transaction = Callable[[Callable[[AsyncClientSession], Awaitable[None]]], Awaitable[None]]
Write = Callable[[Sequence[T], AsyncClientSession], Awaitable[None]]


class GroupCommit(Generic[T]):
    def __init__(self, transaction: Transaction, write: Write[T], *, max_batch: int = 64) -> None:
        self._transaction = transaction
        self._write = write
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
                    for _, future in batch:
                        _settle(future, exc)
                    continue
                for item, future in batch:
                    try:
                        await self._commit([item])
                    except Exception as alone:  # noqa: BLE001 (handed to its request)
                        _settle(future, alone)
                    else:
                        _settle(future, None)
                continue
            for _, future in batch:
                _settle(future, None)

    async def _commit(self, items: Sequence[T]) -> None:
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
