from __future__ import annotations

import pytest

from ops.supervisor import parse_replicas


def test_replicas_parse() -> None:
    assert parse_replicas("") == {}
    assert parse_replicas("routing=2, notify=3") == {"routing": 2, "notify": 3}


@pytest.mark.parametrize("text", ["routing", "routing=0", "billing=2", "notify=x", "intake=10"])
def test_bad_replicas_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(SystemExit, match="LOUZHANG_REPLICAS"):
        parse_replicas(text)
