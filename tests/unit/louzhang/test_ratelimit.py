from __future__ import annotations

from louzhang.ratelimit import RateLimit


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    pass


def test_the_limit_holds_within_a_minute_and_resets_after() -> None:
    limit = RateLimit(app, per_minute=3)
    assert [limit.take("t", 0.0) for _ in range(3)] == [None, None, None]
    assert limit.take("t", 10.0) == 50.0
    assert limit.take("other", 10.0) is None
    assert limit.take("t", 60.0) is None


def test_callers_are_told_apart_by_token_hash_or_address() -> None:
    with_token = {"headers": [(b"authorization", b"Bearer abc")], "client": ("1.2.3.4", 1)}
    without = {"headers": [], "client": ("1.2.3.4", 1)}
    key = RateLimit.caller(with_token)
    assert "abc" not in key and len(key) == 32
    assert RateLimit.caller(without) == "addr:1.2.3.4"
