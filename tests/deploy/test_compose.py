"""The container deployment, checked without a Docker engine.

docker-compose.yml is validated against the compose-spec JSON schema that
check-jsonschema ships (its `vendor.compose-spec` builtin), then checked for
what matters to Louzhang: the services, health checks, restart policies,
start order, nothing published but the TLS proxy (and loopback monitoring),
pinned images, credentials for the broker and the database, the secrets
compose must demand, .env.example against the services' Settings classes,
the proxy's routes against the Kubernetes Ingress, Prometheus and Grafana.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.test_k8s import environment, service_settings, setting_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
APPS = {"intake": 8001, "routing": 8002, "notify": 8003, "reporting": 8004}
SECRETS = ("LOUZHANG_ADMIN_TOKEN", "LOUZHANG_JWT_SECRET")
ENV_EXAMPLE = ROOT / ".env.example"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
INGRESS = ROOT / "deploy" / "k8s" / "overlays" / "production" / "ingress.yaml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
INFRA = {"rabbitmq", "mongo", "caddy", "prometheus", "grafana"}


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


def test_no_version_key_and_all_services() -> None:
    doc = _compose()
    assert "version" not in doc
    assert set(doc["services"]) == {*INFRA, *APPS}
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
    assert "ports" not in service and "expose" not in service  # the compose network only, behind the proxy
    assert service["env_file"] == ".env"
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
    # `${VAR:?message}`: compose refuses to start when VAR is unset or empty.
    assert env["LOUZHANG_MONGO_URL"] == (
        "mongodb://${LOUZHANG_MONGO_USER:-louzhang}:${LOUZHANG_MONGO_PASSWORD:?set LOUZHANG_MONGO_PASSWORD}"
        "@mongo:27017/?replicaSet=rs0&authSource=admin"
    )
    assert env["LOUZHANG_AMQP_URL"] == (
        "amqp://${LOUZHANG_RABBITMQ_USER:-louzhang}:${LOUZHANG_RABBITMQ_PASSWORD:?set LOUZHANG_RABBITMQ_PASSWORD}"
        "@rabbitmq:5672/"
    )
    assert env["LOUZHANG_PUBLIC_URL"] == "https://${LOUZHANG_DOMAIN:-localhost}"
    for other, other_port in APPS.items():
        assert env[f"LOUZHANG_{other.upper()}_URL"] == f"http://{other}:{other_port}"
    for secret in SECRETS:
        assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), (secret, env[secret])


def test_mongo_is_a_one_node_replica_set_with_authentication() -> None:
    mongo = _compose()["services"]["mongo"]
    assert re.fullmatch(r"mongo:7\.0\.\d+", mongo["image"]), mongo["image"]
    assert mongo["entrypoint"] == ["bash", "/louzhang/entrypoint.sh"]
    mount = next(v.split(":") for v in mongo["volumes"] if v.startswith("./"))
    assert mount[1:] == ["/louzhang/entrypoint.sh", "ro"]
    script = (ROOT / mount[0]).read_text(encoding="utf-8")
    assert "exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile" in script
    assert "chmod 400" in script and "/data/configdb/" in script  # the key file lives in a volume
    env = _env(mongo)
    assert env["MONGO_INITDB_ROOT_USERNAME"] == "${LOUZHANG_MONGO_USER:-louzhang}"
    assert env["MONGO_INITDB_ROOT_PASSWORD"].startswith("${LOUZHANG_MONGO_PASSWORD:?")
    test = mongo["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and test[1].startswith("mongosh ")
    check = " ".join(test)
    assert '-u "$$MONGO_INITDB_ROOT_USERNAME" -p "$$MONGO_INITDB_ROOT_PASSWORD"' in check
    assert "rs.initiate({_id:'rs0',members:[{_id:0,host:'mongo:27017'}]})" in check
    assert "isWritablePrimary" in check and "quit(1)" in check
    assert any(v.startswith("mongo-data:/data/db") for v in mongo["volumes"])
    assert any(v.startswith("mongo-config:/data/configdb") for v in mongo["volumes"])


def test_rabbitmq_has_its_own_user() -> None:
    doc = _compose()
    rabbit = doc["services"]["rabbitmq"]
    assert re.fullmatch(r"rabbitmq:3\.13\.\d+-management", rabbit["image"]), rabbit["image"]
    assert rabbit["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert rabbit["hostname"] == "rabbitmq"
    env = _env(rabbit)
    assert env["RABBITMQ_DEFAULT_USER"] == "${LOUZHANG_RABBITMQ_USER:-louzhang}"
    assert env["RABBITMQ_DEFAULT_PASS"].startswith("${LOUZHANG_RABBITMQ_PASSWORD:?")
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
    assert used == {
        "rabbitmq-data",
        "mongo-data",
        "mongo-config",
        "caddy-data",
        "caddy-config",
        "prometheus-data",
        "grafana-data",
    }
    assert used == set(doc["volumes"])


def test_bind_mounts_exist() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            if volume.startswith("./"):
                assert (ROOT / volume.split(":")[0]).exists(), (name, volume)


def published(service: dict[str, Any]) -> list[str]:
    return [str(p) for p in service.get("ports", [])]


def test_only_the_proxy_is_published_on_every_interface() -> None:
    for name, service in _compose()["services"].items():
        for port in published(service):
            assert isinstance(port, str) and port.count(":") in (1, 2), (name, port)
            if name == "caddy":
                assert port in ("80:80", "443:443", "443:443/udp"), port
            else:
                # Monitoring on this host's loopback only; everything else not at all.
                assert name in ("prometheus", "grafana") and port.startswith("127.0.0.1:"), (name, port)
    assert published(_compose()["services"]["caddy"]) == ["80:80", "443:443", "443:443/udp"]


def test_every_image_is_pinned() -> None:
    images = {name: service["image"] for name, service in _compose()["services"].items()}
    for name, image in images.items():
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", (name, image)
        if name in APPS:
            assert image == "louzhang:${LOUZHANG_IMAGE_TAG:-0.1.0}"
        else:
            assert re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z]+)?", tag), (name, image)  # a release, not a series


def _x_app() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return dict(doc["x-app"])


def test_the_image_tag_is_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert _x_app()["image"] == f"louzhang:${{LOUZHANG_IMAGE_TAG:-{version}}}"
    assert f"LOUZHANG_IMAGE_TAG={version}\n" in ENV_EXAMPLE.read_text(encoding="utf-8")


# ---- .env.example ----------------------------------------------------------------------------------------


@dataclass
class Entry:
    key: str
    value: str
    active: bool  # `KEY=value`, not `#KEY=value`
    comment: list[str]  # the comment lines above its group


def env_example(text: str | None = None) -> dict[str, Entry]:
    lines = (ENV_EXAMPLE.read_text(encoding="utf-8") if text is None else text).splitlines()
    entries: dict[str, Entry] = {}
    comment: list[str] = []
    after_key = False
    for line in lines:
        match = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            assert match[2] not in entries, f"{match[2]} twice in .env.example"
            entries[match[2]] = Entry(match[2], match[3], not match[1], list(comment))
            after_key = True
        elif line.startswith("# ") or line == "#":
            comment = [line[2:]] if after_key else [*comment, line[2:]]
            after_key = False
        elif not line.strip():
            comment, after_key = [], False
        else:
            raise AssertionError(f".env.example: a line neither KEY=value, #KEY=value nor '# comment': {line!r}")
    return entries


def interpolated() -> dict[str, str]:
    """The variables docker-compose.yml interpolates, with their form (`-` default, `?` required, `` none)."""
    found = re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(?::?([-?]))?", COMPOSE.read_text(encoding="utf-8"))
    forms: dict[str, str] = {}
    for name, form in found:
        forms[name] = "?" if "?" in (form, forms.get(name)) else form
    return forms


def cli_variables() -> set[str]:
    import typer.main

    from ops.cli import app

    names: set[str] = set()

    def walk(command: Any) -> None:
        for param in getattr(command, "params", []):
            envvar = getattr(param, "envvar", None)
            names.update([envvar] if isinstance(envvar, str) else envvar or [])
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return {n for n in names if n.startswith("LOUZHANG_")}


def every_setting() -> dict[str, set[str]]:
    """LOUZHANG_* name: the services whose Settings class reads it."""
    found: dict[str, set[str]] = {}
    for service, cls in service_settings().items():
        for name in setting_names(cls):
            found.setdefault(name, set()).add(service)
    return found


def secret_settings() -> set[str]:
    from pydantic import SecretStr

    return {
        (cls.model_config.get("env_prefix", "") + name).upper()
        for cls in service_settings().values()
        for name, info in cls.model_fields.items()
        if SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
    }


def test_env_example_names_every_setting_and_nothing_unknown() -> None:
    entries = env_example()
    settings = every_setting()
    assert len(settings) > 40  # the four Settings classes were found
    compose_only = {v for v in interpolated() if v not in settings}
    missing = set(settings) - set(entries)
    assert not missing, f"settings not in .env.example: {sorted(missing)}"
    for variable in compose_only | cli_variables():
        assert variable in entries, f"{variable} (used by compose or the CLI) not in .env.example"
    unknown = {k for k in entries if k not in settings and k not in compose_only and k not in cli_variables()}
    assert not unknown, f".env.example names what nothing reads: {sorted(unknown)}"
    assert all(k.startswith("LOUZHANG_") for k in entries)


def test_env_example_every_entry_is_explained() -> None:
    for entry in env_example().values():
        assert entry.comment, f"{entry.key} has no comment line above it"


def test_env_example_defaults_are_the_settings_defaults() -> None:
    """Its active lines, read by each service's Settings class, give exactly that class's defaults; its
    commented examples parse too."""
    entries = env_example()
    active = {k: e.value for k, e in entries.items() if e.active}
    examples = {k: e.value for k, e in entries.items() if not e.active}
    secrets = secret_settings()
    for service, cls in service_settings().items():
        names = setting_names(cls)
        with environment({k: v for k, v in active.items() if k in names and k not in secrets}):
            read = cls(_env_file=None)
        with environment({}):
            default = cls(_env_file=None)
        assert read.model_dump() == default.model_dump(), service
        with environment({k: v for k, v in {**active, **examples}.items() if k in names}):
            cls(_env_file=None)  # the examples are valid values
    # The unset ones are settings whose default is "unset".
    for key in examples:
        if key in every_setting():
            cls = service_settings()[sorted(every_setting()[key])[0]]
            field_name = key.removeprefix("LOUZHANG_").lower()
            assert cls.model_fields[field_name].default is None, key


def test_env_example_marks_the_secrets_and_leaves_them_empty() -> None:
    entries = env_example()
    required = {v for v, form in interpolated().items() if form == "?"}
    secrets = secret_settings()
    assert secrets == set(SECRETS)
    assert required >= secrets | {"LOUZHANG_MONGO_PASSWORD", "LOUZHANG_RABBITMQ_PASSWORD", "LOUZHANG_GRAFANA_PASSWORD"}
    for key in required | secrets:
        entry = entries[key]
        assert entry.active and entry.value == "", f"{key}: a secret has no default in .env.example"
        assert entry.comment[-1].startswith("SECRET:"), f"{key} is not marked SECRET"
    for key, entry in entries.items():
        if key not in required | secrets:
            assert not (entry.comment and entry.comment[-1].startswith("SECRET:")), f"{key} is marked SECRET"


def test_the_env_example_check_can_fail() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    broken = env_example(text.replace("LOUZHANG_SMTP_FROM=", "LOUZHANG_SMTP_FROMM="))
    assert "LOUZHANG_SMTP_FROM" not in broken and "LOUZHANG_SMTP_FROMM" in broken
    assert set(every_setting()) - set(broken) == {"LOUZHANG_SMTP_FROM"}
    with pytest.raises(AssertionError, match="neither"):
        env_example(text + "LOUZHANG X\n")


# ---- the TLS proxy -----------------------------------------------------------------------------------------


def caddy_routes(text: str) -> dict[str, str]:
    """Path (as the Ingress writes it, a prefix) -> compose service, from the Caddyfile's matchers."""
    matchers = {m[0]: m[1].split() for m in re.findall(r"^\s*@(\w+) path (.+)$", text, re.M)}
    routes: dict[str, str] = {}
    for matcher, body in re.findall(r"handle @(\w+) \{(.*?)\n\t\}", text, re.S):
        upstream = re.search(r"reverse_proxy (\w+):(\d+)", body)
        assert upstream, matcher
        service, port = upstream[1], int(upstream[2])
        assert APPS[service] == port, (service, port)
        paths = matchers[matcher]
        for path in paths:
            prefix = path.removesuffix("/*")
            # A prefix as the Ingress means it: the path itself and everything under it, nothing else.
            assert prefix in paths and f"{prefix}/*" in paths, f"{matcher}: {path} without its pair"
            assert routes.setdefault(prefix, service) == service, prefix
    return routes


