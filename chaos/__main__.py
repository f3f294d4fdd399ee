"""`python -m chaos [--cluster] [--replicas] [--issues N] [--rate R]`: one fault-injection run.

Exits 0 when every accepted issue was stored, dispatched and notified exactly once and
nothing was dead-lettered; 1 on any loss or duplicate (or a fault the system did not
recover from). With --cluster, the run is on a local 3-node RabbitMQ cluster and 3-member
replica set of its own (the machine's broker is not touched), with node faults; a node
fault that refused submissions for longer than the target is reported, not failed."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chaos import faults
from chaos.checks import Findings, settle
from chaos.cluster import ChaosCluster
from chaos.directory import directory
from chaos.figures import Window, windows
from chaos.load import Load
from chaos.receiver import Receiver
from chaos.stack import MACHINE_BROKER, Stack, rabbitmqctl

TARGET_S = 5.0  # issue 15: no submission refused for longer than this at any single node fault


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    p.add_argument("--issues", type=int, default=2000, help="issues to submit (200 for a quick smoke run)")
    p.add_argument("--rate", type=float, default=20.0, help="issues per second")
    p.add_argument("--replicas", action="store_true", help="run routing and notify twice (LOUZHANG_REPLICAS)")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="on a local 3-node RabbitMQ cluster and 3-member replica set of its own, with node faults",
    )
    p.add_argument(
        "--node-down-s", type=float, default=5.0, help="with --cluster: least time a killed or stopped node stays down"
    )
    p.add_argument("--broker-down-s", type=float, default=5.0, help="how long RabbitMQ stays stopped (not --cluster)")
    p.add_argument("--issue-deadline-s", type=float, default=240.0, help="how long the client retries one issue")
    p.add_argument("--settle-timeout-s", type=float, default=300.0, help="how long to wait for the system to settle")
    p.add_argument("--keep", action="store_true", help="keep the run folder (logs, database) even when it passes")
    return p.parse_args()


def table(rows: list[tuple[str, object]], head: tuple[str, str]) -> str:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


async def drive(
    load: Load, plan: list[faults.Fault], stack: Stack, args: argparse.Namespace, cluster: ChaosCluster | None
) -> float:
    start = time.monotonic()
    duration = load.issues / load.rate
    injected = faults.run(
        plan,
        stack,
        duration_s=duration,
        broker_down_s=args.broker_down_s,
        cluster=cluster,
        node_down_s=args.node_down_s,
    )
    await asyncio.gather(load.run(), injected)
    return time.monotonic() - start


def main() -> int:
    args = parse()
    # A SIGTERM ends the run like Ctrl-C: the stack is stopped, the vhost dropped and the cluster
    # stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mode = "replicas (routing=2, notify=2)" if args.replicas else "single instances"
    if args.cluster:
        mode = f"cluster (3 RabbitMQ nodes, 3 mongod), {mode}"
    run_id = uuid.uuid4().hex[:8]
    print(f"chaos {run_id}: {args.issues} issues at {args.rate:g}/s, {mode}", flush=True)
    cluster: ChaosCluster | None = None
    if args.cluster:
        cluster = ChaosCluster(Path(tempfile.mkdtemp(prefix="louzhang-chaos-cluster-")))
    else:
        others = [v for v in rabbitmqctl("list_vhosts", "--no-table-headers").split() if v != "/"]
        if others:
            print(f"note: RabbitMQ will be restarted; other vhosts on it now: {', '.join(others)}", flush=True)

    receiver = Receiver()
    receiver.start()
    stack: Stack | None = None
    failed = True
    try:
        if cluster is not None:
            up_from = time.monotonic()
            print(f"starting the cluster in {cluster.root} (about a minute)", flush=True)
            cluster.up()
            print(f"cluster up in {time.monotonic() - up_from:.0f}s: {cluster.amqp_url} {cluster.mongo_url}")
        # The receiver is on loopback, which the outbound guard refuses unless the allow-list names it.
        stack = Stack(
            replicas=args.replicas,
            keep=args.keep,
            outbound_allow=f"127.0.0.1:{receiver.port}",
            broker=cluster.broker if cluster is not None else MACHINE_BROKER,
            mongo_url=cluster.mongo_url if cluster is not None else None,
        )
        failed = run(args, run_id, mode, stack, receiver, cluster)
    finally:
        if stack is not None:
            stack.stop(failed=failed)
        receiver.stop()
        if cluster is not None:
            keep = failed or args.keep
            cluster.down(keep_data=keep)
            if keep:
                print(f"cluster stopped, its data and logs kept in {cluster.root}")
    print("PASS: nothing lost, nothing twice" if not failed else "FAIL", flush=True)
    return 1 if failed else 0


def run(
    args: argparse.Namespace, run_id: str, mode: str, stack: Stack, receiver: Receiver, cluster: ChaosCluster | None
) -> bool:
    """The run proper; whether it failed."""
    stack.start()
    stack.load_directory(directory(receiver.url))
    if asyncio.run(stack.wait_ready(timeout_s=180)) is None:
        print(stack.log_tail())
        raise SystemExit("the stack did not become ready within 180s")
    database = "the cluster's replica set" if cluster is not None else f"mongod :{stack.mongo_port}"
    print(f"ready: {', '.join(f'{i.label} :{i.port}' for i in stack.instances)}, {database}")

    load = Load(stack.url("intake"), stack.admin_token, run_id, args.issues, args.rate, args.issue_deadline_s)
    plan = faults.schedule_cluster(args.replicas) if cluster is not None else faults.schedule(args.replicas)
    began = datetime.now(UTC)
    elapsed = asyncio.run(drive(load, plan, stack, args, cluster))
    print(f"load done in {elapsed:.0f}s; waiting for the system to settle", flush=True)
    settled_from = time.monotonic()
    findings = settle(stack, receiver, load.accepted, args.settle_timeout_s)
    findings.figures["settled after (s)"] = f"{time.monotonic() - settled_from:.0f}"
    if cluster is not None:
        queues, replicated = cluster.quorum_members(stack.vhost)
        findings.figures["quorum queues with all 3 nodes as members"] = f"{replicated} of {queues}"
    verdict(findings, load, plan)
    report(findings, load, plan, mode, began, elapsed, per_fault=report_nodes if cluster is not None else None)
    timeline(stack.root / "timeline.json", load, plan)
    return bool(findings.problems)


def timeline(path: Path, load: Load, plan: list[faults.Fault]) -> None:
    """Every attempt and fault, in seconds from the first attempt, into the run folder (kept on a failure
    or with --keep): to see what a figure is made of."""
    zero = min((a.sent for a in load.attempts), default=0.0)
    document = {
        "attempts": [[round(a.sent - zero, 3), a.ok, round(a.took_s, 3), a.reason] for a in load.attempts],
        "faults": [
            {
                "name": f.name,
                "at": None if f.began_at is None else round(f.began_at - zero, 3),
                "hit_s": f.hit_s,
                "gone_after_s": f.gone_after_s,
                "back_after_s": f.back_after_s,
                "ready_after_s": f.ready_after_s,
            }
            for f in plan
        ],
    }
    path.write_text(json.dumps(document))


def verdict(findings: Findings, load: Load, plan: list[faults.Fault]) -> None:
    findings.problem("issues never accepted", [f"#{s.index}: {s.refused}" for s in load.submissions if s.refused])
    findings.problem(
        "faults not recovered from", [faults.describe(f) for f in plan if f.error or f.ready_after_s is None]
    )
    if not findings.settled:
        findings.problems.append("the system had not settled (work left in outboxes, queues or pending sends)")


def report(
    findings: Findings,
    load: Load,
    plan: list[faults.Fault],
    mode: str,
    began: datetime,
    elapsed: float,
    per_fault: Callable[[Load, list[faults.Fault]], None] | None = None,
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
    if per_fault is not None:
        per_fault(load, plan)
    else:
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


def report_nodes(load: Load, plan: list[faults.Fault]) -> None:
    """Per fault, from its start to the next one's: what the client saw, and how long the loss showed."""
    timed = [f for f in plan if f.began_at is not None]
    end = load.finished_at or time.monotonic()
    seen = windows(load.attempts, [f.began_at or 0.0 for f in timed], end)

    def seconds(value: float | None, missing: str) -> str:
        return missing if value is None else f"{value:.1f}"

    def refusal(f: faults.Fault, w: Window) -> str:
        if w.attempts == 0:
            return "no load (the load had ended)"
        over = f.is_node and w.longest_refusal_s > TARGET_S
        return f"{w.longest_refusal_s:.1f}" + (" (over the target)" if over else "")

    print(
        "\n| fault (time into the run) | longest refusal (s) | attempts refused / sent (why) | slowest answer (s) "
        "| loss no longer shown after (s) | cluster whole after (s) | ready again after (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for f, w in zip(timed, seen, strict=True):
        why = f" ({', '.join(f'{r} {n}' for r, n in w.reasons.items())})" if w.reasons else ""
        print(
            f"| {f.started_s or 0:.0f}s: {f.name} | {refusal(f, w)} | {w.refused} / {w.attempts}{why} "
            f"| {w.slowest_s:.1f} "
            f"| {seconds(f.gone_after_s, 'still shown') if f.is_node else '-'} "
            f"| {seconds(f.back_after_s, 'not whole') if f.is_node else '-'} "
            f"| {seconds(f.ready_after_s, 'not ready')} |"
        )
    missed = [(f, w) for f, w in zip(timed, seen, strict=True) if f.is_node and w.longest_refusal_s > TARGET_S]
    unmeasured = [f for f, w in zip(timed, seen, strict=True) if f.is_node and w.attempts == 0]
    print()
    for f, w in missed:
        print(f"TARGET MISSED: {f.name}: submissions refused for {w.longest_refusal_s:.1f}s (target {TARGET_S:g}s)")
    for f in unmeasured:
        print(f"NOT MEASURED: {f.name}: the load had ended before it (more --issues)")
    if not missed and not unmeasured:
        print(f"target met: no node fault refused submissions for longer than {TARGET_S:g}s")


if __name__ == "__main__":
    raise SystemExit(main())
