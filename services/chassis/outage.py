"""Which failures are an outage (retry later) rather than a bad request or a bug."""

from __future__ import annotations

import aiormq.exceptions
from pymongo.errors import ConnectionFailure, PyMongoError, WTimeoutError


class Unavailable(Exception):
    """A dependency the operation needs is not there yet; try again later."""


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, (Unavailable, ConnectionFailure, WTimeoutError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, PyMongoError) and (
        exc.has_error_label("TransientTransactionError") or exc.has_error_label("RetryableWriteError")
    ):
        return True
    return isinstance(exc, (aiormq.exceptions.AMQPConnectionError, aiormq.exceptions.ChannelInvalidStateError))