def ingress_routes() -> dict[str, str]:
    ingress = yaml.safe_load(INGRESS.read_text(encoding="utf-8"))
    return {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
        if p["pathType"] == "Prefix"
    }


def test_the_proxy_routes_what_the_ingress_routes() -> None:
    text = CADDYFILE.read_text(encoding="utf-8")
    routes = caddy_routes(text)
    assert routes == ingress_routes()
    for path in ("/v1/issues", "/open311", "/signin", "/signout", "/issues", "/my", "/workbench", "/photos", "/r"):
        assert path in routes
    assert not {"/healthz", "/readyz", "/metrics", "/docs"} & set(routes)
    assert "{$LOUZHANG_DOMAIN:localhost} {" in text
    assert re.search(r'handle \{\s*respond "Not Found" 404', text)  # nothing else reaches a service
    assert "max_size 21MB" in text  # PUT /v1/enterprises takes 20 MiB


def test_the_proxy_route_check_can_fail() -> None:
    text = CADDYFILE.read_text(encoding="utf-8")
    assert caddy_routes(text.replace(" /r /r/*", "")) != ingress_routes()
    assert caddy_routes(text.replace("reverse_proxy notify:8003", "reverse_proxy reporting:8004")) != ingress_routes()
    with pytest.raises(AssertionError):
        caddy_routes(text.replace("reverse_proxy intake:8001", "reverse_proxy intake:8004"))


