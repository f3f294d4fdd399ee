"""Possible duplicates: a recent issue at the same building and service whose
description is near-identical (the head may then reject the new one as a duplicate)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz


def normalized(text: str) -> str:
    """Compare what was said, not how it was typed: width, case, spaces and punctuation aside."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def possible_duplicate(mine: str, candidates: Iterable[tuple[str, str]], similarity: float) -> str | None:
    """The id of the first (most recent) candidate `(id, normalized description)` at least
    `similarity` (0..1) alike to `mine` (normalized too)."""
    for issue_id, other in candidates:
        if fuzz.ratio(mine, other) >= similarity * 100:
            return issue_id
    return None
