"""docs/reference.md against the code: every setting with its default, every route of every app with
its statuses, every event with its producers, consumers and payload fields, every CLI command with its
options; and nothing there that the code lacks. A setting, route, event or command added without its
line in the reference fails here. The apps are built, never started (no I/O)."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from chassis.settings import ServiceSettings
from chassis.topology import PUBLISHES, QUEUES
from kernel.events import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
SERVICES = ("intake", "routing", "notify", "reporting")
EVERY = "Every service"
ROUTE = re.compile(r"^`(GET|POST|PUT|DELETE|PATCH) (/\S*)`$")


# ---- reading the reference -------------------------------------------------------------------------


def sections(text: str, level: int) -> dict[str, str]:
    """Heading text -> the text under it, down to the next heading of this level or above."""
    marks = "#" * level
    found: dict[str, str] = {}
    heading: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = re.match(r"^(#+) (.*)$", line)
        if match and len(match[1]) <= level:
            if heading is not None:
                found[heading] = "\n".join(lines)
            heading, lines = (match[2].strip(), []) if match[1] == marks else (None, [])
            continue
        lines.append(line)
    if heading is not None:
        found[heading] = "\n".join(lines)
    return found


@functools.cache
def chapter(name: str) -> str:
    return sections(REFERENCE.read_text(encoding="utf-8"), 2)[name]


def part(chapter_name: str, heading: str) -> str:
    """The level-3 section of a chapter whose heading is `heading` or starts with `heading (`."""
    parts = sections(chapter(chapter_name), 3)
    names = [h for h in parts if h == heading or h.startswith(f"{heading} (")]
    assert len(names) == 1, f"reference.md, {chapter_name}: no single section {heading!r} (found {list(parts)})"
    return parts[names[0]]


def rows(text: str) -> list[list[str]]:
    """The body rows of every table in `text`, as stripped cells (`\\|` stays inside its cell)."""
    found = []
    for line in text.splitlines():
        if not line.startswith("|") or re.fullmatch(r"\|[-| ]+\|", line.strip()):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and cells[0] not in ("variable", "route", "event", "data", "command"):
            found.append(cells)
    return found


def row_for(text: str, first: str, where: str) -> list[str]:
    found = [r for r in rows(text) if r[0] == first]
    assert found, f"{first} is not in docs/reference.md ({where})"
    assert len(found) == 1, f"{first} is in docs/reference.md ({where}) {len(found)} times"
    return found[0]


def code_spans(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


# ---- settings --------------------------------------------------------------------------------------


def settings_classes() -> dict[str, type[ServiceSettings]]:
    found = {}
    for service in SERVICES:
        module = importlib.import_module(f"{service}.settings")
        classes = [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, ServiceSettings) and c.__module__ == module.__name__
        ]
        assert len(classes) == 1, f"{module.__name__}: {classes}"
        found[service] = classes[0]
    return found


def env_name(cls: type[ServiceSettings], field: str) -> str:
    return (str(cls.model_config.get("env_prefix", "")) + field).upper()


def documented_default(cls: type[ServiceSettings], field: str, cell: str) -> Any:
    """What the reference's default cell reads as, through the class's own parsing (no environment)."""
    text = cell.strip("`")
    if text == "unset":
        return None
    return getattr(cls.model_validate({field: text}), field)


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_is_in_the_reference_with_its_default(service: str) -> None:
    cls = settings_classes()[service]
    for field, info in cls.model_fields.items():
        assert info.alias is None and info.validation_alias is None, f"{cls.__name__}.{field} has an alias"
        heading = EVERY if field in ServiceSettings.model_fields else service
        name = env_name(cls, field)
        row = row_for(part("Settings", heading), f"`{name}`", f"Settings, {heading}")
        assert len(row) == 4 and row[2] and row[3], f"{name}: a row is | variable | default | type | meaning |"
        default = info.default
        shown = documented_default(cls, field, row[1])
        if default in (None, ""):
            assert shown is None, f"{name}: the default is unset, the reference says {row[1]}"
        else:
            assert shown == default, f"{name}: the default is {default!r}, the reference says {row[1]}"


def test_the_settings_tables_name_only_real_settings() -> None:
    classes = settings_classes()
    for heading, names in [
        (EVERY, {env_name(ServiceSettings, f) for f in ServiceSettings.model_fields}),
        *(
            (s, {env_name(c, f) for f in c.model_fields if f not in ServiceSettings.model_fields})
            for s, c in classes.items()
        ),
    ]:
        listed = {r[0].strip("`") for r in rows(part("Settings", heading))}
        assert listed == names, f"reference.md, Settings, {heading}: extra {listed - names}, missing {names - listed}"


# ---- endpoints -------------------------------------------------------------------------------------


@functools.cache
def app_of(service: str) -> FastAPI:
    import os

    saved = {k: v for k, v in os.environ.items() if k.startswith("LOUZHANG_")}
    for name in saved:
        del os.environ[name]
    os.environ.update({"LOUZHANG_ADMIN_TOKEN": "t", "LOUZHANG_JWT_SECRET": "s"})
    try:
        return importlib.import_module(f"{service}.main").create_app()  # type: ignore[no-any-return]
    finally:
        for name in ("LOUZHANG_ADMIN_TOKEN", "LOUZHANG_JWT_SECRET"):
            del os.environ[name]
        os.environ.update(saved)


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, included routers and hidden pages too (HEAD left out)."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for route in routes:
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None and inner is not app.router:
                yield from walk(inner.routes)
            elif getattr(route, "path", None):
                for method in getattr(route, "methods", None) or ():
                    if method != "HEAD":
                        yield method, route.path

    found = set(walk(app.routes))
    assert found, "no routes found (has FastAPI's routing changed?)"
    return found


def documented_routes(text: str) -> dict[tuple[str, str], list[str]]:
    found = {}
    for row in rows(text):
        match = ROUTE.match(row[0])
        if match:
            assert (match[1], match[2]) not in found, f"{row[0]} twice in one section"
            found[(match[1], match[2])] = row
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_is_in_the_reference(service: str) -> None:
    own = documented_routes(part("Endpoints", service))
    common = documented_routes(part("Endpoints", EVERY))
    missing = sorted(r for r in routes_of(app_of(service)) if r not in own and r not in common)
    assert not missing, f"routes of {service} not in docs/reference.md (Endpoints, {service}): {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_reference_lists_only_real_routes(service: str) -> None:
    actual = routes_of(app_of(service))
    stale = sorted(set(documented_routes(part("Endpoints", service))) - actual)
    assert not stale, f"docs/reference.md lists routes {service} does not have: {stale}"
    everywhere = set.intersection(*(routes_of(app_of(s)) for s in SERVICES))
    stale = sorted(set(documented_routes(part("Endpoints", EVERY))) - everywhere)
    assert not stale, f"docs/reference.md, Endpoints, {EVERY}: not served by every service: {stale}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_openapi_status_is_in_its_row(service: str) -> None:
    """The success status and every error the OpenAPI document declares (beyond FastAPI's 422) appear
    in the route's row."""
    own = documented_routes(part("Endpoints", service))
    for path, operations in app_of(service).openapi()["paths"].items():
        for method, operation in operations.items():
            row = own.get((method.upper(), path))
            if row is None:
                continue  # an operations route, in "Every service"
            text = " ".join(row[1:])
            for code in operation.get("responses", {}):
                if code != "422":
                    assert code in text, f"{method.upper()} {path}: status {code} not in its reference row"


# ---- events ----------------------------------------------------------------------------------------


def event_rows() -> dict[str, list[str]]:
    found = {}
    for row in rows(chapter("Events")):
        name = row[0].strip("`")
        if re.fullmatch(r"[a-z]+(\.[a-z]+)+", name):
            assert name not in found, f"event {name} twice in reference.md"
            found[name] = row
    return found


def test_every_event_is_in_the_reference_with_producers_consumers_and_data() -> None:
    documented = event_rows()
    assert set(documented) == set(SCHEMAS), (
        f"reference.md, Events: missing {set(SCHEMAS) - set(documented)}, extra {set(documented) - set(SCHEMAS)}"
    )
    for name, schema in SCHEMAS.items():
        row = documented[name]
        producers = {s for s in SERVICES if re.search(rf"\b{s}\b", row[1])}
        assert producers == {s for s, names in PUBLISHES.items() if name in names}, f"{name}: producers"
        consumers = code_spans(row[2])
        assert consumers == {f"{q.service}.{q.name}" for q in QUEUES if name in q.bindings}, f"{name}: consumers"
        assert row[3] == f"`{schema.__name__}`", f"{name}: its data is {schema.__name__}"


def test_every_payload_field_is_in_the_reference() -> None:
    payloads = {r[0]: r for r in rows(chapter("Events")) if len(r) == 2}
    for schema in set(SCHEMAS.values()):
        row = payloads.get(f"`{schema.__name__}`")
        assert row is not None, f"reference.md, Events: no payload row for {schema.__name__}"
        missing = set(schema.model_fields) - code_spans(row[1])
        assert not missing, f"{schema.__name__}: fields not in reference.md: {sorted(missing)}"


# ---- commands --------------------------------------------------------------------------------------


def cli_commands() -> dict[str, list[str]]:
    """`louzhang ...` command -> its arguments (NAME) and long options (--name)."""
    import typer.main

    from ops.cli import app

    found: dict[str, list[str]] = {}

    def walk(command: Any, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
            return
        words = []
        for param in command.params:
            if param.param_type_name == "argument":
                words.append(param.name.upper())
            else:
                words.append(max(param.opts, key=len))
        found[" ".join(path)] = words

    walk(typer.main.get_command(app), ["louzhang"])
    return found


def test_every_cli_command_and_option_is_in_the_reference() -> None:
    commands = cli_commands()
    documented = {r[0].strip("`"): r for r in rows(chapter("Commands")) if r[0].startswith("`louzhang")}
    assert set(documented) == set(commands), (
        f"reference.md, Commands: missing {set(commands) - set(documented)}, extra {set(documented) - set(commands)}"
    )
    for command, words in commands.items():
        shown = code_spans(documented[command][1])
        missing = [w for w in words if w not in shown]
        assert not missing, f"{command}: {missing} not in its reference row"


# ---- links -----------------------------------------------------------------------------------------


def user_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchors(page: Path) -> set[str]:
    """The fragments a Markdown page's headings get (GitHub's way: lower case, punctuation dropped)."""
    found = set()
    for match in re.finditer(r"^#+ (.*)$", page.read_text(encoding="utf-8"), re.MULTILINE):
        found.add(re.sub(r"[^\w\- ]", "", match[1].strip().lower()).replace(" ", "-"))
    return found


def test_readme_and_docs_point_nowhere_outside_the_repository() -> None:
    for page in user_docs():
        text = page.read_text(encoding="utf-8")
        for outside in ("shared/docs", "contract.md"):
            assert outside not in text, f"{page.relative_to(ROOT)} points at {outside}, which no clone holds"
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {target} leaves the repository"
            assert resolved.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
            if anchor and resolved.suffix == ".md":
                assert anchor in anchors(resolved), f"{page.relative_to(ROOT)}: {target} names no heading there"


def test_the_readme_links_the_reference() -> None:
    assert "](docs/reference.md" in (ROOT / "README.md").read_text(encoding="utf-8")
