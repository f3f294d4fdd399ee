"""Figures of a node fault, from what the client saw (pure: no I/O, no clock).

An attempt is when it was sent (on the monotonic clock), whether it was accepted, how long its answer
took and, when refused, why. It counts at the moment its outcome was known (`done`): a request in
flight when a fault struck fails because of that fault, although it was sent before. Every attempt of
every issue counts: at 20 issues a second, with retries, the attempts sample the system densely, so a
stretch in which every attempt was refused is a stretch in which the system took nothing. (A request
that hangs and then succeeds is not refused: its wait shows as the window's slowest answer.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


class Attempt(NamedTuple):
    sent: float  # monotonic
    ok: bool  # accepted (201)
    took_s: float = 0.0  # until the answer, or the error
    reason: str = ""  # when refused: the status or the error's type

    @property
    def done(self) -> float:
        return self.sent + self.took_s


@dataclass(frozen=True)
class Window:
    attempts: int
    refused: int
    longest_refusal_s: float
    slowest_s: float = 0.0  # the longest an attempt answered in the window waited for its answer
    reasons: dict[str, int] = field(default_factory=dict)  # refusals by reason


def longest_refusal(attempts: Iterable[Attempt], start: float, end: float) -> float:
    """The longest stretch within [start, end) in which every attempt was refused, by when each outcome
    was known: from the first refusal of a run to the next acceptance, or, when none follows in the
    window, to the run's last refusal. 0.0 when nothing was refused."""
    longest = 0.0
    first: float | None = None  # the first refused attempt of the current run
    last = 0.0
    for at, ok in sorted((a.done, a.ok) for a in attempts if start <= a.done < end):
        if ok:
            if first is not None:
                longest = max(longest, at - first)
            first = None
        else:
            if first is None:
                first = at
            last = at
    if first is not None:
        longest = max(longest, last - first)
    return longest


def window(attempts: Sequence[Attempt], start: float, end: float) -> Window:
    inside = [a for a in attempts if start <= a.done < end]
    return Window(
        attempts=len(inside),
        refused=sum(1 for a in inside if not a.ok),
        longest_refusal_s=longest_refusal(inside, start, end),
        slowest_s=max((a.took_s for a in inside), default=0.0),
        reasons=dict(Counter(a.reason for a in inside if not a.ok).most_common()),
    )


def windows(attempts: Sequence[Attempt], starts: Sequence[float], end: float) -> list[Window]:
    """One window a fault: from its start to the next fault's start (the last one to `end`)."""
    bounds = [*starts[1:], end]
    return [window(attempts, s, max(s, e)) for s, e in zip(starts, bounds, strict=True)]


def busiest(nodes: Iterable[str | None]) -> str | None:
    """The node named most often (ties: the first named), None when none is named."""
    counts = Counter(n for n in nodes if n)
    return max(counts, key=lambda n: counts[n]) if counts else None
