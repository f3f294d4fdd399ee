"""Dump a MongoDB database to a folder and restore it, with PyMongo only (no mongodump needed).

The folder has mongodump's layout: per collection `<name>.bson` (the documents, each `bson.encode`d,
one after the other) and `<name>.metadata.json` (options and indexes, in canonical Extended JSON),
and a `manifest.json` with the counts. GridFS buckets (`<bucket>.files`, `<bucket>.chunks`) are plain
collections and are dumped like any other; `system.*` collections and views are not.

On a replica set the dump reads every collection in one snapshot session, so it is one point in time
even while the services write (MongoDB keeps snapshot history for `minSnapshotHistoryWindowInSeconds`,
300 s by default: a dump that takes longer fails rather than mixes times).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import bson
from bson import json_util
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConfigurationError, OperationFailure

MANIFEST = "manifest.json"
BATCH = 1000
# Index options that describe an index rather than build it (listIndexes adds them).
_NOT_INDEX_OPTIONS = {"v", "key", "ns"}


@dataclass
class Result:
    database: str
    counts: dict[str, int] = field(default_factory=dict)
    indexes: int = 0
    seconds: float = 0.0
    snapshot: bool = False


class BackupError(Exception):
    pass


def _collections(db: Database[Any]) -> list[dict[str, Any]]:
    infos = [dict(i) for i in db.list_collections(filter={"type": "collection"})]
    return sorted((i for i in infos if not i["name"].startswith("system.")), key=lambda i: i["name"])


def dump(client: MongoClient[Any], database: str, folder: Path) -> Result:
    """Write every collection of `database` to `folder` (created; must be empty if it exists)."""
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: dump into a new folder")
    db = client[database]
    result = Result(database)
    try:
        session = client.start_session(snapshot=True)
        result.snapshot = True
    except ConfigurationError:  # a standalone server has no snapshot reads
        session = client.start_session()
    with session:
        for info in _collections(db):
            name = info["name"]
            collection = db[name]
            count = 0
            with (folder / f"{name}.bson").open("wb") as out:
                for doc in collection.find({}, session=session, batch_size=BATCH).sort("_id", 1):
                    out.write(bson.encode(doc))
                    count += 1
            indexes = list(collection.list_indexes())  # listIndexes takes no snapshot read concern
            metadata = {
                "collectionName": name,
                "options": info.get("options", {}),
                "indexes": [dict(index) for index in indexes],
            }
            (folder / f"{name}.metadata.json").write_text(
                json_util.dumps(metadata, json_options=json_util.CANONICAL_JSON_OPTIONS), encoding="utf-8"
            )
            result.counts[name] = count
            result.indexes += len(indexes)
    result.seconds = time.monotonic() - started
    manifest = {"database": database, "snapshot": result.snapshot, "counts": result.counts}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def read_documents(stream: BinaryIO) -> Iterator[dict[str, Any]]:
    """The documents of a `.bson` file, one by one (each starts with its int32 length)."""
    while True:
        head = stream.read(4)
        if not head:
            return
        if len(head) < 4:
            raise BackupError(f"{stream.name}: truncated document length")
        size = int.from_bytes(head, "little")
        body = stream.read(size - 4)
        if len(body) != size - 4:
            raise BackupError(f"{stream.name}: truncated document")
        yield bson.decode(head + body)


def restore(client: MongoClient[Any], database: str, folder: Path, *, drop: bool = False) -> Result:
    """Load a dump into `database`: the collections with their options, documents and indexes. A collection
    that exists already stops the restore unless `drop` (then it is dropped first)."""
    started = time.monotonic()
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: not a dump")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    db = client[database]
    names = sorted(manifest["counts"])
    present = set(db.list_collection_names()) & set(names)
    if present and not drop:
        raise BackupError(f"{database} has collections already: {', '.join(sorted(present))} (use --drop)")
    result = Result(database)
    for name in names:
        metadata = json_util.loads((folder / f"{name}.metadata.json").read_text(encoding="utf-8"))
        if drop:
            db.drop_collection(name)
        db.create_collection(name, **metadata.get("options", {}))
        collection = db[name]
        count = 0
        with (folder / f"{name}.bson").open("rb") as stream:
            batch: list[dict[str, Any]] = []
            for doc in read_documents(stream):
                batch.append(doc)
                if len(batch) >= BATCH:
                    collection.insert_many(batch, ordered=True)
                    count += len(batch)
                    batch = []
            if batch:
                collection.insert_many(batch, ordered=True)
                count += len(batch)
        if count != manifest["counts"][name]:
            raise BackupError(f"{name}: {count} documents in the dump, the manifest says {manifest['counts'][name]}")
        for index in metadata.get("indexes", []):
            if index["name"] == "_id_":
                continue
            options = {k: v for k, v in index.items() if k not in _NOT_INDEX_OPTIONS}
            try:
                collection.create_index(list(index["key"].items()), **options)
            except OperationFailure as exc:
                raise BackupError(f"{name}: index {index['name']}: {exc}") from exc
            result.indexes += 1
        result.indexes += 1  # _id_
        result.counts[name] = count
    result.seconds = time.monotonic() - started
    return result
