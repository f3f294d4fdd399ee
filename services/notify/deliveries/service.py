"""The delivery ledger and the sender.

One record per (event, recipient, channel) under a unique index, written with the
inbox items in the transaction that consumes the event: a redelivered event finds
its records and makes no second one. Outside sends are claimed with a lease, sent
at least once with a stable delivery id, retried with back-off, and end `sent` or
`failed` with a `notification.sent` / `notification.failed` event.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId
from prometheus_client import Counter
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.auth import Tokens
from chassis.follow import follow_url
from chassis.loops import run_forever
from chassis.store import Store
from chassis.urls import OutboundGuard, Refused
from kernel.events import Event, NotificationOutcome, WorkOrderChanged, new_event
from kernel.times import utcnow
from notify.channels.base import HttpChannel, Message, Outgoing, SendError
from notify.channels.mail import Email
from notify.channels.outbound import guarded_client
from notify.channels.robots import Dingtalk, Wecom, robot_key
from notify.channels.webhook import Callback, Webhook
from notify.deliveries.contacts import Contacts, Staff, channel_of
from notify.deliveries.plan import bundle, issue_view, plan, retry_delay
from notify.deliveries.ratelimit import RobotLimiter
from notify.inbox.service import Inbox
from notify.messages import compose
from notify.settings import NotifySettings

log = logging.getLogger(__name__)

Doc = dict[str, Any]
OUTCOMES = Counter("louzhang_deliveries_total", "Delivery attempts by channel and outcome", ["channel", "outcome"])
ROBOTS = ("wecom", "dingtalk")
# Channels whose URL a user gave: sent through the outbound guard (chassis.urls).
USER_URLS = ("webhook", "callback")


class Deliveries:
    def __init__(
        self,
        store: Store,
        tokens: Tokens,
        settings: NotifySettings,
        inbox: Inbox,
        contacts: Contacts,
        outbound: OutboundGuard | None = None,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.settings = settings
        self.inbox = inbox
        self.contacts = contacts
        self.records = store.col("deliveries")
        self.limiter = RobotLimiter(store, settings.notify_robot_limit, settings.notify_robot_window_s)
        self.http_channels: dict[str, HttpChannel] = {
            "webhook": Webhook(),
            "callback": Callback(),
            "wecom": Wecom(settings.wecom_base_url),
            "dingtalk": Dingtalk(settings.dingtalk_base_url),
        }
        self.email = Email(settings.smtp_url, settings.smtp_from) if settings.smtp_url else None
        self.lease = timedelta(seconds=settings.notify_lease_s)
        self.owner = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self.outbound = outbound or OutboundGuard()
        self._http: httpx.AsyncClient | None = None
        self._guarded: httpx.AsyncClient | None = None

    async def ensure_indexes(self) -> None:
        await self.records.create_index([("event_id", 1), ("recipient", 1), ("channel", 1)], unique=True)
        await self.records.create_index([("status", 1), ("next_attempt_at", 1)])
        await self.records.create_index([("issue_id", 1), ("_id", DESCENDING)])
        await self.records.create_index([("recipient", 1), ("_id", DESCENDING)])
        await self.limiter.ensure_indexes()

    # ---- recording -------------------------------------------------------

    async def record(self, event: Event, change: WorkOrderChanged, index: Any) -> None:
        await self.record_many([(event, change)], index)

    async def record_many(self, events: Sequence[tuple[Event, WorkOrderChanged]], index: Any) -> None:
        """Write the events' inbox items and delivery records in one transaction, each event once.

        Every planned delivery, the inbox one included, has a record under the unique index
        on (event_id, recipient, channel), and an event's records are written together: an
        event that has any record was applied. So a redelivered (or replayed) event is found
        by its records, with no `processed` record. They are looked up rather than inserted
        and ignored: in a transaction a duplicate key aborts the whole transaction. An event
        that plans nothing writes nothing, the first time as on every repeat.
        """
        staff = await self.contacts.staff()
        now = utcnow()
        written: dict[str, tuple[list[Doc], list[Doc]]] = {}
        moved: dict[str, tuple[str, list[str]]] = {}  # transfers: the issue and who held it
        for event, change in events:
            planned = plan(event.name, change, staff, email_enabled=self.email is not None)
            if planned and event.id not in written:
                written[event.id] = self._plan_docs(event, change, planned, index, now)
                if event.name == "issue.transferred" and change.previous_assignees:
                    moved[event.id] = (change.issue_id, change.previous_assignees)
        if not written:
            return

        async def work(session: AsyncClientSession) -> int:
            applied = {
                d["event_id"]
                async for d in self.records.find(
                    {"event_id": {"$in": list(written)}}, {"_id": 0, "event_id": 1}, session=session
                )
            }
            fresh = [event_id for event_id in written if event_id not in applied]
            items = [item for event_id in fresh for item in written[event_id][0]]
            records = [record for event_id in fresh for record in written[event_id][1]]
            if items:
                await self.inbox.add(items, session=session)
            if records:
                await self.records.insert_many(records, session=session)
            for event_id in fresh:
                if event_id in moved:
                    await self.inbox.settle_assignment(*moved[event_id], session=session)
            return len(fresh)

        if await self.store.transaction(work):
            self._wake.set()

    def _plan_docs(
        self, event: Event, change: WorkOrderChanged, planned: list[Any], index: Any, now: datetime
    ) -> tuple[list[Doc], list[Doc]]:
        """The inbox items and delivery records of one event."""
        message = compose(event.name, change, index, self.settings.public_url)
        # Robots post to a whole group: phones masked there.
        group = compose(event.name, change, index, self.settings.public_url, group=True)
        view = issue_view(change)
        callback_view = issue_view(change, follow_url(self.settings.public_url, self.tokens, change.issue_id))
        docs: list[Doc] = []
        items: list[Doc] = []
        for p in planned:
            doc: Doc = {
                "_id": ObjectId(),
                "event_id": event.id,
                "event": event.name,
                "issue_id": change.issue_id,
                "recipient": p.recipient,
                "channel": p.channel,
                "created_at": now,
                "attempts": 0,
                "last_error": None,
                "message": {
                    "title": message.title,
                    "body": (group if p.channel in ("wecom", "dingtalk") else message).body,
                },
            }
            if p.channel == "inbox":
                item = self.inbox.item(event, change, message, p.recipient or "", now)
                items.append(item)
                doc.update(status="sent", attempts=1, sent_at=now, inbox_item=item["_id"])
            else:
                doc.update(
                    status="pending",
                    next_attempt_at=now,
                    lease_until=now,
                    payload={
                        "event": event.name,
                        "issue": callback_view if p.channel == "callback" else view,
                        "recipient": p.recipient,
                        "level": change.escalation_level,
                    },
                )
                if p.channel == "callback" and change.submitted_by is not None:
                    doc["callback"] = {"url": change.callback_url, "client": change.submitted_by.subject}
            docs.append(doc)
        return items, docs

    # ---- sending ---------------------------------------------------------

    async def run(self) -> None:
        # The operator's robot URLs go out as configured; user-given URLs only through the guard.
        self._http = httpx.AsyncClient(timeout=10, follow_redirects=False)
        self._guarded = guarded_client(self.outbound, timeout=10)
        try:
            await run_forever(self.send_due, name="deliveries", idle_s=0.25, wake=self._wake)
        finally:
            await self._http.aclose()
            await self._guarded.aclose()

    async def send_due(self, batch: int = 100) -> int:
        now = utcnow()
        due = {"status": "pending", "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}}
        ids = [
            d["_id"] async for d in self.records.find(due, {"_id": 1}).sort("next_attempt_at", ASCENDING).limit(batch)
        ]
        if not ids:
            return 0
        lease = now + self.lease
        await self.records.update_many(
            {"_id": {"$in": ids}, **due}, {"$set": {"lease_until": lease, "owner": self.owner}}
        )
        claimed = await self.records.find({"_id": {"$in": ids}, "owner": self.owner, "lease_until": lease}).to_list()
        staff = await self.contacts.staff()
        units: dict[str, list[Doc]] = defaultdict(list)
        for doc in claimed:
            channel = channel_of(staff.get(doc["recipient"] or ""), doc["channel"])
            key = robot_key(channel) if doc["channel"] in ROBOTS and channel else str(doc["_id"])
            units[key].append(doc)
        limit = asyncio.Semaphore(self.settings.notify_concurrency)

        async def one(key: str, docs: list[Doc]) -> None:
            async with limit:
                await self._send_unit(key, docs, staff)

        await asyncio.gather(*(one(k, v) for k, v in units.items()))
        return len(claimed)

    async def _send_unit(self, key: str, docs: list[Doc], staff: dict[str, Staff]) -> None:
        """Send one delivery, or every delivery due for one robot within its rate limit:
        those held back by the limit earlier go out bundled as one message."""
        if docs[0]["channel"] not in ROBOTS:
            await self._send(docs, staff)
            return
        held = [d for d in docs if d.get("deferred")]
        groups = ([held] if held else []) + [[d] for d in docs if not d.get("deferred")]
        for i, group in enumerate(groups):
            now = utcnow()
            if not await self.limiter.acquire(key, now):
                await self._defer([d for g in groups[i:] for d in g], self.limiter.next_window(now))
                return
            await self._send(group, staff)

    def _outgoing(self, docs: list[Doc], staff: dict[str, Staff]) -> Outgoing:
        first = docs[0]
        member = staff.get(first["recipient"] or "")
        if first["channel"] == "callback":
            callback = first.get("callback") or {}
            target: dict[str, Any] | None = (
                {"url": callback["url"], "secret": self.tokens.signing_secret(callback["client"])} if callback else None
            )
        elif first["channel"] == "email":
            target = {"email": member["email"]} if member and member.get("email") else None
        else:
            target = channel_of(member, first["channel"])
        if target is None:
            raise SendError(f"{first['recipient']} no longer has a {first['channel']} channel", retryable=False)
        phones = [m["phone"] for d in docs if (m := staff.get(d["recipient"] or "")) and m.get("phone")]
        return Outgoing(
            delivery_id=str(first["_id"]),
            event=first["event"],
            message=bundle([Message(**d["message"]) for d in docs]),
            payload=first.get("payload") or {},
            target=target,
            mentions=list(dict.fromkeys(phones)),
        )

    async def _send(self, docs: list[Doc], staff: dict[str, Staff]) -> None:
        channel = docs[0]["channel"]
        error: SendError | None = None
        try:
            out = self._outgoing(docs, staff)
            if channel == "email":
                if self.email is None:
                    raise SendError("SMTP is not configured", retryable=False)
                await self.email.send(out)
            else:
                sender = self.http_channels[channel]
                now_ms = int(utcnow().timestamp() * 1000)
                request = sender.request(out, now_ms)
                client = self._guarded if channel in USER_URLS else self._http
                assert client is not None
                # `params` only when there are any: httpx would drop a query already in the URL (DingTalk's sign).
                reply = await client.post(
                    request.url, content=request.body, headers=request.headers, params=request.params or None
                )
                sender.check(reply.status_code, reply.content)
        except SendError as exc:
            error = exc
        except Refused as exc:
            # Where the URL leads is not allowed: trying again would not change that.
            error = SendError(f"refused: {exc}", retryable=False)
        except httpx.HTTPError as exc:
            error = SendError(f"{type(exc).__name__}: {exc}", retryable=True)
        except Exception as exc:
            # A bug in a channel must not stall the sender for ever: fail this delivery, visibly.
            log.exception("sending delivery %s failed unexpectedly", docs[0]["_id"])
            error = SendError(f"internal error: {exc!r}", retryable=False)
        await self._outcome(docs, error)

    async def _defer(self, docs: list[Doc], until: datetime) -> None:
        """Held back by a robot's rate limit: not an attempt; bundled when the next minute begins."""
        await self.records.update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}, "owner": self.owner},
            {"$set": {"deferred": True, "next_attempt_at": until, "lease_until": until}},
        )

    async def _outcome(self, docs: list[Doc], error: SendError | None) -> None:
        now = utcnow()
        max_attempts = self.settings.notify_max_attempts

        async def work(session: AsyncClientSession) -> None:
            events: list[Event] = []
            for doc in docs:
                attempts = doc["attempts"] + 1
                if error is None:
                    change: Doc = {"status": "sent", "sent_at": now, "last_error": None}
                elif not error.retryable or attempts >= max_attempts:
                    change = {"status": "failed", "failed_at": now, "last_error": str(error)}
                else:
                    retry_at = now + timedelta(seconds=retry_delay(attempts, self.settings.notify_backoff_s))
                    change = {"next_attempt_at": retry_at, "lease_until": retry_at, "last_error": str(error)}
                change.update(attempts=attempts, deferred=False)
                updated = await self.records.update_one(
                    {"_id": doc["_id"], "owner": self.owner, "status": "pending"}, {"$set": change}, session=session
                )
                if updated.modified_count and change.get("status") in ("sent", "failed"):
                    events.append(self._outcome_event({**doc, **change}))
                OUTCOMES.labels(doc["channel"], change.get("status", "retry")).inc()
            await self.store.add_to_outbox(events, session)

        await self.store.transaction(work)
        if error is not None:
            log.warning("delivery %s over %s: %s", docs[0]["_id"], docs[0]["channel"], error)

    @staticmethod
    def _outcome_event(doc: Doc) -> Event:
        name = "notification.sent" if doc["status"] == "sent" else "notification.failed"
        data = NotificationOutcome(
            delivery_id=str(doc["_id"]),
            event_id=doc["event_id"],
            event=doc["event"],
            issue_id=doc["issue_id"],
            recipient=doc["recipient"],
            channel=doc["channel"],
            status=doc["status"],
            attempts=doc["attempts"],
            last_error=doc.get("last_error"),
        )
        return new_event(name, source="notify", subject=doc["issue_id"], data=data)

    # ---- reading ---------------------------------------------------------

    async def list(self, filters: Doc, limit: int, before: ObjectId | None) -> list[Doc]:
        query = dict(filters)
        if before is not None:
            query["_id"] = {"$lt": before}
        return await self.records.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()


def to_record(doc: Doc) -> Doc:
    return {
        "id": str(doc["_id"]),
        "event_id": doc["event_id"],
        "event": doc["event"],
        "issue_id": doc["issue_id"],
        "recipient": doc["recipient"],
        "channel": doc["channel"],
        "status": doc["status"],
        "attempts": doc["attempts"],
        "last_error": doc.get("last_error"),
        "created_at": doc["created_at"],
        "sent_at": doc.get("sent_at"),
    }
