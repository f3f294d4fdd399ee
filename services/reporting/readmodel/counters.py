"""What each counter counts, declared once.

An issue document (see `fold`) adds 1 to each counter whose condition it meets, and one to a bin
of each duration histogram it has a duration for. Each condition is a `predicates.Condition`, so
the one declaration gives both the Python fold (`contribution`, for the cells kept in step with
every event) and the MongoDB expressions (`contribution_expressions`, for issues summed inside
MongoDB): the two cannot drift apart. The rates made from these counts are in `reporting.kpis`.

Counters are plain dicts: `{"total": 3, "h_ack": {12: 1}}`; `$inc` writes histogram bins as
`h_ack.12` (`dotted`, and `flat` for the way back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel import feedback
from reporting.readmodel import histogram
from reporting.readmodel.cells import Cell, day_of
from reporting.readmodel.predicates import All, Always, Before, Condition, Flag, Is, OneOf, Positive, Present

Doc = Mapping[str, Any]
Counters = dict[str, Any]

DONE = ("resolved", "closed")
SATISFACTION = tuple(feedback.SATISFACTION)

# The population: issues reporting has seen submitted, rejected ones excluded.
POPULATION = Present("submitted_at") & ~Is("status", "rejected")

ACKNOWLEDGED = Present("acknowledged_at")  # 签收: the first acknowledgement, whenever it came
RESOLVED = OneOf("status", DONE)  # now resolved or closed (办结)
OVERDUE_OPEN = Flag("overdue") & ~RESOLVED  # not resolved and past the resolve deadline (逾期未办结)


@dataclass(frozen=True)
class Counter:
    name: str
    when: Condition


@dataclass(frozen=True)
class Duration:
    """A histogram of the time from submission to `until`, for the issues meeting `when`."""

    name: str
    when: Condition
    until: str

    def seconds(self, doc: Doc) -> float | None:
        if not self.when.test(doc):
            return None
        elapsed = doc[self.until] - doc["submitted_at"]
        return float(elapsed.total_seconds())

    def bin_expression(self) -> Any:
        """The issue's bin as a MongoDB expression, null when the duration does not count."""
        # Dates subtract to milliseconds; stored dates have no finer part, so this is
        # `timedelta.total_seconds()` to the last bit.
        seconds = {"$divide": [{"$subtract": [f"${self.until}", "$submitted_at"]}, 1000]}
        return {"$cond": [self.when.expression(), histogram.bin_expression(seconds), None]}


# In the contract's order (the summary's fields follow it).
COUNTERS: tuple[Counter, ...] = (
    Counter("total", Always()),
    Counter("acknowledged", ACKNOWLEDGED),
    Counter("acknowledged_on_time", Before("acknowledged_at", "first_ack_due")),
    Counter("resolved", RESOLVED),
    Counter("closed", Is("status", "closed")),
    Counter("reopened", Positive("reopened")),
    Counter("overdue_open", OVERDUE_OPEN),
    Counter("feedback", OneOf("feedback", SATISFACTION)),  # the latest feedback per issue
    *(Counter(kind, Is("feedback", kind)) for kind in SATISFACTION),
)
ACK_TIME = Duration("h_ack", ACKNOWLEDGED, "acknowledged_at")  # submission to the first acknowledgement
RESOLVE_TIME = Duration("h_res", All((RESOLVED, Present("resolved_at"))), "resolved_at")  # to the latest resolve
DURATIONS: tuple[Duration, ...] = (ACK_TIME, RESOLVE_TIME)

SCALARS: tuple[str, ...] = tuple(c.name for c in COUNTERS)
HISTOGRAMS: tuple[str, ...] = tuple(d.name for d in DURATIONS)
# Every field of an issue document the counters read, for projections.
FIELDS: tuple[str, ...] = tuple(
    sorted(
        {"submitted_at", "building_id", "service_code"}.union(
            POPULATION.fields(), *(c.when.fields() for c in COUNTERS), *(d.when.fields() | {d.until} for d in DURATIONS)
        )
    )
)


def contribution(doc: Doc | None) -> tuple[Cell, dict[str, int]] | None:
    """The counters an issue adds to its cell, `$inc`-style (`h_ack.12`), zeros left out; None
    when it is outside the population."""
    if not doc or not POPULATION.test(doc):
        return None
    counters = {c.name: 1 for c in COUNTERS if c.when.test(doc)}
    for d in DURATIONS:
        seconds = d.seconds(doc)
        if seconds is not None:
            counters[f"{d.name}.{histogram.bin_of(seconds)}"] = 1
    submitted: datetime = doc["submitted_at"]
    return Cell(day_of(submitted), doc.get("building_id", ""), doc.get("service_code", "")), counters


def contribution_expressions() -> dict[str, Any]:
    """`contribution` as MongoDB expressions over a stored issue, for `$project`: each counter as
    0 or 1, and each histogram as the issue's bin, null when that duration does not count. Meant for
    issues already matched as in the population (`contribution` is None for the others)."""
    out: dict[str, Any] = {c.name: {"$cond": [c.when.expression(), 1, 0]} for c in COUNTERS}
    out.update({d.name: d.bin_expression() for d in DURATIONS})
    return out


def delta(old: Doc | None, new: Doc | None) -> dict[Cell, dict[str, int]]:
    """Counter changes per cell between two versions of an issue's document."""
    changes: dict[Cell, dict[str, int]] = {}
    for sign, doc in ((-1, old), (1, new)):
        part = contribution(doc)
        if part is None:
            continue
        cell, counters = part
        into = changes.setdefault(cell, {})
        for name, value in counters.items():
            into[name] = into.get(name, 0) + sign * value
    return {cell: {k: v for k, v in c.items() if v} for cell, c in changes.items() if any(c.values())}


# ---- counters as plain dicts ------------------------------------------------------


def add(into: Counters, more: Mapping[str, Any]) -> Counters:
    """Add counters (numbers, and histograms as {bin: count} maps) into `into`."""
    for name, value in more.items():
        if name in HISTOGRAMS:
            bins = into.setdefault(name, {})
            for index, count in value.items():
                bins[int(index)] = bins.get(int(index), 0) + count
        elif isinstance(value, int | float) and not isinstance(value, bool):
            into[name] = into.get(name, 0) + value
    return into


def total(parts: Iterable[Mapping[str, Any]]) -> Counters:
    out: Counters = {}
    for part in parts:
        add(out, part)
    return out


def flat(counters: Mapping[str, int]) -> Counters:
    """`{"h_ack.12": 1}` (as $inc writes them) as `{"h_ack": {12: 1}}`."""
    out: Counters = {}
    for name, value in counters.items():
        if "." in name:
            kind, index = name.split(".", 1)
            out.setdefault(kind, {})[int(index)] = value
        else:
            out[name] = value
    return out


def dotted(cell: Mapping[str, Any]) -> dict[str, int]:
    """A stored cell's counters as `$inc` names them (`h_ack.12`), zeros left out: `flat` undone."""
    out: dict[str, int] = {}
    for name, value in cell.items():
        if name in HISTOGRAMS and isinstance(value, dict):
            out.update({f"{name}.{index}": n for index, n in value.items() if n})
        elif isinstance(value, int) and not isinstance(value, bool) and value:
            out[name] = value
    return out
