"""`make bench` (`python -m bench`): start a stack of its own, seed a million issues into
reporting's read models and time the summary, then drive intake and the naive baseline with wrk,
the pipeline at saturation and at fixed rates, and print one table (bench/results/latest.json).

It reports and does not judge: a missed target is marked MISS and the exit code is still 0;
only a bench that broke exits non-zero."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import profile
from bench.load import WrkResult, inbox_flow, notification_latencies, paced, percentile, wrk
from bench.report import render, rows, write
from bench.seed import mongod_breakdown, time_raw, time_summary
from bench.seed import seed as seed_issues
from bench.stack import (
    BenchStack,
    CpuMeter,
    building_ids,
    ensure_py_spy,
    ensure_wrk,
    peak_rss_mb,
    running_baseline,
    say,
)
from bench.stages import stages
from kernel.times import SHANGHAI, utcnow
from reporting.readmodel.cells import month_of

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "bench"


@dataclass(frozen=True)
class Plan:
    mode: str
    seed_issues: int
    seed_days: int
    summary_calls: int
    warm_s: float  # wrk warm-up before each measured run
    baseline_s: float
    saturation_s: float
    steady_skip_s: float  # the start of the saturation run left out of the end-to-end window
    paced_s: float
    drain_s: float
    stage_s: float  # how long wrk fills intake while the consumers are paused
    profile_s: float


FULL = Plan("full", 1_000_000, 730, 100, 3, 20, 30, 5, 20, 120, 8, 15)
QUICK = Plan("quick", 100_000, 365, 50, 2, 6, 10, 3, 8, 60, 4, 8)


def commit() -> str:
    """The code measured: HEAD, marked `+changes` when services/ differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" +changes" if git("status", "--porcelain", "--", "services") else "")


def counters(stack: BenchStack) -> dict[str, float]:
    return {**stack.event_counts(), **stack.mongo_counts()}


def per_issue(before: dict[str, float], after: dict[str, float], issues: int) -> dict[str, float]:
    d = {k: (after[k] - before.get(k, 0.0)) / max(issues, 1) for k in after}
    out = {
        "issues": issues,
        "published": d["published"],
        "consumed": d["consumed"],
        "transactions": d["transactions.committed"],
        "transactions_aborted": d["transactions.aborted"],
        **{k.removeprefix("op."): d[k] for k in d if k.startswith("op.")},
        **{f"documents_{k.removeprefix('doc.')}": d[k] for k in d if k.startswith("doc.")},
        **{k: d[k] for k in d if k.startswith(("published.", "consumed.", "published:", "consumed:"))},
    }
    return {k: round(v, 3) for k, v in out.items()}


def per_accepted(cpu_seconds: dict[str, float], issues: int) -> dict[str, float]:
    """CPU milliseconds per accepted issue, by process."""
    return {k: round(v * 1000 / max(issues, 1), 2) for k, v in cpu_seconds.items()}


def wrk_dict(result: WrkResult) -> dict[str, Any]:
    return {**asdict(result), "rate": round(result.rate, 1)}