def test_the_proxy_service() -> None:
    caddy = _compose()["services"]["caddy"]
    assert ["./deploy/caddy/Caddyfile", "/etc/caddy/Caddyfile", "ro"] in [v.split(":") for v in caddy["volumes"]]
    assert any(v.startswith("caddy-data:/data") for v in caddy["volumes"])  # the certificates survive
    assert _env(caddy)["LOUZHANG_DOMAIN"] == "${LOUZHANG_DOMAIN:-localhost}"
    assert caddy["depends_on"] == {name: {"condition": "service_healthy"} for name in APPS}


# ---- monitoring ----------------------------------------------------------------------------------------------


def test_prometheus_scrapes_the_four_services() -> None:
    prometheus = _compose()["services"]["prometheus"]
    mounts = [v.split(":") for v in prometheus["volumes"]]
    assert ["./deploy/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml", "ro"] in mounts
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == set(APPS)  # the dashboard groups by job: the service's name
    for name, port in APPS.items():
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
        assert [t for sc in jobs[name]["static_configs"] for t in sc["targets"]] == [f"{name}:{port}"]


def test_grafana_is_provisioned_with_the_dashboard() -> None:
    grafana = _compose()["services"]["grafana"]
    assert _env(grafana)["GF_SECURITY_ADMIN_PASSWORD"].startswith("${LOUZHANG_GRAFANA_PASSWORD:?")
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboard_at = mounts["./deploy/grafana/louzhang.json"]

    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text("utf-8"))
    [source] = datasources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090" and source["isDefault"]
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/louzhang.yaml").read_text("utf-8"))
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    assert Path(dashboard_at).parent == Path(provider["options"]["path"])

    dashboard = json.loads((GRAFANA / "louzhang.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel.get("targets"):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel.get("title")


def _instruction(lines: list[str], keyword: str) -> list[str]:
    found = [line.split(None, 1)[1] for line in lines if line.split(None, 1)[0].upper() == keyword]
    assert found, f"no {keyword} in {DOCKERFILE}"
    value = found[-1]
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def test_dockerfile_runs_louzhang_as_non_root() -> None:
    assert DOCKERFILE.is_file()
    lines = [ln.strip() for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#") and not ln.startswith("&&")]
    [base] = _instruction(lines, "FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base  # a release, not a moving tag
    assert _instruction(lines, "ENTRYPOINT") == ["louzhang"]
    assert _instruction(lines, "CMD")[0] == "serve"
    user = _instruction(lines, "USER")
    assert user[0] not in ("root", "0")
    assert "pip install /tmp/src" in DOCKERFILE.read_text(encoding="utf-8")  # no extras


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "data", "**/__pycache__", ".pytest_cache", ".env"):
        assert entry in ignored, entry


def test_compose_defaults_are_the_env_example_values() -> None:
    entries = env_example()
    defaults = re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}", COMPOSE.read_text(encoding="utf-8"))
    assert defaults
    for name, default in defaults:
        assert entries[name].active and entries[name].value == default, (name, default, entries[name].value)
