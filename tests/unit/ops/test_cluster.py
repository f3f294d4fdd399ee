"""The cluster's plan: ports, names, the printed settings and status lines, the saved state."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli import app
from ops.cluster import (
    Cluster,
    check_name,
    dist_ports_for,
    mongo_line,
    parse_ports,
    rabbit_line,
    replica_set_config,
)


def default() -> Cluster:
    return Cluster.plan("louzhang", (5681, 5682, 5683), (25681, 25682, 25683), (27031, 27032, 27033))


def test_the_settings_lines_name_every_node() -> None:
    assert default().settings_lines() == [
        "LOUZHANG_AMQP_URL=amqp://guest:guest@127.0.0.1:5681,127.0.0.1:5682,127.0.0.1:5683/",
        "LOUZHANG_MONGO_URL=mongodb://127.0.0.1:27031,127.0.0.1:27032,127.0.0.1:27033/?replicaSet=louzhang",
    ]


def test_nodes_are_named_after_the_cluster() -> None:
    assert [n.node for n in default().rabbit] == ["louzhang1@localhost", "louzhang2@localhost", "louzhang3@localhost"]


def test_ports_parse_and_are_checked() -> None:
    assert parse_ports("5681, 5682,5683") == (5681, 5682, 5683)
    for bad in ("5681,5682", "5681,5681,5683", "a,b,c", "80,81,82", "5681,5682,70000"):
        with pytest.raises(ValueError):
            parse_ports(bad)


def test_distribution_ports_follow_rabbitmqs_rule_or_must_be_given() -> None:
    assert dist_ports_for((5681, 5682, 5683)) == (25681, 25682, 25683)
    with pytest.raises(ValueError, match="--dist-ports"):
        dist_ports_for((50000, 50001, 50002))


def test_overlapping_ports_and_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Cluster.plan("x", (5681, 5682, 5683), (5683, 25682, 25683), (27031, 27032, 27033))
    with pytest.raises(ValueError):
        check_name("1louzhang")
    with pytest.raises(ValueError):
        check_name("lou zhang")


def test_the_replica_set_elects_quickly() -> None:
    config = replica_set_config("louzhang", [27031, 27032, 27033])
    assert config["settings"] == {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 500}
    assert [m["host"] for m in config["members"]] == ["127.0.0.1:27031", "127.0.0.1:27032", "127.0.0.1:27033"]


def test_status_lines() -> None:
    cluster = default()
    cluster.rabbit[0].pid = 41
    cluster.mongo[1].pid = 42
    assert rabbit_line(cluster.rabbit[0], True) == "rabbitmq louzhang1@localhost 127.0.0.1:5681 pid=41 running"
    assert rabbit_line(cluster.rabbit[1], False) == "rabbitmq louzhang2@localhost 127.0.0.1:5682 pid=- stopped"
    assert mongo_line(cluster.mongo[1], "PRIMARY") == "mongodb 127.0.0.1:27032 pid=42 PRIMARY"


def test_the_state_survives_a_round_trip() -> None:
    cluster = default()
    cluster.rabbit[2].joined = True
    cluster.mongo[0].pid = 7
    assert Cluster.from_json(cluster.to_json()) == cluster


def test_the_cli_names_the_bad_option(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["cluster", "up", "--root", str(tmp_path), "--mongo-ports", "1,2"])
    assert done.exit_code == 2
    assert "--mongo-ports" in done.output


def test_status_and_down_of_an_empty_folder(tmp_path: Path) -> None:
    status = CliRunner().invoke(app, ["cluster", "status", "--root", str(tmp_path)])
    assert status.exit_code == 1
    down = CliRunner().invoke(app, ["cluster", "down", "--root", str(tmp_path)])
    assert down.exit_code == 0


def test_a_member_seen_gone_once_just_after_its_start_is_waited_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Just after the exec, /proc/PID/cmdline can read empty: one miss of the marker is not an exit."""
    from ops import cluster

    seen = iter([False, True, True])  # alive(): gone once, then there
    answering = iter([False, False, False, True])
    monkeypatch.setattr(cluster, "alive", lambda pid, marker="": next(seen))
    monkeypatch.setattr(cluster, "answers", lambda port, timeout=1.0: next(answering))
    member = cluster.MongoMember(1, 27031, pid=4242)
    cluster.wait_member(cluster.Layout(tmp_path), member, deadline=time.monotonic() + 30)


def test_a_member_seen_gone_again_and_again_has_exited(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ops import cluster

    monkeypatch.setattr(cluster, "alive", lambda pid, marker="": False)
    monkeypatch.setattr(cluster, "answers", lambda port, timeout=1.0: False)
    member = cluster.MongoMember(1, 27031, pid=4242)
    with pytest.raises(cluster.ClusterError, match="exited"):
        cluster.wait_member(cluster.Layout(tmp_path), member, deadline=time.monotonic() + 30)
