from __future__ import annotations

from chassis.auth import Principal
from intake.issues.idempotency import IdempotencyKeys, fingerprint


def test_fingerprint_is_canonical_json() -> None:
    assert fingerprint({"b": 1, "a": {"y": [1, 2], "x": "楼"}}) == fingerprint({"a": {"x": "楼", "y": [1, 2]}, "b": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": "1"})
    assert fingerprint({"a": [1, 2]}) != fingerprint({"a": [2, 1]})


def test_keys_are_per_token_subject() -> None:
    one = IdempotencyKeys.key_of(Principal("system", "hotline"), "k")
    two = IdempotencyKeys.key_of(Principal("system", "mini"), "k")
    three = IdempotencyKeys.key_of(Principal("staff", "hotline"), "k")
    assert len({one, two, three}) == 3
