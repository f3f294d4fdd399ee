"""chassis.auth.Tokens: one-minute inbox-stream tickets, and that they open nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chassis.auth import ALGORITHM, ISSUER, InvalidToken, Principal, Tokens

ADMIN = "admin-token-0123456789abcdef0123456789"
SECRET = "jwt-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture
def tokens() -> Tokens:
    return Tokens(ADMIN, SECRET)


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def _forge(claims: dict[str, object], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def test_a_ticket_verifies_to_its_staff_id(tokens: Tokens) -> None:
    assert tokens.verify_ticket(tokens.issue_ticket("S1")) == "S1"
    assert tokens.verify_ticket(tokens.issue_ticket("S42")) == "S42"


def test_a_ticket_lasts_one_minute_by_default(tokens: Tokens) -> None:
    claims = _claims(tokens.issue_ticket("S1"))
    assert claims["kind"] == "ticket"
    assert claims["sub"] == "S1"
    assert claims["iss"] == ISSUER
    assert int(claims["exp"]) - int(claims["iat"]) == 60  # type: ignore[call-overload]


def test_an_expired_ticket_is_refused(tokens: Tokens) -> None:
    ticket = tokens.issue_ticket("S1", ttl=timedelta(seconds=-1))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify_ticket(ticket)


def test_a_long_expired_ticket_is_refused(tokens: Tokens) -> None:
    ticket = tokens.issue_ticket("S1", ttl=timedelta(minutes=-10))
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(ticket)


def test_a_staff_token_is_not_a_ticket(tokens: Tokens) -> None:
    staff = tokens.issue("staff", "S1", ttl=timedelta(hours=1))
    assert tokens.verify(staff) == Principal("staff", "S1")  # a good token, just not a ticket
    with pytest.raises(InvalidToken, match="invalid ticket"):
        tokens.verify_ticket(staff)


def test_a_system_token_is_not_a_ticket(tokens: Tokens) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(tokens.issue("system", "hotline"))


def test_the_admin_token_is_not_a_ticket(tokens: Tokens) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(ADMIN)


def test_a_ticket_is_not_a_bearer_token(tokens: Tokens) -> None:
    """A ticket travels in a URL (logs, history): it must not work as a bearer token anywhere."""
    ticket = tokens.issue_ticket("S1")
    with pytest.raises(InvalidToken):
        tokens.verify(ticket)


def test_a_long_lived_ticket_is_still_not_a_bearer_token(tokens: Tokens) -> None:
    ticket = tokens.issue_ticket("S1", ttl=timedelta(days=7))
    with pytest.raises(InvalidToken):
        tokens.verify(ticket)


def test_a_ticket_kind_is_refused_by_verify_even_with_a_jti(tokens: Tokens) -> None:
    """Tokens.verify refuses a ticket on its kind, not only because tickets happen to lack a `jti`."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "S1",
        "kind": "ticket",
        "jti": "0123456789abcdef",
        "iat": now,
        "exp": now + timedelta(minutes=1),
        "iss": ISSUER,
    }
    with pytest.raises(InvalidToken, match="invalid token"):
        tokens.verify(_forge(claims))
    assert tokens.verify_ticket(_forge(claims)) == "S1"


def test_a_ticket_signed_with_another_secret_is_refused(tokens: Tokens) -> None:
    other = Tokens(ADMIN, "another-secret-0123456789abcdef0123456789")
    with pytest.raises(InvalidToken, match="invalid ticket"):
        tokens.verify_ticket(other.issue_ticket("S1"))


def test_a_tampered_ticket_is_refused(tokens: Tokens) -> None:
    header, payload, sig = tokens.issue_ticket("S1").split(".")
    forged_payload = _forge({**_claims(tokens.issue_ticket("S1")), "sub": "S2"}).split(".")[1]
    assert forged_payload != payload
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(f"{header}.{forged_payload}.{sig}")


def test_a_ticket_without_an_expiry_is_refused(tokens: Tokens) -> None:
    forged = _forge({"sub": "S1", "kind": "ticket", "iat": datetime.now(UTC), "iss": ISSUER})
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(forged)


def test_a_ticket_from_another_issuer_is_refused(tokens: Tokens) -> None:
    now = datetime.now(UTC)
    forged = _forge({"sub": "S1", "kind": "ticket", "iat": now, "exp": now + timedelta(minutes=1), "iss": "other"})
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(forged)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c"])
def test_garbage_is_refused(tokens: Tokens, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify_ticket(garbage)
