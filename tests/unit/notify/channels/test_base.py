"""notify.channels.base: how an HTTP reply is judged."""

from __future__ import annotations

import pytest

from notify.channels.base import SendError, check_status


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_passes(status: int) -> None:
    check_status(status)


@pytest.mark.parametrize("status", [429, 500, 501, 502, 503, 504, 599])
def test_429_and_5xx_are_retryable(status: int) -> None:
    with pytest.raises(SendError) as caught:
        check_status(status)
    assert caught.value.retryable is True


@pytest.mark.parametrize("status", [301, 302, 307, 400, 401, 403, 404, 405, 409, 413, 422, 451, 499])
def test_redirects_and_other_4xx_are_not_retryable(status: int) -> None:
    with pytest.raises(SendError) as caught:
        check_status(status)
    assert caught.value.retryable is False


def test_send_error_keeps_its_message() -> None:
    error = SendError("HTTP 503", retryable=True)
    assert str(error) == "HTTP 503"
    assert error.retryable is True
