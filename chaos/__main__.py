"""`python -m chaos [--replicas] [--issues N] [--rate R]`: one fault-injection run.

Exits 0 when every accepted issue was stored, dispatched and notified exactly once and
nothing was dead-lettered; 1 on any loss or duplicate (or a fault the system did not
recover from)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import uuid
from datetime import UTC, datetime

from chaos import faults
from chaos.checks import Findings, settle
from chaos.directory import directory
from chaos.load import Load
from chaos.receiver import Receiver
from chaos.stack import Stack, rabbitmqctl


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    p.add_argument("--issues", type=int, default=2000, help="issues to submit (200 for a quick smoke run)")
    p.add_argument("--rate", type=float, default=20.0, help="issues per second")
    p.add_argument("--replicas", action="store_true", help="run routing and notify twice (LOUZHANG_REPLICAS)")
    p.add_argument("--broker-down-s", type=float, default=5.0, help="how long RabbitMQ stays stopped")
    p.add_argument("--issue-deadline-s", type=float, default=240.0, help="how long the client retries one issue")
    p.add_argument("--settle-timeout-s", type=float, default=300.0, help="how long to wait for the system to settle")
    p.add_argument("--keep", action="store_true", help="keep the run folder (logs, database) even when it passes")
    return p.parse_args()


def table(rows: list[tuple[str, object]], head: tuple[str, str]) -> str:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


async def drive(load: Load, plan: list[faults.Fault], stack: Stack, broker_down_s: float) -> float:
    start = time.monotonic()
    duration = load.issues / load.rate
    await asyncio.gather(load.run(), faults.run(plan, stack, duration_s=duration, broker_down_s=broker_down_s))
    return time.monotonic() - start


def main() -> int:
    args = parse()
    # A SIGTERM ends the run like Ctrl-C: the stack is stopped and the vhost dropped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mode = "replicas (routing=2, notify=2)" if args.replicas else "single instances"
    run_id = uuid.uuid4().hex[:8]
    print(f"chaos {run_id}: {args.issues} issues at {args.rate:g}/s, {mode}", flush=True)
    others = [v for v in rabbitmqctl("list_vhosts", "--no-table-headers").split() if v != "/"]
    if others:
        print(f"note: RabbitMQ will be restarted; other vhosts on it now: {', '.join(others)}", flush=True)

    receiver = Receiver()
    receiver.start()
    # The receiver is on loopback, which the outbound guard refuses unless the allow-list names it.
    stack = Stack(replicas=args.replicas, keep=args.keep, outbound_allow=f"127.0.0.1:{receiver.port}")
    failed = True
    try:
        stack.start()
        stack.load_directory(directory(receiver.url))
        if asyncio.run(stack.wait_ready(timeout_s=180)) is None:
            print(stack.log_tail())
            raise SystemExit("the stack did not become ready within 180s")
        print(f"ready: {', '.join(f'{i.label} :{i.port}' for i in stack.instances)}, mongod :{stack.mongo_port}")

        load = Load(stack.url("intake"), stack.admin_token, run_id, args.issues, args.rate, args.issue_deadline_s)
        plan = faults.schedule(args.replicas)
        began = datetime.now(UTC)
        elapsed = asyncio.run(drive(load, plan, stack, args.broker_down_s))
        print(f"load done in {elapsed:.0f}s; waiting for the system to settle", flush=True)
        settled_from = time.monotonic()
        findings = settle(stack, receiver, load.accepted, args.settle_timeout_s)
        findings.figures["settled after (s)"] = f"{time.monotonic() - settled_from:.0f}"
        verdict(findings, load, plan)
        report(findings, load, plan, mode, began, elapsed)
        failed = bool(findings.problems)
    finally:
        stack.stop(failed=failed)
        receiver.stop()
    print("PASS: nothing lost, nothing twice" if not failed else "FAIL", flush=True)
    return 1 if failed else 0


def verdict(findings: Findings, load: Load, plan: list[faults.Fault]) -> None:
    findings.problem("issues never accepted", [f"#{s.index}: {s.refused}" for s in load.submissions if s.refused])
    findings.problem(
        "faults not recovered from", [faults.describe(f) for f in plan if f.error or f.ready_after_s is None]
    )
    if not findings.settled:
        findings.problems.append("the system had not settled (work left in outboxes, queues or pending sends)")


def report(
    findings: Findings, load: Load, plan: list[faults.Fault], mode: str, began: datetime, elapsed: float
) -> None:
    accepted = load.accepted
    slowest = max((s.accepted_after_s or 0.0 for s in accepted), default=0.0)
    retries = ", ".join(f"{reason} {n}" for reason, n in load.retries.most_common()) or "none"
    print(f"\n### {mode}, {began:%Y-%m-%d %H:%M} UTC: {load.issues} issues at {load.rate:g}/s over {elapsed:.0f}s\n")
    rows: list[tuple[str, object]] = [
        ("submitted", load.issues),
        ("requests sent (retries included)", sum(s.attempts for s in load.submissions)),
        ("retries by reason", retries),
        ("slowest acceptance (s)", f"{slowest:.1f}"),
        *findings.figures.items(),
    ]
    print(table(rows, ("figure", "value")))
    print()
    print(
        table(
            [
                (
                    f"{f.started_s or 0:.0f}s: {f.name}",
                    f"{f.ready_after_s:.1f}" if f.ready_after_s is not None else "not ready",
                )
                for f in plan
            ],
            ("fault (time into the run)", "ready again after (s)"),
        )
    )
    if findings.problems:
        print("\nPROBLEMS:")
        for p in findings.problems:
            print(f"- {p}")


if __name__ == "__main__":
    raise SystemExit(main())
