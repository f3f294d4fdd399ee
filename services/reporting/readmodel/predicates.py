"""Conditions on a stored issue document, each written once and read two ways: `test(doc)` in
Python (the folds, the repairs, the per-assignee breakdown) and `expression()` as a MongoDB
aggregation expression (the partial days summed inside MongoDB, the overdue list).

The two readings agree on every document the folds write, missing and null fields included
(tests/integration/test_reporting_counters.py runs both on the real server). A missing field and
a null one are alike: Python's `doc.get(field)` is None, MongoDB's `{"$ifNull": [...]}` is null.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Doc = Mapping[str, Any]


def _value(field: str, default: Any = None) -> dict[str, Any]:
    return {"$ifNull": [f"${field}", default]}


class Condition(ABC):
    @abstractmethod
    def test(self, doc: Doc) -> bool: ...

    @abstractmethod
    def expression(self) -> Any:
        """A MongoDB expression, true exactly when `test` is."""

    @abstractmethod
    def fields(self) -> frozenset[str]:
        """The fields of the document it reads (for projections)."""

    def __and__(self, other: Condition) -> Condition:
        return All((self, other))

    def __invert__(self) -> Condition:
        return Not(self)


@dataclass(frozen=True)
class Always(Condition):
    def test(self, doc: Doc) -> bool:
        return True

    def expression(self) -> Any:
        return True

    def fields(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class Present(Condition):
    """The field holds a value (not missing, not null)."""

    field: str

    def test(self, doc: Doc) -> bool:
        return doc.get(self.field) is not None

    def expression(self) -> Any:
        return {"$ne": [_value(self.field), None]}

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


@dataclass(frozen=True)
class Before(Condition):
    """Both fields hold a value and the first is earlier than the second."""

    field: str
    than: str

    def test(self, doc: Doc) -> bool:
        a, b = doc.get(self.field), doc.get(self.than)
        return a is not None and b is not None and bool(a < b)

    def expression(self) -> Any:
        # Guarded: MongoDB orders null before any date, where Python refuses to compare.
        present = [Present(self.field).expression(), Present(self.than).expression()]
        return {"$and": [*present, {"$lt": [f"${self.field}", f"${self.than}"]}]}

    def fields(self) -> frozenset[str]:
        return frozenset({self.field, self.than})


@dataclass(frozen=True)
class OneOf(Condition):
    """The field holds one of these values."""

    field: str
    values: tuple[Any, ...]

    def test(self, doc: Doc) -> bool:
        return doc.get(self.field) in self.values

    def expression(self) -> Any:
        if len(self.values) == 1:
            return {"$eq": [_value(self.field), self.values[0]]}
        return {"$in": [_value(self.field), list(self.values)]}

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


def Is(field: str, value: Any) -> OneOf:
    """The field holds this value."""
    return OneOf(field, (value,))


@dataclass(frozen=True)
class Positive(Condition):
    """The field is a number above 0 (missing or null: 0)."""

    field: str

    def test(self, doc: Doc) -> bool:
        return bool((doc.get(self.field) or 0) > 0)

    def expression(self) -> Any:
        return {"$gt": [_value(self.field, 0), 0]}

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


@dataclass(frozen=True)
class Flag(Condition):
    """A boolean field set to true (missing or null: false)."""

    field: str

    def test(self, doc: Doc) -> bool:
        return doc.get(self.field) is True

    def expression(self) -> Any:
        return {"$eq": [_value(self.field, False), True]}

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


@dataclass(frozen=True)
class Not(Condition):
    inner: Condition

    def test(self, doc: Doc) -> bool:
        return not self.inner.test(doc)

    def expression(self) -> Any:
        return {"$not": [self.inner.expression()]}

    def fields(self) -> frozenset[str]:
        return self.inner.fields()


@dataclass(frozen=True)
class All(Condition):
    parts: tuple[Condition, ...]

    def test(self, doc: Doc) -> bool:
        return all(p.test(doc) for p in self.parts)

    def expression(self) -> Any:
        return {"$and": [p.expression() for p in self.parts]}

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(p.fields() for p in self.parts))
