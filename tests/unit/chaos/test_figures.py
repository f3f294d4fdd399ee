"""The figures of a node fault, from the client's attempts (chaos.figures), and the cluster run's plan."""

from __future__ import annotations

import pytest
from chaos.faults import NODE_FAULTS, schedule_cluster
from chaos.figures import Attempt as A
from chaos.figures import busiest, longest_refusal, window, windows


def test_nothing_refused_is_no_stretch() -> None:
    assert longest_refusal([A(0.0, True), A(1.0, True)], 0, 10) == 0.0
    assert longest_refusal([], 0, 10) == 0.0


def test_a_stretch_runs_from_its_first_refusal_to_the_next_acceptance() -> None:
    attempts = [A(0.0, True), A(1.0, False), A(1.5, False), A(3.25, True), A(4.0, False), A(4.5, True)]
    assert longest_refusal(attempts, 0, 10) == 2.25


def test_attempts_are_taken_in_time_order_whatever_order_they_are_recorded_in() -> None:
    # Recorded as they complete: a refusal sent late may be recorded before an acceptance sent early.
    attempts = [A(3.0, False), A(1.0, True), A(2.0, False), A(6.0, True)]
    assert longest_refusal(attempts, 0, 10) == 4.0


def test_one_acceptance_between_refusals_breaks_the_stretch() -> None:
    # Another issue taken in the middle: the system was taking submissions then.
    attempts = [A(1.0, False), A(2.0, False), A(2.5, True), A(3.0, False), A(4.0, False), A(5.0, True)]
    assert longest_refusal(attempts, 0, 10) == 2.0


def test_a_stretch_still_open_at_the_window_end_counts_to_its_last_refusal() -> None:
    assert longest_refusal([A(1.0, True), A(2.0, False), A(7.0, False)], 0, 10) == 5.0


def test_an_attempt_counts_when_its_outcome_was_known() -> None:
    # Sent before the fault, cut by it: the fault's refusal. Sent before, answered after a 3 s wait: not refused.
    attempts = [A(9.8, False, 0.4, "RemoteProtocolError"), A(9.9, True, 3.0), A(10.5, False), A(11.0, True)]
    before, during = windows(attempts, [0.0, 10.0], 20.0)
    assert before.attempts == 0
    assert during.refused == 2
    assert during.longest_refusal_s == pytest.approx(0.8)  # from 10.2 to the acceptance known at 11.0
    assert during.slowest_s == 3.0


def test_only_attempts_known_inside_the_window_count() -> None:
    attempts = [A(0.0, False), A(4.0, False), A(5.0, False), A(6.0, True), A(9.0, False), A(12.0, True)]
    assert longest_refusal(attempts, 3, 10) == 2.0
    assert window(attempts, 3, 10).attempts == 4
    assert window(attempts, 3, 10).refused == 3


def test_each_fault_has_the_window_up_to_the_next_and_the_last_up_to_the_end() -> None:
    attempts = [A(1.0, False), A(3.0, True), A(11.0, False), A(14.5, True), A(21.0, True)]
    found = windows(attempts, [0.0, 10.0, 20.0], 30.0)
    assert [w.longest_refusal_s for w in found] == [2.0, 3.5, 0.0]
    assert [w.attempts for w in found] == [2, 2, 1]


def test_a_window_tells_its_slowest_answer_and_why_attempts_were_refused() -> None:
    attempts = [
        A(1.0, True, 0.2),
        A(2.0, False, 3.0, "503"),
        A(2.5, False, 0.1, "503"),
        A(3.0, False, 0.0, "ConnectError"),
    ]
    found = window(attempts, 0, 10)
    assert found.slowest_s == 3.0
    assert found.reasons == {"503": 2, "ConnectError": 1}


def test_a_fault_after_the_load_ended_has_an_empty_window() -> None:
    assert windows([A(1.0, True)], [0.0, 50.0], 10.0)[1].attempts == 0


def test_the_busiest_node_is_the_one_named_most() -> None:
    assert busiest(["a:1", "b:2", None, "b:2"]) == "b:2"
    assert busiest(["a:1", "b:2"]) == "a:1"
    assert busiest([None, None]) is None


def test_the_cluster_run_does_each_node_fault_once_between_the_services_sigkills() -> None:
    plan = schedule_cluster(replicas=False)
    assert [f.target for f in plan] == [
        "rabbitmq-kill",
        "intake",
        "rabbitmq-stop",
        "routing",
        "mongo-stepdown",
        "notify",
        "mongo-kill",
        "reporting",
    ]
    assert [f.at for f in plan] == sorted(f.at for f in plan)
    assert plan[-1].at < 1.0
    with_replicas = [f.target for f in schedule_cluster(replicas=True)]
    assert sorted(t for t in with_replicas if t in NODE_FAULTS) == sorted(NODE_FAULTS)
    assert {"routing-2", "notify-2"} <= set(with_replicas)