def paced_figures(stack: BenchStack, rate: float, seconds: float, tag: str, wait_s: float) -> dict[str, Any]:
    say(f"paced load: {rate:g} issues/s for {seconds:g}s")
    run = asyncio.run(paced(stack.url("intake"), stack.token, rate=rate, duration_s=seconds, tag=tag))
    latencies, missing, behind = notification_latencies(stack.db, run, wait_s)
    intake = [s.latency_s for s in run.accepted]
    p = {q: percentile(latencies, q) for q in (50, 90, 99)}
    figures = {
        "rate": rate,
        "seconds": seconds,
        "sent": len(run.sent),
        "accepted": len(run.accepted),
        "late_sends": run.late,
        "missing": missing,
        "behind_when_sending_stopped": behind,
        "p50_ms": None if p[50] is None else round(p[50] * 1000, 1),
        "p90_ms": None if p[90] is None else round(p[90] * 1000, 1),
        "p99_ms": None if p[99] is None else round(p[99] * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "intake_p50_ms": round((percentile(intake, 50) or 0) * 1000, 1),
        "intake_p99_ms": round((percentile(intake, 99) or 0) * 1000, 1),
    }
    say(
        f"  POST -> notification p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
        f"({figures['accepted']} issues, {missing} not notified)"
    )
    return figures


def reporting_phase(stack: BenchStack, plan: Plan, results: dict[str, Any], py_spy: str | None) -> None:
    say(f"seeding {plan.seed_issues:,} issues over {plan.seed_days} days into reporting's read models")
    seeded = seed_issues(stack.db, plan.seed_issues, plan.seed_days)
    reporting_pid = stack.service_pids()["reporting"]
    peak_before = peak_rss_mb(reporting_pid)
    url, token = stack.url("reporting"), stack.token
    this_month = month_of(datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0))
    last_month = month_of(this_month - timedelta(days=1))
    node = "T1"
    window = {"grid_node": node, "from": last_month.date().isoformat(), "to": this_month.date().isoformat()}
    say(f"timing GET /v1/reports/summary x {plan.summary_calls}: whole district, then {node} in {window['from'][:7]}")
    spy = None
    if py_spy:
        pid = {"reporting": stack.service_pids()["reporting"]}
        spy = profile.record(py_spy, pid, 600, RESULTS / "profile" / "summary")["reporting"]
        time.sleep(0.5)
    meter = CpuMeter({k: v for k, v in stack.pids().items() if k in ("reporting", "mongod")})
    meter.start()
    district = time_summary(url, token, {}, plan.summary_calls, "district")
    meter.stop()
    if spy is not None:
        profile.stop(spy)
        results["profile_summary"] = profile.summarize(RESULTS / "profile" / "summary" / "reporting.txt", top=12)
    per_call = {k: round(v * 1000 / (plan.summary_calls + 3), 1) for k, v in meter.used.items()}
    breakdown = mongod_breakdown(stack.db, url, token, {})
    node_month = time_summary(url, token, window, plan.summary_calls, "node_month")
    say(f"  median {district.median_ms} ms / {node_month.median_ms} ms; now the plain aggregation over the raw events")
    raw_district = time_raw(stack.db, "district")
    raw_node = time_raw(
        stack.db, "node_month", since=last_month, start=last_month, end=this_month, buildings=building_ids(node)
    )
    say(f"  plain aggregation: {raw_district.median_ms:,.0f} ms / {raw_node.median_ms:,.0f} ms")
    agree = district.counts == raw_district.counts and node_month.counts == raw_node.counts
    if not agree:
        say(f"  WARNING: totals differ: summary {district.counts} raw {raw_district.counts}")
        say(f"           node/month: summary {node_month.counts} raw {raw_node.counts}")
    results["summary"] = {
        "seeded": asdict(seeded),
        "district": asdict(district),
        "node_month": asdict(node_month),
        "raw_district": asdict(raw_district),
        "raw_node_month": asdict(raw_node),
        "agree": agree,
        "cpu_ms_per_district_summary": per_call,
        "mongod_per_district_summary": breakdown,
        "reporting_peak_mb_before_summaries": peak_before,
        "reporting_peak_mb_after_summaries": peak_rss_mb(reporting_pid),
    }


def pipeline_phase(stack: BenchStack, plan: Plan, wrk_bin: str, results: dict[str, Any]) -> None:
    intake_url = stack.url("intake")
    say(f"baseline: wrk -c32 -t2 {plan.baseline_s:g}s against the naive intake (after {plan.warm_s:g}s warm-up)")
    with running_baseline(stack) as baseline:
        assert baseline.process is not None
        wrk(wrk_bin, baseline.url, stack.token, duration_s=plan.warm_s, tag="warm-base")
        pids = {
            "baseline": baseline.process.pid,
            **{k: v for k, v in stack.pids().items() if k in ("mongod", "rabbitmq")},
        }
        meter = CpuMeter(pids)
        meter.start()
        base = wrk(wrk_bin, baseline.url, stack.token, duration_s=plan.baseline_s, tag="base")
        meter.stop()
        results["baseline_cpu_ms_per_issue"] = per_accepted(meter.used, base.accepted)
        results["baseline_peak_mb"] = peak_rss_mb(baseline.process.pid)
    results["baseline"] = wrk_dict(base)
    say(f"  {base.rate:,.0f} issues/s, p50 {base.p50_ms:.1f} ms, p99 {base.p99_ms:.1f} ms")

    say(f"intake at saturation: wrk -c32 -t2 {plan.saturation_s:g}s (after {plan.warm_s:g}s warm-up and a drain)")
    wrk(wrk_bin, intake_url, stack.token, duration_s=plan.warm_s, tag="warm")
    stack.drain(plan.drain_s)
    before = counters(stack)
    meter, whole = CpuMeter(stack.pids()), CpuMeter(stack.pids())
    meter.start()
    whole.start()
    sat = wrk(wrk_bin, intake_url, stack.token, duration_s=plan.saturation_s, tag="sat")
    results["cpu_at_saturation"] = meter.stop()
    results["intake"] = wrk_dict(sat)
    say(f"  {sat.rate:,.0f} issues/s accepted, p50 {sat.p50_ms:.1f} ms, p99 {sat.p99_ms:.1f} ms; CPU {meter.share}")
    flow = inbox_flow(stack.db, sat.started + timedelta(seconds=plan.steady_skip_s), sat.ended)
    results["end_to_end"] = asdict(flow)
    results["queues_after_saturation"] = stack.queue_depths()
    say(f"  end to end {flow.rate:,.0f} issues/s (per 5 s: {flow.buckets}); draining the backlog")
    drained_at = time.monotonic()
    results["drained_after_saturation"] = stack.drain(plan.drain_s)
    results["drain_seconds"] = round(time.monotonic() - drained_at, 1)
    results["per_issue"] = per_issue(before, counters(stack), sat.accepted)
    whole.stop()
    results["cpu_ms_per_issue"] = per_accepted(whole.used, sat.accepted)

    results["notify_100"] = paced_figures(stack, 100, plan.paced_s, "p100", 30)
    stack.drain(plan.drain_s)
    near = max(20.0, round(0.85 * flow.rate / 10) * 10)
    results["notify_near"] = paced_figures(stack, near, plan.paced_s, "pnear", 30)
    stack.drain(plan.drain_s)

    results["stages"] = stages(stack, wrk_bin, plan.stage_s, plan.drain_s)
    stack.drain(plan.drain_s)


