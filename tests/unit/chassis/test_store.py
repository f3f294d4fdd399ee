"""Which failed transactions are run again (`chassis.store.run_again`): write conflicts and
elections, never an unreachable server."""

from __future__ import annotations

from pymongo.errors import AutoReconnect, NotPrimaryError, OperationFailure, PyMongoError, ServerSelectionTimeoutError

from chassis.store import ELECTION_RETRY_S, run_again


def transient(exc: PyMongoError) -> PyMongoError:
    exc._add_error_label("TransientTransactionError")
    return exc


def test_a_write_conflict_is_run_again_whenever() -> None:
    assert run_again(transient(OperationFailure("WriteConflict", code=112)), 60.0)


def test_an_election_is_run_again_while_recent() -> None:
    for cut in (NotPrimaryError("not primary"), AutoReconnect("connection reset by peer")):
        assert run_again(transient(cut), 0.5)
        assert not run_again(transient(cut), ELECTION_RETRY_S + 0.1)


def test_an_unreachable_server_or_a_lasting_error_is_not() -> None:
    assert not run_again(transient(ServerSelectionTimeoutError("no primary")), 0.0)
    assert not run_again(OperationFailure("bad value", code=2), 0.0)
    assert not run_again(AutoReconnect("reset"), 0.0)  # without the label: not inside a transaction
