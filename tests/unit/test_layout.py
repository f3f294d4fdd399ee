"""The layout's rules (docs/architecture.md), read from the source: who may import whom."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
SERVICES = {"intake", "routing", "notify", "reporting"}
# What each package may import from the project, besides itself.
ALLOWED: dict[str, set[str]] = {
    "kernel": set(),
    "chassis": {"kernel"},
    "ops": {"kernel", "chassis"},
    **{service: {"kernel", "chassis"} for service in SERVICES},
}
PROJECT = set(ALLOWED) | {"tests", "bench", "chaos", "louzhang"}


def imports(path: Path) -> set[str]:
    """The top-level names of the project's packages that a module imports (at any depth in it)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def modules(package: str) -> list[Path]:
    return sorted((SERVICES_DIR / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_its_layer_may(package: str) -> None:
    wrong = {
        str(path.relative_to(SERVICES_DIR)): sorted(imports(path) - ALLOWED[package] - {package})
        for path in modules(package)
    }
    assert {where: names for where, names in wrong.items() if names} == {}


def test_every_package_under_services_is_known() -> None:
    """A new package must say which layer it is in (and so what it may import)."""
    packages = {p.name for p in SERVICES_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ALLOWED)


def test_the_shanghai_time_zone_is_defined_once() -> None:
    spelled = [
        str(path.relative_to(SERVICES_DIR))
        for package in ALLOWED
        for path in modules(package)
        if re.search(r"ZoneInfo\(\s*['\"]Asia/Shanghai", path.read_text(encoding="utf-8"))
    ]
    assert spelled == ["kernel/times.py"]
