"""chassis.bus.broker_nodes: a broker URL naming several nodes."""

from __future__ import annotations

import pytest

from chassis.bus import broker_nodes, node_of


def test_each_node_gets_the_credentials_vhost_and_options() -> None:
    url = "amqp://guest:s3cr%40t@127.0.0.1:5681,127.0.0.1:5682, rabbit-3/louzhang?heartbeat=10"
    assert broker_nodes(url) == [
        "amqp://guest:s3cr%40t@127.0.0.1:5681/louzhang?heartbeat=10",
        "amqp://guest:s3cr%40t@127.0.0.1:5682/louzhang?heartbeat=10",
        "amqp://guest:s3cr%40t@rabbit-3/louzhang?heartbeat=10",
    ]
    assert [node_of(u) for u in broker_nodes(url)] == ["127.0.0.1:5681", "127.0.0.1:5682", "rabbit-3:5672"]


def test_one_node_is_one_url() -> None:
    assert broker_nodes("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]
    assert broker_nodes("amqps://u:p@[::1]:5671/v") == ["amqps://u:p@[::1]:5671/v"]


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(ValueError, match="no broker host"):
        broker_nodes("amqp://guest:guest@/")