def profile_phase(stack: BenchStack, plan: Plan, wrk_bin: str, py_spy: str, results: dict[str, Any]) -> None:
    out = RESULTS / "profile"
    say(f"profiling the four services with py-spy for {plan.profile_s:g}s under wrk (collapsed stacks in {out})")
    procs = profile.record(py_spy, stack.service_pids(), plan.profile_s, out)
    time.sleep(1)
    wrk(wrk_bin, stack.url("intake"), stack.token, duration_s=plan.profile_s, tag="prof")
    for name, proc in procs.items():
        failed = profile.stop(proc)
        if failed:
            say(f"  py-spy on {name} failed: {failed}")
    results["profile"] = {name: profile.summarize(out / f"{name}.txt") for name in procs}
    for name, summary in results["profile"].items():
        top = ", ".join(f"{k} {v:.0%}" for k, v in list(summary.get("categories", {}).items())[:4])
        say(f"  {name}: {summary.get('samples', 0)} samples; {top}")
    stack.drain(plan.drain_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs and 100,000 seeded issues (development)")
    parser.add_argument("--profile", action="store_true", help="also py-spy the services under load (installs py-spy)")
    parser.add_argument("--seed-issues", type=int, help="issues seeded into reporting (0: skip that part)")
    parser.add_argument("--no-pipeline", action="store_true", help="only the reporting part")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="where the JSON goes")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.seed_issues is not None:
        plan = Plan(**{**asdict(plan), "seed_issues": args.seed_issues})

    wrk_bin = ensure_wrk()
    py_spy = ensure_py_spy() if args.profile else None
    started = utcnow()
    clock = time.monotonic()
    results: dict[str, Any] = {
        "bench": {
            "mode": plan.mode,
            "plan": asdict(plan),
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count(),
            "loadavg_before": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "commit": commit(),
        }
    }
    stack = BenchStack()
    try:
        stack.start()
        if plan.seed_issues:
            reporting_phase(stack, plan, results, py_spy)
        if not args.no_pipeline:
            pipeline_phase(stack, plan, wrk_bin, results)
            if py_spy:
                profile_phase(stack, plan, wrk_bin, py_spy, results)
            if plan.seed_issues:
                after = time_summary(stack.url("reporting"), stack.token, {}, 20, "after_load")
                results["summary"]["after_load"] = asdict(after)
        pids = stack.pids()
        results["memory_mb"] = {name: peak_rss_mb(pid) for name, pid in pids.items() if name != "rabbitmq"}
    except BaseException:
        if stack.stack is not None:
            for name in stack.running.processes:
                say(f"--- last lines of {name}'s log ---\n{stack.log_tail(name)}")
        raise
    finally:
        say("stopping the stack")
        stack.stop()
    results["bench"]["seconds"] = round(time.monotonic() - clock, 1)
    results["bench"]["loadavg_after"] = round(os.getloadavg()[0], 2)
    table = rows(results)
    text = render(results, table)
    print()
    print(text)
    write(results, table, args.output)
    say(f"written to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    if plan.mode == "full" and not args.no_pipeline and plan.seed_issues == FULL.seed_issues:
        stamp = started.strftime("%Y-%m-%d")
        write(results, table, DOCS / f"{stamp}.json")
        (DOCS / f"{stamp}.txt").write_text(text + "\n")
        say(f"and a dated copy in docs/bench/{stamp}.json (.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
