"""The container deployment, checked without a Docker engine.

docker-compose.yml is validated against the compose-spec JSON schema that
check-jsonschema ships (its `vendor.compose-spec` builtin), then checked for
what matters to Louzhang: the six services, health checks, restart policies,
start order, ports, the replica-set URL and the secrets compose must demand.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
APPS = {"intake": 8001, "routing": 8002, "notify": 8003, "reporting": 8004}
SECRETS = ("LOUZHANG_ADMIN_TOKEN", "LOUZHANG_JWT_SECRET")


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _validator() -> jsonschema.protocols.Validator:
    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text("utf-8")
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_compose_matches_compose_spec_schema() -> None:
    errors = sorted(_validator().iter_errors(_compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_compose_file() -> None:
    broken = copy.deepcopy(_compose())
    broken["services"]["intake"]["restart_policy"] = "always"  # no such service key
    broken["services"]["routing"]["ports"] = {"8002": 8002}  # must be a list
    errors = {tuple(e.absolute_path)[:3] for e in _validator().iter_errors(broken)}
    assert ("services", "intake") in {p[:2] for p in errors}
    assert ("services", "routing", "ports") in errors


def test_no_version_key_and_all_six_services() -> None:
    doc = _compose()
    assert "version" not in doc
    assert set(doc["services"]) == {"rabbitmq", "mongo", *APPS}
    for name, service in doc["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert "test" in service.get("healthcheck", {}), name


@pytest.mark.parametrize("name", sorted(APPS))
def test_app_service(name: str) -> None:
    doc = _compose()
    service = doc["services"][name]
    port = APPS[name]

    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert service["command"] == ["serve", name]
    assert service["ports"] == [f"{port}:{port}"]
    assert service["depends_on"] == {
        "rabbitmq": {"condition": "service_healthy"},
        "mongo": {"condition": "service_healthy"},
    }

    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    compile(test[3], f"{name}-healthcheck", "exec")  # the check itself is valid Python
    assert f"http://127.0.0.1:{port}/healthz" in test[3]

    env = _env(service)
    assert env["LOUZHANG_HOST"] == "0.0.0.0"
    assert env["LOUZHANG_MONGO_URL"] == "mongodb://mongo:27017/?replicaSet=rs0"
    assert env["LOUZHANG_AMQP_URL"] == "amqp://guest:guest@rabbitmq:5672/"
    for secret in SECRETS:
        # `${VAR:?message}`: compose refuses to start when VAR is unset or empty.
        assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), (secret, env[secret])


def test_mongo_is_a_one_node_replica_set() -> None:
    mongo = _compose()["services"]["mongo"]
    assert mongo["image"] == "mongo:7"
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in command
    test = mongo["healthcheck"]["test"]
    assert test[:2] == ["CMD", "mongosh"]
    script = " ".join(test)
    assert "rs.initiate({_id:'rs0',members:[{_id:0,host:'mongo:27017'}]})" in script
    assert "isWritablePrimary" in script and "quit(1)" in script
    assert any(v.startswith("mongo-data:/data/db") for v in mongo["volumes"])


def test_rabbitmq() -> None:
    doc = _compose()
    rabbit = doc["services"]["rabbitmq"]
    assert rabbit["image"] == "rabbitmq:3.13-management"
    assert rabbit["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert rabbit["hostname"] == "rabbitmq"
    mounts = [v.split(":") for v in rabbit["volumes"]]
    assert ["rabbitmq-data", "/var/lib/rabbitmq"] in mounts
    conf = next(m for m in mounts if m[0].startswith("./"))
    assert conf[1].startswith("/etc/rabbitmq/conf.d/")
    assert "loopback_users = none" in (ROOT / conf[0]).read_text(encoding="utf-8")


def test_named_volumes_are_declared() -> None:
    doc = _compose()
    used = {
        v.split(":")[0]
        for service in doc["services"].values()
        for v in service.get("volumes", [])
        if not v.startswith(("./", "/"))
    }
    assert used == {"rabbitmq-data", "mongo-data", "mongo-config"}
    assert used == set(doc["volumes"])


def _instruction(lines: list[str], keyword: str) -> list[str]:
    found = [line.split(None, 1)[1] for line in lines if line.split(None, 1)[0].upper() == keyword]
    assert found, f"no {keyword} in {DOCKERFILE}"
    value = found[-1]
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def test_dockerfile_runs_louzhang_as_non_root() -> None:
    assert DOCKERFILE.is_file()
    lines = [ln.strip() for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#") and not ln.startswith("&&")]
    assert _instruction(lines, "FROM") == ["python:3.11-slim"]
    assert _instruction(lines, "ENTRYPOINT") == ["louzhang"]
    assert _instruction(lines, "CMD")[0] == "serve"
    user = _instruction(lines, "USER")
    assert user[0] not in ("root", "0")
    assert "pip install /tmp/src" in DOCKERFILE.read_text(encoding="utf-8")  # no extras


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "data", "**/__pycache__", ".pytest_cache", ".env"):
        assert entry in ignored, entry
