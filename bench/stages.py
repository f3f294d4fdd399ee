"""Which service saturates first: each stage of the pipeline alone, at full speed.

The consumers (routing, notify, reporting) are paused (SIGSTOP) while wrk fills intake for a few
seconds; then they are resumed one at a time, each working off the same backlog with the machine
to itself (but for MongoDB and RabbitMQ). A stage's rate is the most issues per second it can
take; its CPU per issue (its own, and MongoDB's and RabbitMQ's on its behalf) is what it costs.
The slowest stage bounds the end-to-end rate.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from bench.load import wrk
from bench.stack import BenchStack, CpuMeter, say

CONSUMERS = ("routing", "notify", "reporting")


def _wait(done: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stages(stack: BenchStack, wrk_bin: str, fill_s: float, timeout_s: float) -> dict[str, Any]:
    db = stack.db
    pids = stack.service_pids()
    servers = {k: v for k, v in stack.pids().items() if k in ("mongod", "rabbitmq")}
    out: dict[str, Any] = {}

    def unsent(service: str) -> int:
        return db[f"{service}_outbox"].count_documents({"sent": False})

    def per_issue(used: dict[str, float], n: int) -> dict[str, float]:
        return {k: round(v * 1000 / max(n, 1), 2) for k, v in used.items()}

    say(f"stages: routing, notify, reporting paused; wrk fills intake for {fill_s:g}s")
    for name in CONSUMERS:
        os.kill(pids[name], signal.SIGSTOP)
    try:
        orders = db["routing_workorders"].estimated_document_count()
        inbox = db["notify_inbox"].estimated_document_count()
        folded = db["reporting_events"].estimated_document_count()
        meter = CpuMeter({"intake": pids["intake"], **servers})
        meter.start()
        filled = wrk(wrk_bin, stack.url("intake"), stack.token, duration_s=fill_s, tag="stage")
        _wait(lambda: unsent("intake") == 0, timeout_s)  # intake's relay has published them all
        meter.stop()
        n = filled.accepted
        out["intake"] = {"issues": n, "rate": round(filled.rate, 1), "cpu_ms_per_issue": per_issue(meter.used, n)}
        say(f"  intake alone: {filled.rate:,.0f} issues/s ({n} issues)")
        probes: dict[str, Callable[[], bool]] = {
            "routing": lambda: (
                db["routing_workorders"].estimated_document_count() >= orders + n and unsent("routing") == 0
            ),
            "notify": lambda: db["notify_inbox"].estimated_document_count() >= inbox + n,
            # Reporting stores both events of each issue (submitted, assigned) as it folds them.
            "reporting": lambda: db["reporting_events"].estimated_document_count() >= folded + 2 * n,
        }
        for name in CONSUMERS:
            # intake is measured too: it takes routing's issue.assigned for its status view meanwhile.
            meter = CpuMeter({name: pids[name], "intake": pids["intake"], **servers})
            meter.start()
            began = time.monotonic()
            os.kill(pids[name], signal.SIGCONT)
            finished = _wait(probes[name], timeout_s)
            seconds = time.monotonic() - began
            meter.stop()
            out[name] = {
                "issues": n,
                "seconds": round(seconds, 2),
                "rate": round(n / seconds, 1) if finished else None,
                "cpu_ms_per_issue": per_issue(meter.used, n),
            }
            say(f"  {name} alone: {n / seconds:,.0f} issues/s" + ("" if finished else " (did not finish in time)"))
    finally:
        for name in CONSUMERS:
            os.kill(pids[name], signal.SIGCONT)
    rates = {k: v["rate"] for k, v in out.items() if v.get("rate")}
    out["first_to_saturate"] = min(rates, key=lambda k: rates[k]) if rates else None
    return out
