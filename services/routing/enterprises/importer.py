"""`louzhang enterprises import`: a file's rows sent in batches, the reports combined by the file's rows.

Pure: no network. A row whose USCC or id is already on an earlier row of the file is refused here, as
routing would refuse it within one batch, so that splitting the file into batches changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from routing.enterprises.registry import RegistryRow
from routing.enterprises.service import duplicates, given_id


def split_duplicates(rows: Sequence[RegistryRow]) -> tuple[list[RegistryRow], list[dict[str, Any]]]:
    """The rows to send, and those refused for repeating an earlier row of the file."""
    repeated = duplicates([r.item for r in rows], [r.row for r in rows], where="the file")
    keep = [r for i, r in enumerate(rows) if i not in repeated]
    refused = [{"row": rows[i].row, "id": given_id(rows[i].item), "reason": reason} for i, reason in repeated.items()]
    return keep, refused


def batches(rows: Sequence[RegistryRow], size: int) -> Iterator[list[RegistryRow]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


@dataclass
class Combined:
    """The reports of every batch, their rows turned back into the file's data rows."""

    created: int = 0
    updated: int = 0
    sent: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    refused_by_routing: int = 0

    def add(self, batch: Sequence[RegistryRow], report: Mapping[str, Any]) -> None:
        self.sent += len(batch)
        self.created += int(report["created"])
        self.updated += int(report["updated"])
        for refusal in report["refused"]:
            self.refused.append({**refusal, "row": batch[int(refusal["row"]) - 1].row})
            self.refused_by_routing += 1

    @property
    def unchanged(self) -> int:
        return self.sent - self.created - self.updated - self.refused_by_routing

    def lines(self) -> list[str]:
        """One line per refused row, in the file's order: `row 3 (E0003): uscc (统一社会信用代码): …`."""
        lines = []
        for r in sorted(self.refused, key=lambda r: int(r["row"])):
            named = f" ({r['id']})" if r.get("id") else ""
            lines.append(f"row {r['row']}{named}: {r['reason']}")
        return lines

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {len(self.refused)} refused"
        )
