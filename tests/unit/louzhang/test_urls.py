from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from louzhang.urls import OutwardUrl, protect

URL = TypeAdapter(OutwardUrl)


@pytest.fixture(autouse=True)
def ports() -> None:
    protect([8001, 8002, 8003, 8004])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8003/v1/inbox",
        "http://localhost:8001/v1/issues",
        "http://[::1]:8002/",
        "http://0.0.0.0:8004/",
        "http://routing:8002/v1/tokens",
        "http://127.8.9.10:8001/",
    ],
)
def test_the_services_own_ports_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="own services"):
        URL.validate_python(url)


@pytest.mark.parametrize(
    "url", ["https://client.example.org/hook", "http://127.0.0.1:9000/hook", "http://10.0.0.5:8001/hook"]
)
def test_other_targets_pass(url: str) -> None:
    assert str(URL.validate_python(url)).startswith("http")


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "javascript:alert(1)"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(ValidationError):
        URL.validate_python(url)


def test_the_ports_follow_the_settings() -> None:
    protect([9001])
    with pytest.raises(ValidationError):
        URL.validate_python("http://127.0.0.1:9001/")
    assert URL.validate_python("http://127.0.0.1:8001/")
