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


def possible_duplicate(description: str, candidates: Iterable[tuple[str, str]], similarity: float) -> str | None:
    """The id of the first (most recent) candidate `(id, description)` at least `similarity` (0..1) alike."""
    mine = normalized(description)
    for issue_id, other in candidates:
        if fuzz.ratio(mine, normalized(other)) >= similarity * 100:
            return issue_id
    return None
