from __future__ import annotations

from chassis.auth import Tokens
from chassis.ratelimit import Budget, RateLimit


def test_the_limit_holds_within_a_minute_and_resets_after() -> None:
    budget = Budget(per_minute=3)
    assert [budget.take("t", 0.0) for _ in range(3)] == [None, None, None]
    assert budget.take("t", 10.0) == 50.0
    assert budget.take("other", 10.0) is None
    assert budget.take("t", 60.0) is None


def test_callers_are_told_apart_by_verified_principal_or_address() -> None:
    tokens = Tokens("admin-token", "secret" * 8)
    staff = tokens.issue("staff", "S001")

    def key(header: bytes | None) -> str:
        headers = [] if header is None else [(b"authorization", header)]
        return RateLimit.caller({"headers": headers, "client": ("1.2.3.4", 1)}, tokens)

    # However the header is spelled, and whichever of their tokens they use, one caller is one budget.
    other = tokens.issue("staff", "S001")
    spellings = [f"Bearer {staff}", f"bearer {staff}", f"BEARER {staff}", f"  Bearer   {staff} ", f"Bearer {other}"]
    assert {key(s.encode()) for s in spellings} == {"staff:S001"}
    assert key(b"Bearer admin-token") == "admin:admin"
    # Invalid credentials count against the address, as no credentials do.
    assert key(b"Bearer forged.token.value") == "addr:1.2.3.4"
    assert key(b"Basic dXNlcjpwYXNz") == "addr:1.2.3.4"
    assert key(None) == "addr:1.2.3.4"


def test_invalid_tokens_are_throttled_by_address() -> None:
    tokens = Tokens("admin-token", "secret" * 8)
    budget = Budget(per_minute=2)
    keys = [
        RateLimit.caller({"headers": [(b"authorization", f"Bearer bad{i}".encode())], "client": ("9.9.9.9", 1)}, tokens)
        for i in range(3)
    ]
    assert [budget.take(k, 0.0) for k in keys] == [None, None, 60.0]
