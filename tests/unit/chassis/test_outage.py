"""chassis.outage.is_outage: an outage is retried, a bad message or a bug is not."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from chassis.outage import Unavailable, is_outage


@pytest.mark.parametrize(
    "exc",
    [
        ServerSelectionTimeoutError("no primary"),
        AutoReconnect("connection reset"),
        NetworkTimeout("timed out"),
        PyMongoError("aborted", error_labels=["TransientTransactionError"]),
        OperationFailure("write", code=91, details={"errorLabels": ["RetryableWriteError"]}),
        Unavailable("directory not loaded yet"),
        ConnectionRefusedError(),
    ],
    ids=type,
)
def test_outages(exc: BaseException) -> None:
    assert is_outage(exc) is True


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        KeyError("x"),
        PyMongoError("plain"),
        OperationFailure("unauthorized", code=13),
        DuplicateKeyError("E11000 duplicate key"),
    ],
    ids=type,
)
def test_not_outages(exc: BaseException) -> None:
    assert is_outage(exc) is False
