"""The counters' declaration: the summary's order, the fields read, what a condition reads in Python.
(Both readings of every condition side by side on the real MongoDB: tests/integration/test_reporting_counters.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reporting import kpis
from reporting.readmodel import counters as C
from reporting.readmodel.predicates import Before, Flag, Is, OneOf, Positive, Present

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_the_summary_carries_the_counters_in_the_contracts_order() -> None:
    assert kpis.COUNTS == (
        "total",
        "acknowledged",
        "acknowledged_on_time",
        "resolved",
        "closed",
        "reopened",
        "overdue_open",
        "feedback",
        "satisfied",
        "basically_satisfied",
        "dissatisfied",
        "enterprises",
        "enterprises_visited",
        "visits",
    )
    assert C.HISTOGRAMS == ("h_ack", "h_res")


def test_every_field_a_counter_reads_is_projected() -> None:
    read = set().union(*(c.when.fields() for c in C.COUNTERS), *(d.when.fields() | {d.until} for d in C.DURATIONS))
    assert read <= set(C.FIELDS)
    assert {"acknowledged_at", "first_ack_due", "resolved_at", "status", "reopened", "overdue", "feedback"} <= read


def test_missing_and_null_fields_read_alike() -> None:
    for condition in (Present("a"), Before("a", "b"), OneOf("a", (1, 2)), Positive("a"), Flag("a")):
        assert condition.test({}) == condition.test({"a": None, "b": None}) is False


def test_an_acknowledgement_on_its_deadline_is_late() -> None:
    on_time = Before("acknowledged_at", "first_ack_due")
    assert on_time.test({"acknowledged_at": T0, "first_ack_due": T0 + timedelta(seconds=1)})
    assert not on_time.test({"acknowledged_at": T0, "first_ack_due": T0})
    assert not on_time.test({"acknowledged_at": T0})


def test_overdue_counts_only_while_not_resolved() -> None:
    assert C.OVERDUE_OPEN.test({"overdue": True, "status": "in_progress"})
    assert not C.OVERDUE_OPEN.test({"overdue": True, "status": "closed"})
    assert not C.OVERDUE_OPEN.test({"overdue": False, "status": "assigned"})


def test_a_resolve_time_counts_only_for_resolved_issues() -> None:
    doc = {"submitted_at": T0, "resolved_at": T0 + timedelta(hours=1), "status": "in_progress"}  # reopened
    assert C.RESOLVE_TIME.seconds(doc) is None
    assert C.RESOLVE_TIME.seconds({**doc, "status": "resolved"}) == 3600.0
    assert C.ACK_TIME.seconds(doc) is None


def test_conditions_combine() -> None:
    rejected = {"submitted_at": T0, "status": "rejected"}
    assert not C.POPULATION.test(rejected)
    assert C.POPULATION.test({**rejected, "status": "assigned"})
    assert (~Is("status", "rejected")).expression() == {"$not": [{"$eq": [{"$ifNull": ["$status", None]}, "rejected"]}]}
