"""chassis.auth.Tokens: admin, staff and system tokens."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest

from chassis.auth import InvalidToken, Principal, Tokens

ADMIN = "admin-token-0123456789abcdef0123456789"
SECRET = "jwt-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture
def tokens() -> Tokens:
    return Tokens(ADMIN, SECRET)


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_admin_token_verifies_as_admin(tokens: Tokens) -> None:
    assert tokens.verify(ADMIN) == Principal("admin", "admin")
    assert tokens.verify(ADMIN).is_admin


def test_a_staff_token_has_an_expiry_and_verifies(tokens: Tokens) -> None:
    token = tokens.issue("staff", "S1", ttl=timedelta(hours=1))
    claims = _claims(token)
    assert {"sub", "kind", "jti", "exp"} <= claims.keys()
    assert (claims["sub"], claims["kind"]) == ("S1", "staff")
    assert 3590 <= int(claims["exp"]) - int(claims["iat"]) <= 3600  # type: ignore[call-overload]
    assert tokens.verify(token) == Principal("staff", "S1")


def test_a_staff_token_defaults_to_seven_days(tokens: Tokens) -> None:
    claims = _claims(tokens.issue("staff", "S1"))
    assert int(claims["exp"]) - int(claims["iat"]) == 7 * 86400  # type: ignore[call-overload]


def test_an_expired_staff_token_is_refused(tokens: Tokens) -> None:
    token = tokens.issue("staff", "S1", ttl=timedelta(seconds=-60))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_a_system_token_does_not_expire(tokens: Tokens) -> None:
    token = tokens.issue("system", "hotline")
    claims = _claims(token)
    assert "exp" not in claims
    assert claims["kind"] == "system"
    assert tokens.verify(token) == Principal("system", "hotline")


def test_each_token_has_its_own_jti(tokens: Tokens) -> None:
    assert _claims(tokens.issue("system", "c"))["jti"] != _claims(tokens.issue("system", "c"))["jti"]


def test_a_token_signed_with_another_secret_is_refused(tokens: Tokens) -> None:
    other = Tokens(ADMIN, "another-secret-0123456789abcdef0123456789")
    for kind in ("staff", "system"):
        with pytest.raises(InvalidToken):
            tokens.verify(other.issue(kind, "S1"))  # type: ignore[arg-type]


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_tampered_token_is_refused(tokens: Tokens) -> None:
    header, _, signature = tokens.issue("staff", "S1").split(".")
    claims = _claims(tokens.issue("staff", "S1"))
    forged = f"{header}.{_b64({**claims, 'sub': 'S2'})}.{signature}"
    with pytest.raises(InvalidToken):
        tokens.verify(forged)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", ADMIN + "x", ADMIN[:-1]])
def test_garbage_is_refused(tokens: Tokens, token: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_a_staff_token_without_expiry_is_refused(tokens: Tokens) -> None:
    token = jwt.encode({"sub": "S1", "kind": "staff", "jti": "j", "iss": "louzhang"}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_an_unknown_kind_is_refused(tokens: Tokens) -> None:
    token = jwt.encode({"sub": "S1", "kind": "admin", "jti": "j", "iss": "louzhang"}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_signing_secret_is_stable_per_client_and_differs_between_clients(tokens: Tokens) -> None:
    secret = tokens.signing_secret("hotline")
    assert secret == tokens.signing_secret("hotline") == Tokens("other-admin", SECRET).signing_secret("hotline")
    assert secret != tokens.signing_secret("wechat")
    assert secret != Tokens(ADMIN, SECRET + "x").signing_secret("hotline")
    assert len(secret) >= 32


def test_a_revoked_jti_is_refused_and_only_that_one(tokens: Tokens) -> None:
    revoked, kept = tokens.mint("staff", "S1"), tokens.mint("staff", "S1")
    tokens.revoked = frozenset({revoked.jti})
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(revoked.token)
    assert tokens.verify(kept.token) == Principal("staff", "S1")


def test_a_system_token_may_carry_an_expiry(tokens: Tokens) -> None:
    issued = tokens.mint("system", "hotline", ttl=timedelta(days=90))
    assert issued.expires_at is not None and _claims(issued.token)["exp"] == int(issued.expires_at.timestamp())
    expired = tokens.mint("system", "hotline", ttl=timedelta(seconds=-60))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(expired.token)


def test_tokens_minted_elsewhere_are_reported_once_when_first_verified(tokens: Tokens) -> None:
    mine = tokens.mint("staff", "S1")  # recorded as it was issued: nothing to report
    elsewhere = Tokens(ADMIN, SECRET).issue("system", "legacy")
    for _ in range(3):
        tokens.verify(mine.token)
        tokens.verify(elsewhere)
    [seen] = tokens.unreported.values()
    assert (seen.kind, seen.subject, seen.expires_at) == ("system", "legacy", None) and seen.issued_at is not None
    tokens.reported([seen.jti])
    tokens.verify(elsewhere)
    assert tokens.unreported == {}


def test_still_revoked_drops_what_has_expired() -> None:
    from datetime import UTC, datetime

    from chassis.revocations import still_revoked

    now = datetime(2026, 12, 4, tzinfo=UTC)
    snapshot: list[dict[str, object]] = [
        {"jti": "forever", "expires_at": None},
        {"jti": "later", "expires_at": now + timedelta(seconds=1)},
        {"jti": "gone", "expires_at": now},
    ]
    assert still_revoked(snapshot, now) == {"forever", "later"}


# ---- named admins: a staff token whose staff member has `admin: true` -----------------------------


def test_a_named_admins_staff_token_verifies_as_admin_under_their_id() -> None:
    admins = {"S1"}
    tokens = Tokens(ADMIN, SECRET, admins=lambda staff_id: staff_id in admins)
    token = tokens.issue("staff", "S1")

    who = tokens.verify(token)
    assert who == Principal("admin", "S1", named=True)
    assert who.is_admin and who.staff_id == "S1" and who.recorded_kind == "staff"

    admins.clear()  # the flag dropped in the version the service now holds: the same token is staff again
    assert tokens.verify(token) == Principal("staff", "S1")


def test_the_bootstrap_admin_token_keeps_actor_admin() -> None:
    tokens = Tokens(ADMIN, SECRET, admins=lambda staff_id: True)
    who = tokens.verify(ADMIN)
    assert who == Principal("admin", "admin")
    assert (who.named, who.staff_id, who.recorded_kind) == (False, None, "admin")


def test_only_staff_tokens_of_named_admins_gain_admin_rights() -> None:
    tokens = Tokens(ADMIN, SECRET, admins=lambda staff_id: staff_id == "S1")
    assert tokens.verify(tokens.issue("staff", "S2")) == Principal("staff", "S2")
    # A system client named like an admin staff member stays a system client.
    assert tokens.verify(tokens.issue("system", "S1")) == Principal("system", "S1")
    # Without a hook (the default), nobody is a named admin.
    plain = Tokens(ADMIN, SECRET)
    assert plain.verify(plain.issue("staff", "S1")) == Principal("staff", "S1")


def test_a_named_admins_token_is_still_revoked_and_expires() -> None:
    tokens = Tokens(ADMIN, SECRET, admins=lambda staff_id: True)
    issued = tokens.mint("staff", "S1")
    tokens.revoked = frozenset({issued.jti})
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(issued.token)
    expired = tokens.issue("staff", "S1", ttl=timedelta(seconds=-1))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(expired)


def test_principal_kinds() -> None:
    assert Principal("staff", "S2").staff_id == "S2"
    assert Principal("system", "hotline").staff_id is None
    assert Principal("system", "hotline").recorded_kind == "system"
