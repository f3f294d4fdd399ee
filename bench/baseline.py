"""The naive intake the bench measures Louzhang against (issue 9): one process, and per request
validate the body (pydantic), `insert_one` (w:majority, as the services write), then publish the
event persistently to a quorum queue and wait for the broker's confirm. No outbox, no
transaction, no auth, no duplicate check: the floor a plain design stands on.

Run by the bench as `python -m bench.baseline` (uvicorn, uvloop, httptools, one worker, like
`louzhang serve`), configured by BENCH_MONGO_URL, BENCH_MONGO_DB, BENCH_AMQP_URL, BENCH_PORT.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import aio_pika
from aio_pika.abc import AbstractExchange
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, StringConstraints
from pymongo import AsyncMongoClient
from pymongo.write_concern import WriteConcern

QUEUE = "bench.baseline"

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: ShortText
    service_code: ShortText
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "api"


def create_app() -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["BENCH_MONGO_URL"], tz_aware=True)
        db = client.get_database(os.environ["BENCH_MONGO_DB"], write_concern=WriteConcern("majority"))
        connection = await aio_pika.connect_robust(os.environ["BENCH_AMQP_URL"])
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(QUEUE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, routing_key="#")
        state.update(issues=db["baseline_issues"], exchange=exchange)
        try:
            yield
        finally:
            await queue.delete(if_unused=False, if_empty=False)
            await connection.close()
            await client.close()

    app = FastAPI(title="naive intake (bench baseline)", lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/issues", status_code=201)
    async def submit(body: IssueIn) -> dict[str, Any]:
        now = datetime.now(UTC)
        doc = {**body.model_dump(), "status": "received", "created_at": now}
        await state["issues"].insert_one(doc)
        issue_id = str(doc["_id"])
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "baseline",
            "type": "louzhang.issue.submitted.v1",
            "time": now.isoformat(),
            "subject": issue_id,
            "data": {**body.model_dump(), "id": issue_id, "created_at": now.isoformat()},
        }
        exchange: AbstractExchange = state["exchange"]
        message = aio_pika.Message(json.dumps(event).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await exchange.publish(message, routing_key="issue.submitted")  # returns once the broker confirms
        return {"id": issue_id, **body.model_dump(), "status": "received", "created_at": now}

    return app


def main() -> None:
    import uvicorn

    uvicorn.run(
        "bench.baseline:create_app",
        factory=True,
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
