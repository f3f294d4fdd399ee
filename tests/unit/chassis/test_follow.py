"""The reporter's link token: derived, opaque, and opening only the issue it was made for."""

from __future__ import annotations

import base64

from chassis.auth import FOLLOW_MAC_BYTES, Tokens
from chassis.follow import follow_url

TOKENS = Tokens("admin", "jwt-secret-for-tests")
ISSUE = "65f0c0ffee0123456789abcd"


def test_a_token_opens_its_issue_and_is_the_same_every_time() -> None:
    token = TOKENS.follow_token(ISSUE)
    assert token == TOKENS.follow_token(ISSUE)
    assert TOKENS.followed_issue(token) == ISSUE
    assert ISSUE not in token  # opaque: the id is not readable in the link
    assert FOLLOW_MAC_BYTES * 8 >= 128
    assert follow_url("http://pub.example/", TOKENS, ISSUE) == f"http://pub.example/r/{token}"


def test_forged_cut_or_foreign_tokens_open_nothing() -> None:
    token = TOKENS.follow_token(ISSUE)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    other = "65f0c0ffee0123456789abce"
    swapped = base64.urlsafe_b64encode(raw[:FOLLOW_MAC_BYTES] + other.encode()).decode().rstrip("=")
    flipped = ("B" if token[0] == "A" else "A") + token[1:]
    for forged in (
        swapped,
        flipped,
        token[:-1],
        token + "A",
        "",
        "!!!",
        "x" * 500,
        Tokens("admin", "another-secret").follow_token(ISSUE),
    ):
        assert TOKENS.followed_issue(forged) is None, forged
    assert TOKENS.followed_issue(TOKENS.follow_token(other)) == other


def test_a_token_is_no_bearer_token() -> None:
    import pytest

    from chassis.auth import InvalidToken

    with pytest.raises(InvalidToken):
        TOKENS.verify(TOKENS.follow_token(ISSUE))
