"""The reporter's link (回访 page): where a follow token is opened (docs/reporter-page.md)."""

from __future__ import annotations

from chassis.auth import Tokens

PATH = "/r/"


def follow_url(public_url: str, tokens: Tokens, issue_id: str) -> str:
    """`{LOUZHANG_PUBLIC_URL}/r/<token>`: the link returned to the submitter and in its callbacks."""
    return f"{public_url.rstrip('/')}{PATH}{tokens.follow_token(issue_id)}"
