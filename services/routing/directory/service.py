"""Directory versions: store a new version with its events, read the current one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pymongo import DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from chassis.loops import run_forever
from chassis.store import Store
from chassis.urls import OutboundGuard
from kernel.directory import Directory, DirectoryIndex
from kernel.events import DirectoryContactsUpdated, DirectoryUpdated, Event, new_event
from kernel.strict import READ
from kernel.times import utcnow
from routing.directory.keep import Change, changes, keep_channels
from routing.directory.validation import Problem, channel_url_problems, problems

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "putuo.yaml"


def counts(doc: Directory) -> dict[str, int]:
    return {
        "staff": len(doc.staff),
        "grid_nodes": sum(1 for _ in doc.nodes()),
        "buildings": len(doc.buildings),
        "services": len(doc.services),
    }


def directory_events(version: int, doc: Directory) -> list[Event]:
    subject = str(version)
    return [
        new_event(
            "directory.updated",
            source="routing",
            subject=subject,
            data=DirectoryUpdated(version=version, directory=doc.without_channels()),
        ),
        new_event(
            "directory.contacts.updated",
            source="routing",
            subject=subject,
            data=DirectoryContactsUpdated(version=version, staff=doc.staff),
        ),
    ]


class DirectoryMoved(Exception):
    """Another version was stored after the one a document was merged with (`put(after=...)`)."""


class DirectoryProblems(Exception):
    """The document breaks the directory's rules (`validation.problems`), each problem located."""

    def __init__(self, found: list[Problem]) -> None:
        super().__init__(f"{len(found)} problems")
        self.found = found


@dataclass(frozen=True)
class Replacement:
    """What replacing the directory did or, for a dry run (`version` None), would do."""

    current: int | None  # the version the document was compared (and merged) with
    version: int | None
    directory: Directory
    channels_kept: list[str]
    changes: dict[str, list[Change]]


ANY_VERSION = -1
MERGE_ATTEMPTS = 3


async def replace(
    versions: DirectoryVersions,
    guard: OutboundGuard,
    doc: Directory,
    *,
    author: str,
    keep: bool = False,
    dry_run: bool = False,
) -> Replacement:
    """Check `doc` and store it as the next version (unless `dry_run`). With `keep`, staff it gives no
    channels keep those of the current version, and it is stored only over the version it was
    merged with: if another import lands in between, it is merged again with that one, up to
    MERGE_ATTEMPTS times, then DirectoryMoved. Raises DirectoryProblems before storing anything."""
    for _ in range(MERGE_ATTEMPTS):
        current = await versions.current()
        number, before = (None, None) if current is None else (current[0], current[1].directory)
        merged, kept = keep_channels(before, doc) if keep else (doc, [])
        found = problems(merged) + await channel_url_problems(merged, guard)
        if found:
            raise DirectoryProblems(found)
        if dry_run:
            return Replacement(number, None, merged, kept, changes(before, merged))
        try:
            version = await versions.put(merged, author=author, after=number if keep else ANY_VERSION)
        except DirectoryMoved:
            continue
        return Replacement(number, version, merged, kept, {})
    raise DirectoryMoved(f"the directory changed {MERGE_ATTEMPTS} times while this import was merged with it")


class DirectoryVersions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.versions = store.col("directory_versions")
        self.counters = store.col("counters")
        self._cached: tuple[int, DirectoryIndex] | None = None
        # The newest version this replica has seen (stored, or read back): what token checks use.
        self.held: tuple[int, DirectoryIndex] | None = None

    def _hold(self, version: int, index: DirectoryIndex) -> None:
        if self.held is None or version > self.held[0]:
            self.held = (version, index)

    def is_admin(self, staff_id: str) -> bool:
        """A named admin in the newest version held (`staff[].admin`)."""
        return self.held is not None and staff_id in self.held[1].admins

    async def follow(self, every_s: float = 1.0) -> None:
        """Hold the versions another routing replica stored."""

        async def step() -> int:
            await self.current()
            return 0

        await run_forever(step, name="directory versions", idle_s=every_s)

    async def put(self, doc: Directory, author: str | None = None, *, after: int | None = ANY_VERSION) -> int:
        """Store `doc` as the next version and queue its events, in one transaction. `author` is
        who sent it (a named admin's staff id, `admin`), kept with the version. With `after` (the
        version `doc` was merged with, None for none), raises DirectoryMoved when another version
        was stored since: a merge never overwrites what it did not read."""
        expected: dict[str, object] = {}
        if after != ANY_VERSION:
            expected = {"seq": after if after is not None else {"$exists": False}}

        async def work(session: AsyncClientSession) -> int:
            try:
                counter = await self.counters.find_one_and_update(
                    {"_id": "directory", **expected},
                    {"$inc": {"seq": 1}},
                    upsert=True,
                    return_document=True,
                    session=session,
                )
            except DuplicateKeyError as exc:  # the counter is past `after`: the upsert found no match
                raise DirectoryMoved(f"version {after} is no longer the current one") from exc
            assert counter is not None
            version = int(counter["seq"])
            await self.versions.insert_one(
                {"_id": version, "document": doc.model_dump(mode="json"), "created_at": utcnow(), "author": author},
                session=session,
            )
            await self.store.add_to_outbox(directory_events(version, doc), session)
            return version

        version: int = await self.store.transaction(work)
        self._hold(version, DirectoryIndex(doc))
        return version

    async def latest_version(self) -> int | None:
        doc = await self.versions.find_one({}, {"_id": 1}, sort=[("_id", DESCENDING)])
        return None if doc is None else int(doc["_id"])

    async def load(self, version: int) -> DirectoryIndex | None:
        if self._cached and self._cached[0] == version:
            return self._cached[1]
        doc = await self.versions.find_one({"_id": version})
        if doc is None:
            return None
        index = DirectoryIndex(Directory.model_validate(doc["document"], context=READ))
        self._cached = (version, index)
        return index

    async def current(self) -> tuple[int, DirectoryIndex] | None:
        version = await self.latest_version()
        if version is None:
            return None
        index = await self.load(version)
        if index is None:
            return None
        self._hold(version, index)
        return version, index

    async def announce(self) -> None:
        """Queue the current version's events again (at start), for services that missed them."""
        current = await self.current()
        if current is None:
            return
        version, index = current
        events = directory_events(version, index.directory)

        async def work(session: AsyncClientSession) -> None:
            await self.store.add_to_outbox(events, session)

        await self.store.transaction(work)


def demo_directory() -> Directory:
    return Directory.model_validate(yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8")))
