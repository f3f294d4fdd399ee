"""The Kubernetes manifests (deploy/k8s), checked without a cluster or a kubectl binary.

The kustomizations are assembled here in Python, for the subset of kustomize they use (resources,
patches as strategic-merge or JSON 6902, namespace, labels, images); a field outside it fails the
build rather than being ignored. Every built-in object is validated with kubernetes-validate (strict:
an unknown field is an error) and every custom resource against the CRD schema kept in deploy/k8s/crds
(made strict the same way). Then the rules: replicas, probes, limits against measured memory, a PDB,
an HPA and a Service per Deployment, every setting the services' Settings classes read present and
parseable, the URLs pointing at the operators' nodes with the operators' credentials, who may talk
to whom, scraping, the Ingress. Each rule is shown able to fail by a broken copy of the manifests.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from chassis.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
CRDS = K8S / "crds"
SERVICES = ("intake", "routing", "notify", "reporting")
# The oldest Kubernetes minor still commonly run, and the newest kubernetes-validate knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())

# Peak memory (VmHWM, MB) measured for each service; the memory limit must leave a quarter more.
# intake, notify, reporting: the bench's full run (docs/bench/2026-11-26-E.txt: 83, 79, 95 MB) and a
# run of 3,000 issues plus exports here (at most 81 MB). routing: an 18 MiB JSON upload to
# PUT /v1/enterprises (bodies up to 20 MiB are taken) peaked at 572 MB (a 49,000-row XLSX at 296 MB).
MEASURED_PEAK_MB = {"intake": 83, "routing": 572, "notify": 81, "reporting": 95}
MEMORY_HEADROOM = 1.25

Obj = dict[str, Any]

# ---- a small kustomize ---------------------------------------------------------------------------

KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "patches", "images"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
# Kinds kustomize merges strategically (it knows their schema); custom resources get JSON merge patches.
BUILTIN_GROUPS = {"v1", "apps/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1", "batch/v1"}
# Strategic-merge keys of the lists these manifests patch (from the Kubernetes API's patchMergeKey).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


class KustomizeError(Exception):
    pass


def read_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def key(obj: Obj) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def build(directory: Path) -> list[Obj]:
    """What `kubectl kustomize directory` yields, for the fields these kustomizations use."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - KUSTOMIZATION_FIELDS
    if unknown:
        raise KustomizeError(f"{directory}: kustomization fields this assembler does not do: {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        objects += build(path) if path.is_dir() else read_documents(path)
    for patch in spec.get("patches", []):
        objects = apply_patch(objects, patch, directory)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for label in spec.get("labels", []):
        if set(label) - {"pairs", "includeSelectors", "includeTemplates"} or label.get("includeSelectors"):
            raise KustomizeError(f"{directory}: labels entry {label} is beyond this assembler")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
            template = obj.get("spec", {}).get("template") if label.get("includeTemplates") else None
            if template is not None:
                template.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    for image in spec.get("images", []):
        for container in all_containers(objects):
            set_image(container, image)
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        if key(obj) in seen:
            raise KustomizeError(f"{directory}: {key(obj)} defined twice")
        seen.add(key(obj))
    return objects


def all_containers(node: Any) -> Iterator[Obj]:
    """Every container and init container anywhere (kustomize's images transformer looks everywhere)."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name in ("containers", "initContainers") and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from all_containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_containers(item)


def split_image(image: str) -> tuple[str, str | None]:
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return name, tag or None


def set_image(container: Obj, image: Obj) -> None:
    if "image" not in container:
        return
    name, tag = split_image(container["image"])
    if name != image["name"]:
        return
    name = image.get("newName", name)
    tag = image.get("newTag", tag)
    container["image"] = f"{name}:{tag}" if tag else name


def apply_patch(objects: list[Obj], patch: Obj, directory: Path) -> list[Obj]:
    if set(patch) - {"path", "patch", "target"}:
        raise KustomizeError(f"{directory}: patch entry {patch} is beyond this assembler")
    docs = read_documents(directory / patch["path"]) if "path" in patch else list(yaml.safe_load_all(patch["patch"]))
    if len(docs) != 1:  # as kustomize: `patches` takes one patch per entry (patchesStrategicMerge took more)
        raise KustomizeError(f"{directory}: {patch.get('path', 'an inline patch')} holds {len(docs)} patches, not one")
    target = patch.get("target")
    for doc in docs:
        if isinstance(doc, list):  # JSON 6902
            if target is None:
                raise KustomizeError(f"{directory}: a JSON 6902 patch needs a target")
            chosen = [o for o in objects if all(o["metadata"]["name"] == v if k == "name" else o.get(k) == v
                                                for k, v in target.items())]  # fmt: skip
            if not chosen:
                raise KustomizeError(f"{directory}: patch target {target} matches nothing")
            for obj in chosen:
                json6902(obj, doc)
            continue
        chosen = [o for o in objects if key(o) == key(doc)]
        if not chosen:
            raise KustomizeError(f"{directory}: patch for {key(doc)} matches nothing")
        for obj in chosen:
            if doc.get("$patch") == "delete":
                objects = [o for o in objects if o is not obj]
            elif obj["apiVersion"] in BUILTIN_GROUPS:
                obj.update(strategic_merge(obj, doc))
            else:
                obj.update(merge_patch(obj, doc))
    return objects


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null removes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge_patch(out.get(name), value)
    return out


def strategic_merge(target: Any, patch: Any, list_key: str | None = None) -> Any:
    if isinstance(patch, list) and isinstance(target, list) and list_key is not None:
        out = [copy.deepcopy(item) for item in target]
        for item in patch:
            match = next((i for i, old in enumerate(out) if old.get(list_key) == item.get(list_key)), None)
            if item.get("$patch") == "delete":
                out = [old for old in out if old.get(list_key) != item.get(list_key)]
            elif match is None:
                out.append(copy.deepcopy(item))
            else:
                out[match] = strategic_merge(out[match], item)
        return out
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    merged = dict(target)
    for name, value in patch.items():
        if name == "$patch":
            continue
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = strategic_merge(merged.get(name), value, MERGE_KEYS.get(name))
    return merged


def json6902(obj: Obj, operations: list[Obj]) -> None:
    for op in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = obj
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if op["op"] == "add":
                    parent.insert(index, op["value"])
                else:
                    parent[index] = op["value"]
            else:
                if op["op"] == "replace" and last not in parent:
                    raise KustomizeError(f"replace of a missing {op['path']}")
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise KustomizeError(f"JSON 6902 op {op['op']} is beyond this assembler")


# ---- schemas ---------------------------------------------------------------------------------------


def strict(schema: Any) -> Any:
    """A CRD schema that refuses unknown fields, as the API server does with strict field validation
    (kubectl's default), instead of pruning them."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [strict(v) for v in schema]
    return schema


@functools.cache
def crd_schemas() -> dict[tuple[str, str], Obj]:
    """(apiVersion, kind) -> the served version's openAPIV3Schema, from every kept CRD."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in read_documents(path):
            assert crd["kind"] == "CustomResourceDefinition", path
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served"):
                    schemas[(f"{group}/{version['name']}", kind)] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


def schema_problems(objects: list[Obj]) -> list[str]:
    custom = crd_schemas()
    problems = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        schema = custom.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if schema is not None:
            validator = jsonschema.Draft4Validator(schema)
            problems += [f"{name}: {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name}: {obj.get('apiVersion')} {obj.get('kind')} is neither a built-in kind of "
                                f"Kubernetes {version} nor a kind of a kept CRD")  # fmt: skip
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{name} (Kubernetes {version}): {list(exc.absolute_path)}: {exc.message}")
    return problems


# ---- reading the built objects -------------------------------------------------------------------


def the(objects: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj | None:
    found = the(objects, kind, name)
    return found[0] if len(found) == 1 else None


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for k, v in selector.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions", []):
        present, value = expr["key"] in labels, labels.get(expr["key"])
        op = expr["operator"]
        if (
            (op == "In" and value not in expr["values"])
            or (op == "NotIn" and present and value in expr["values"])
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def quantity(text: Any) -> float:
    """A Kubernetes quantity as a plain number (bytes, cores)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match and match.group(2) in {"", *units}, f"not a quantity: {text!r}"
    return float(match.group(1)) * units.get(match.group(2), 1)


def secret_data(secret: Obj) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    return {**data, **{k: str(v) for k, v in secret.get("stringData", {}).items()}}


def expand(value: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: defined variables are replaced, $$ is a literal $."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: "$" if m.group(0) == "$$" else
                  env.get(m.group(1), m.group(0)), value)  # fmt: skip


def container_env(objects: list[Obj], secrets: list[Obj], container: Obj) -> tuple[dict[str, str], list[str]]:
    """The environment the kubelet gives a container, and what it could not resolve."""
    env: dict[str, str] = {}
    problems = []
    for source in container.get("envFrom", []):
        for ref, kind, pool in (("configMapRef", "ConfigMap", objects), ("secretRef", "Secret", secrets)):
            if ref in source:
                found = one(pool, kind, source[ref]["name"])
                if found is None:
                    problems.append(f"envFrom {kind} {source[ref]['name']} does not exist")
                    continue
                values = found.get("data", {}) if kind == "ConfigMap" else secret_data(found)
                env.update({source.get("prefix", "") + k: str(v) for k, v in values.items()})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(str(var["value"]), env)
            left = re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", env[var["name"]])
            problems += [f"{var['name']} refers to $({name}), defined nowhere before it" for name in left]
            continue
        for ref, kind, pool in (("secretKeyRef", "Secret", secrets), ("configMapKeyRef", "ConfigMap", objects)):
            spec = var.get("valueFrom", {}).get(ref)
            if spec is not None:
                found = one(pool, kind, spec["name"])
                values = (secret_data(found) if kind == "Secret" else found.get("data", {})) if found else {}
                if spec["key"] not in values:
                    problems.append(f"{var['name']}: {kind} {spec['name']} has no key {spec['key']}")
                env[var["name"]] = str(values.get(spec["key"], ""))
    return env, problems


def service_settings() -> dict[str, type[ServiceSettings]]:
    """Each service's Settings class, found in its settings module (the one it reads its settings with)."""
    found = {}
    for name in SERVICES:
        module = importlib.import_module(f"{name}.settings")
        classes = [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, ServiceSettings) and c.__module__ == module.__name__
        ]
        assert len(classes) == 1, f"{module.__name__}: {classes}"
        found[name] = classes[0]
    return found


def setting_names(cls: type[ServiceSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    for name, info in cls.model_fields.items():
        assert info.alias is None and info.validation_alias is None, f"{cls.__name__}.{name} has an alias"
    return {(prefix + name).upper() for name in cls.model_fields}


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ with every LOUZHANG_* variable replaced by those of `env`, for the duration."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("LOUZHANG_")}
    for name in saved:
        del os.environ[name]
    os.environ.update({k: v for k, v in env.items() if k.startswith("LOUZHANG_")})
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("LOUZHANG_")]:
            del os.environ[name]
        os.environ.update(saved)


def hosts_of(url: str) -> list[str]:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].split(",")


def credentials_of(url: str) -> tuple[str, str]:
    user, _, password = urlsplit(url).netloc.rsplit("@", 1)[0].partition(":")
    return unquote(user), unquote(password)


@functools.cache
def public_routes(service: str) -> frozenset[str]:
    """The service's own routes under /v1, /open311, /dashboard and the workbench's pages, from its FastAPI app."""
    module = importlib.import_module(f"{service}.main")
    with environment({"LOUZHANG_ADMIN_TOKEN": "t", "LOUZHANG_JWT_SECRET": "s"}):
        app = module.create_app()

    def walk(routes: list[Any]) -> Iterator[str]:
        for route in routes:
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None and inner is not app.router:
                yield from walk(inner.routes)
            elif getattr(route, "path", None):
                yield route.path

    pages = ("/signin", "/signout", "/issues/", "/my", "/workbench/", "/photos/", "/r/")
    paths = frozenset(p for p in walk(app.routes) if p.startswith(("/v1/", "/open311/", "/dashboard", *pages)))
    assert paths, f"no public routes found in {service}'s app (has FastAPI's routing changed?)"
    return paths


def prefix_matches(prefix: str, path: str) -> bool:
    """An Ingress `Prefix` path: whole path elements."""
    a, b = prefix.rstrip("/").split("/"), path.rstrip("/").split("/")
    return b[: len(a)] == a


# ---- who may talk to whom ------------------------------------------------------------------------


@dataclass
class Peer:
    namespace: str | None  # None: outside the cluster
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # named container ports
    ip: str = "10.244.9.9"


def policies(objects: list[Obj], pod: Peer, direction: str) -> list[Obj]:
    return [
        p
        for p in the(objects, "NetworkPolicy")
        if pod.namespace == p["metadata"].get("namespace")
        and selects(p["spec"]["podSelector"], pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]


def peer_matches(rule_peer: Obj, other: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        address = ipaddress.ip_address(other.ip)
        block = rule_peer["ipBlock"]

        def inside(cidr: str) -> bool:
            network = ipaddress.ip_network(cidr)
            return address.version == network.version and address in network

        return inside(block["cidr"]) and not any(inside(e) for e in block.get("except", []))
    if other.namespace is None:
        return False
    ns_selector = rule_peer.get("namespaceSelector")
    in_namespace = (
        other.namespace == policy_namespace
        if ns_selector is None
        else selects(ns_selector, {"kubernetes.io/metadata.name": other.namespace})
    )
    pod_selector = rule_peer.get("podSelector")
    return in_namespace and (pod_selector is None or selects(pod_selector, other.labels))


def port_matches(rule_ports: list[Obj] | None, port: int, protocol: str, target: Peer) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        number = p.get("port")
        if number is None:
            return True
        low = target.ports.get(number) if isinstance(number, str) else number
        if low is not None and low <= port <= (p.get("endPort") or low):
            return True
    return False


def allowed(objects: list[Obj], source: Peer, target: Peer, port: int, protocol: str = "TCP") -> bool:
    for pod, other, direction, peers_key in ((source, target, "Egress", "to"), (target, source, "Ingress", "from")):
        applying = policies(objects, pod, direction)
        if not applying:
            continue
        rules = [r for p in applying for r in p["spec"].get(direction.lower(), [])]
        namespace = pod.namespace or ""
        if not any(
            (not rule.get(peers_key) or any(peer_matches(peer, other, namespace) for peer in rule[peers_key]))
            and port_matches(rule.get("ports"), port, protocol, target)
            for rule in rules
        ):
            return False
    return True


# ---- the rules -------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A built stack, and the Secrets it runs with (the production overlay carries none of its own)."""

    objects: list[Obj]
    secrets: list[Obj]
    found: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        self.found.append(problem)

    @property
    def deployments(self) -> dict[str, Obj]:
        return {d["metadata"]["name"]: d for d in the(self.objects, "Deployment")}

    def pod_labels(self, name: str) -> dict[str, str]:
        return self.deployments[name]["spec"]["template"]["metadata"].get("labels", {})  # type: ignore[no-any-return]

    def selects_alone(self, selector: Obj, name: str) -> bool:
        """`selector` picks the pods of Deployment `name` and of no other."""
        return selects(selector, self.pod_labels(name)) and not any(
            selects(selector, self.pod_labels(other)) for other in self.deployments if other != name
        )


@dataclass
class Datastores:
    rabbit: Obj
    mongo: Obj
    broker: dict[str, str]  # the broker user's Secret
    mongo_user: Obj
    mongo_password: str | None

    @property
    def broker_nodes(self) -> list[str]:
        name = self.rabbit["metadata"]["name"]
        return [f"{name}-server-{i}.{name}-nodes:5672" for i in range(self.rabbit["spec"].get("replicas", 1))]

    @property
    def mongo_members(self) -> list[str]:
        name = self.mongo["metadata"]["name"]
        return [f"{name}-{i}.{name}-svc:27017" for i in range(self.mongo["spec"].get("members", 0))]


def datastore_problems(stack: Stack) -> Datastores | None:
    rabbit, mongo = one(stack.objects, "RabbitmqCluster"), one(stack.objects, "MongoDBCommunity")
    if rabbit is None or mongo is None:
        stack.add("want one RabbitmqCluster and one MongoDBCommunity")
        return None
    if rabbit["spec"].get("replicas") != 3:
        stack.add(f"RabbitmqCluster replicas {rabbit['spec'].get('replicas')}, not 3")
    if mongo["spec"].get("members") != 3 or mongo["spec"].get("type") != "ReplicaSet":
        stack.add(f"MongoDBCommunity: members {mongo['spec'].get('members')}, type {mongo['spec'].get('type')}")
    rs = mongo["spec"].get("automationConfig", {}).get("replicaSet", {}).get("settings", {})
    if not (0 < rs.get("electionTimeoutMillis", 10_000) <= 2000 and 0 < rs.get("heartbeatIntervalMillis", 2000) <= 500):
        stack.add(
            f"MongoDB replica set settings {rs}: want electionTimeoutMillis <= 2000, heartbeatIntervalMillis <= 500"
        )
    mongod_config = mongo["spec"].get("additionalMongodConfig", {})
    mongod = next((c for c in all_containers(mongo) if c["name"] == "mongod"), {})
    cache_gb = mongod_config.get("storage.wiredTiger.engineConfig.cacheSizeGB")
    limit = mongod.get("resources", {}).get("limits", {}).get("memory")
    if cache_gb is None or limit is None or cache_gb * 2**30 > quantity(limit) / 2:
        stack.add(f"mongod: WiredTiger cache {cache_gb} GB against a memory limit {limit}: want at most half")
    if mongod_config.get("setParameter", {}).get("transactionLifetimeLimitSeconds") != 10:
        stack.add("mongod: transactionLifetimeLimitSeconds should be 10 (docs/operations.md)")

    broker_secret_name = rabbit["spec"].get("secretBackend", {}).get("externalSecret", {}).get("name", "")
    broker_secret = one(stack.secrets, "Secret", broker_secret_name)
    broker = secret_data(broker_secret) if broker_secret else {}
    pattern = r"^\s*(default_user|default_pass)\s*=\s*(\S+)\s*$"
    conf = dict(re.findall(pattern, broker.get("default_user.conf", ""), re.MULTILINE))
    if not broker or conf != {"default_user": broker.get("username"), "default_pass": broker.get("password")}:
        stack.add(f"RabbitMQ credentials {broker_secret_name!r}: username, password and default_user.conf must agree")
    users = mongo["spec"].get("users", [])
    mongo_user = users[0] if len(users) == 1 else {}
    ref = mongo_user.get("passwordSecretRef", {})
    mongo_secret = one(stack.secrets, "Secret", ref.get("name", ""))
    mongo_password = secret_data(mongo_secret).get(ref.get("key", "password")) if mongo_secret else None
    if mongo_password is None:
        stack.add(f"the MongoDB user's password {ref} is in no Secret")
    return Datastores(rabbit, mongo, broker, mongo_user, mongo_password)


def deployment_problems(stack: Stack, stores: Datastores) -> dict[str, Peer]:
    """The rules for each Deployment and its container; returns the service pods, for the network rules."""
    classes = service_settings()
    every_setting = set().union(*(setting_names(c) for c in classes.values()))
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    if set(stack.deployments) != set(SERVICES):
        stack.add(f"Deployments {sorted(stack.deployments)}, want {sorted(SERVICES)}")
    pods = {}
    for name, deployment in stack.deployments.items():
        spec = deployment["spec"]
        if spec.get("replicas", 1) < 2:
            stack.add(f"{name}: {spec.get('replicas', 1)} replicas, want at least 2")
        if not stack.selects_alone(spec["selector"], name):
            stack.add(f"{name}: its selector does not select its own pods alone")
        containers = spec["template"]["spec"]["containers"]
        if len(containers) != 1:
            stack.add(f"{name}: {len(containers)} containers")
            continue
        c = containers[0]
        tag = split_image(c.get("image", ""))[1]
        if tag != version:
            stack.add(f"{name}: image {c.get('image')}: want the tag of this release, {version}, never latest or none")
        if c.get("args") != ["serve", name] or "command" in c:
            stack.add(f"{name}: runs {c.get('command')} {c.get('args')}, want the image's entrypoint with serve {name}")
        settings = settings_problems(stack, name, c, classes[name], every_setting)
        if settings is None:
            continue
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if ports.get("http") != settings.port(name):
            stack.add(f"{name}: container port http {ports.get('http')}, but it listens on {settings.port(name)}")
        if settings.host != "0.0.0.0":
            stack.add(f"{name}: listens on {settings.host}, not 0.0.0.0: unreachable from outside its pod")
        pods[name] = Peer("louzhang", stack.pod_labels(name), ports)
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = c.get(probe, {}).get("httpGet", {})
            port = ports.get(get.get("port")) if isinstance(get.get("port"), str) else get.get("port")
            if get.get("path") != path or port != settings.port(name):
                stack.add(f"{name}: {probe} is {get}, want GET {path} on port {settings.port(name)}")
        resource_problems(stack, name, c.get("resources", {}))
        url_problems(stack, name, settings, stores)
    return pods


def settings_problems(
    stack: Stack, name: str, c: Obj, cls: type[ServiceSettings], every_setting: set[str]
) -> ServiceSettings | None:
    """Every setting the service's Settings class reads is given, none given is unknown, all parse."""
    env, env_problems = container_env(stack.objects, stack.secrets, c)
    for problem in env_problems:
        stack.add(f"{name}: {problem}")
    missing = sorted(setting_names(cls) - set(env))
    if missing:
        stack.add(f"{name}: settings it reads but is not given: {missing}")
    strays = sorted(k for k in env if k.startswith("LOUZHANG_") and k not in every_setting)
    if strays:
        stack.add(f"{name}: LOUZHANG_ variables no service reads (a typo?): {strays}")
    # The two secrets are empty placeholders in base/secrets.yaml (a service refuses to start without them).
    filled = {**env, **{k: env.get(k) or "filled-in" for k in ("LOUZHANG_ADMIN_TOKEN", "LOUZHANG_JWT_SECRET")}}
    try:
        with environment(filled):
            return cls(_env_file=None)
    except ValueError as exc:  # pydantic's ValidationError: a value that does not parse
        stack.add(f"{name}: its settings do not parse: {exc}")
        return None


def resource_problems(stack: Stack, name: str, resources: Obj) -> None:
    wanted = [(kind, resource) for kind in ("requests", "limits") for resource in ("cpu", "memory")]
    missing = [f"{resource} {kind}" for kind, resource in wanted if resource not in resources.get(kind, {})]
    if missing:
        stack.add(f"{name}: no {', '.join(missing)}")
        return
    for resource in ("cpu", "memory"):
        if quantity(resources["requests"][resource]) > quantity(resources["limits"][resource]):
            stack.add(f"{name}: {resource} request above its limit")
    if quantity(resources["limits"]["memory"]) < MEASURED_PEAK_MB[name] * 1e6 * MEMORY_HEADROOM:
        stack.add(
            f"{name}: memory limit {resources['limits']['memory']} is below the {MEASURED_PEAK_MB[name]} MB "
            f"measured + {MEMORY_HEADROOM - 1:.0%}"
        )


def url_problems(stack: Stack, name: str, settings: ServiceSettings, stores: Datastores) -> None:
    """The broker and database URLs name every node, with the credentials the operators were given."""
    if hosts_of(settings.amqp_url) != stores.broker_nodes:
        stack.add(
            f"{name}: LOUZHANG_AMQP_URL names {hosts_of(settings.amqp_url)}, want every node: {stores.broker_nodes}"
        )
    if credentials_of(settings.amqp_url) != (stores.broker.get("username"), stores.broker.get("password")):
        stack.add(f"{name}: LOUZHANG_AMQP_URL's credentials are not the RabbitmqCluster's")
    replica_set = stores.mongo["metadata"]["name"]
    query = parse_qs(urlsplit(settings.mongo_url).query)
    if hosts_of(settings.mongo_url) != stores.mongo_members or query.get("replicaSet") != [replica_set]:
        stack.add(
            f"{name}: LOUZHANG_MONGO_URL names {hosts_of(settings.mongo_url)} {query}, "
            f"want {stores.mongo_members} and replicaSet={replica_set}"
        )
    user = stores.mongo_user
    if credentials_of(settings.mongo_url) != (user.get("name"), stores.mongo_password) or query.get("authSource") != [
        user.get("db", "admin")
    ]:
        stack.add(f"{name}: LOUZHANG_MONGO_URL's credentials are not those of the MongoDB user {user.get('name')}")
    roles = {(r["name"], r["db"]) for r in user.get("roles", [])}
    if ("readWrite", settings.mongo_db) not in roles:
        stack.add(f"{name}: the MongoDB user has no readWrite on {settings.mongo_db} (has {sorted(roles)})")


def companion_problems(stack: Stack) -> None:
    """A Service, a PodDisruptionBudget and an HPA per Deployment, each aimed at its pods alone."""
    for name, deployment in stack.deployments.items():
        replicas = deployment["spec"].get("replicas", 1)
        services = [
            s
            for s in the(stack.objects, "Service")
            if selects({"matchLabels": s["spec"].get("selector", {})}, stack.pod_labels(name))
        ]
        if len(services) != 1 or not stack.selects_alone({"matchLabels": services[0]["spec"]["selector"]}, name):
            stack.add(f"{name}: want exactly one Service selecting its pods alone, found {[key(s) for s in services]}")
        elif [(p.get("name"), p.get("targetPort")) for p in services[0]["spec"]["ports"]] != [("http", "http")]:
            stack.add(f"{name}: its Service does not forward http to the container's http port")

        pdbs = [
            p
            for p in the(stack.objects, "PodDisruptionBudget")
            if selects(p["spec"]["selector"], stack.pod_labels(name))
        ]
        if len(pdbs) != 1 or not stack.selects_alone(pdbs[0]["spec"]["selector"], name):
            stack.add(
                f"{name}: want exactly one PodDisruptionBudget selecting its pods alone, found {[key(p) for p in pdbs]}"
            )
        else:
            budget = pdbs[0]["spec"]
            evictable = (
                budget["maxUnavailable"] if "maxUnavailable" in budget else replicas - budget.get("minAvailable", 0)
            )
            if not 1 <= evictable < replicas:
                stack.add(f"{name}: its PodDisruptionBudget {budget} lets {evictable} of {replicas} pods go at once")

        hpas = [
            h for h in the(stack.objects, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"].get("name") == name
        ]
        if (
            len(hpas) != 1
            or hpas[0]["apiVersion"] != "autoscaling/v2"
            or hpas[0]["spec"]["scaleTargetRef"].get("kind") != "Deployment"
        ):
            stack.add(f"{name}: want one autoscaling/v2 HorizontalPodAutoscaler on the Deployment, found {len(hpas)}")
            continue
        hpa = hpas[0]["spec"]
        low, high = hpa.get("minReplicas", 1), hpa["maxReplicas"]
        if not (2 <= low <= replicas <= high and low < high):
            stack.add(
                f"{name}: HPA {low}..{high} with {replicas} replicas: want 2 <= min <= replicas <= max, min < max"
            )
        if not any(m.get("resource", {}).get("name") == "cpu" for m in hpa.get("metrics", [])):
            stack.add(f"{name}: its HPA does not scale on CPU")


def network_problems(stack: Stack, stores: Datastores, service_pods: dict[str, Peer]) -> None:
    """Who may talk to whom, tried pair by pair against the NetworkPolicies."""
    if not any(
        p["spec"]["podSelector"] == {}
        and "Ingress" in p["spec"].get("policyTypes", [])
        and not p["spec"].get("ingress")
        for p in the(stack.objects, "NetworkPolicy")
    ):
        stack.add("no default-deny ingress NetworkPolicy for the namespace")
    rabbit_name, mongo_name = stores.rabbit["metadata"]["name"], stores.mongo["metadata"]["name"]
    # The labels the operators give their pods (cluster-operator internal/metadata/label.go;
    # mongodb-kubernetes-operator controllers/construct/mongodbstatefulset.go).
    rabbit_labels = {
        "app.kubernetes.io/name": rabbit_name,
        "app.kubernetes.io/component": "rabbitmq",
        "app.kubernetes.io/part-of": "rabbitmq",
    }
    rabbit = Peer("louzhang", rabbit_labels, {"amqp": 5672, "prometheus": 15692})
    mongo = Peer("louzhang", {"app": f"{mongo_name}-svc"})
    stranger = Peer("louzhang", {"run": "debug"})
    ingress_controller = Peer("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    prometheus = Peer("monitoring", {"app.kubernetes.io/name": "prometheus"})
    dns = Peer("kube-system", {"k8s-app": "kube-dns"})
    public, inside = Peer(None, ip="203.0.113.10"), Peer(None, ip="10.1.2.3")
    Case = tuple[str, Peer, Peer, int, str]
    must: list[Case] = [
        ("rabbitmq nodes cluster", rabbit, rabbit, 25672, "TCP"),
        ("rabbitmq nodes find each other", rabbit, rabbit, 4369, "TCP"),
        ("mongodb members replicate", mongo, mongo, 27017, "TCP"),
        ("prometheus scrapes rabbitmq", prometheus, rabbit, 15692, "TCP"),
    ]
    must_not: list[Case] = [
        ("a stranger pod reaches mongodb", stranger, mongo, 27017, "TCP"),
        ("a stranger pod reaches rabbitmq", stranger, rabbit, 5672, "TCP"),
        ("the ingress controller reaches mongodb", ingress_controller, mongo, 27017, "TCP"),
        ("the ingress controller reaches rabbitmq", ingress_controller, rabbit, 5672, "TCP"),
    ]
    for name, pod in service_pods.items():
        port = pod.ports["http"]
        must += [
            (f"the ingress controller reaches {name}", ingress_controller, pod, port, "TCP"),
            (f"prometheus scrapes {name}", prometheus, pod, port, "TCP"),
            (f"{name} reaches rabbitmq", pod, rabbit, 5672, "TCP"),
            (f"{name} reaches mongodb", pod, mongo, 27017, "TCP"),
            (f"{name} resolves names", pod, dns, 53, "UDP"),
        ]
        must_not += [
            (f"a stranger pod reaches {name}", stranger, pod, port, "TCP"),
            (f"{name} reaches an inside address", pod, inside, 443, "TCP"),
            (f"{name} reaches mongodb on another port", pod, mongo, 27018, "TCP"),
        ]
        for other, theirs in service_pods.items():
            if other == name:
                continue
            # Only the workbench (reporting) calls the others' APIs; otherwise they talk through events.
            call = (f"{name} calls {other}", pod, theirs, theirs.ports["http"], "TCP")
            (must if name == "reporting" and other != "reporting" else must_not).append(call)
        outside = must if name == "notify" else must_not  # webhooks, robots, SMTP: notify alone
        outside += [(f"{name} reaches a public address", pod, public, p, "TCP") for p in (443, 587, 8443)]
    for what, source, target, port, protocol in must:
        if not allowed(stack.objects, source, target, port, protocol):
            stack.add(f"NetworkPolicy: blocked, but must pass: {what} ({port}/{protocol})")
    for what, source, target, port, protocol in must_not:
        if allowed(stack.objects, source, target, port, protocol):
            stack.add(f"NetworkPolicy: passes, but must not: {what} ({port}/{protocol})")


def scrape_problems(stack: Stack, service_pods: dict[str, Peer]) -> None:
    for name, pod in service_pods.items():
        endpoints = [
            e
            for m in the(stack.objects, "PodMonitor")
            if selects(m["spec"]["selector"], pod.labels)
            for e in m["spec"].get("podMetricsEndpoints", [])
        ]
        if not any(e.get("port") == "http" and e.get("path", "/metrics") == "/metrics" for e in endpoints):
            stack.add(f"{name}: no PodMonitor scrapes its http port at /metrics (found {endpoints})")


def ingress_problems(stack: Stack) -> None:
    """TLS on every host; each path to the service that serves it; every public route reachable."""
    settings = one(stack.objects, "ConfigMap", "louzhang-settings") or {}
    public_url = urlsplit(settings.get("data", {}).get("LOUZHANG_PUBLIC_URL", ""))
    for ingress in the(stack.objects, "Ingress"):
        spec = ingress["spec"]
        tls_hosts = {h for t in spec.get("tls", []) if t.get("secretName") for h in t.get("hosts", [])}
        rule_hosts = {r.get("host") for r in spec.get("rules", [])}
        if not rule_hosts or not rule_hosts <= tls_hosts:
            stack.add(f"Ingress {ingress['metadata']['name']}: hosts {rule_hosts} without TLS (TLS for {tls_hosts})")
        if public_url.scheme != "https" or public_url.hostname not in rule_hosts:
            stack.add(f"LOUZHANG_PUBLIC_URL {public_url.geturl()} is not https on the Ingress host {rule_hosts}")
        routed = [(p["path"], p["backend"]["service"]) for r in spec.get("rules", []) for p in r["http"]["paths"]]
        routes = {s: public_routes(s) for s in SERVICES}
        for path, backend in routed:
            target = backend["name"]
            if target not in routes or backend.get("port", {}).get("name") != "http":
                stack.add(f"Ingress path {path} goes to {backend}, not to a service's http port")
                continue
            if not any(prefix_matches(path, r) for r in routes[target]):
                stack.add(f"Ingress path {path} goes to {target}, which serves nothing there")
            for other, theirs in routes.items():
                if other != target and any(prefix_matches(path, r) for r in theirs):
                    stack.add(f"Ingress path {path} goes to {target}, but {other} serves routes under it")
        for service, paths in routes.items():
            for route in sorted(paths):
                if not any(prefix_matches(p, route) and b["name"] == service for p, b in routed):
                    stack.add(f"{service}'s {route} is not reachable through the Ingress")


def problems(objects: list[Obj], secrets: list[Obj]) -> list[str]:
    """Everything wrong with a built stack that runs with `secrets`."""
    stack = Stack(objects, secrets)
    stores = datastore_problems(stack)
    if stores is None:
        return stack.found
    service_pods = deployment_problems(stack, stores)
    companion_problems(stack)
    network_problems(stack, stores, service_pods)
    scrape_problems(stack, service_pods)
    ingress_problems(stack)
    return stack.found


# ---- the tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> list[Obj]:
    return build(BASE)


@pytest.fixture(scope="module")
def production() -> list[Obj]:
    return build(PRODUCTION)


def test_base_objects_are_valid_kubernetes_and_crd_objects(base: list[Obj]) -> None:
    found = schema_problems(base)
    assert not found, "\n".join(found)


def test_production_objects_are_valid_kubernetes_and_crd_objects(production: list[Obj]) -> None:
    found = schema_problems(production)
    assert not found, "\n".join(found)


def test_base_keeps_every_rule(base: list[Obj]) -> None:
    found = problems(base, the(base, "Secret"))
    assert not found, "\n".join(found)


def test_production_keeps_every_rule(base: list[Obj], production: list[Obj]) -> None:
    found = problems(production, the(base, "Secret"))
    assert not found, "\n".join(found)


def test_production_carries_no_secret_and_base_only_placeholders(base: list[Obj], production: list[Obj]) -> None:
    assert the(production, "Secret") == [], "applying the overlay would put placeholders over the real Secrets"
    values = {f"{s['metadata']['name']}/{k}": v for s in the(base, "Secret") for k, v in secret_data(s).items()}
    # Empty, so that a service started with them refuses to start, or marked CHANGE-ME.
    assert values["louzhang-secrets/LOUZHANG_ADMIN_TOKEN"] == ""
    assert values["louzhang-secrets/LOUZHANG_JWT_SECRET"] == ""
    assert "CHANGE-ME" in values["louzhang-rabbitmq-credentials/password"]
    assert "CHANGE-ME" in values["louzhang-mongodb-password/password"]
    settings = one(base, "ConfigMap", "louzhang-settings")
    assert settings is not None
    secret_keys = {k.rsplit("/", 1)[1] for k in values} - {"username", "host", "port", "provider", "type"}
    assert not secret_keys & set(settings["data"]), "a secret is in the ConfigMap"


def memory_limit(deployment: Obj) -> float:
    return quantity(deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"])


def test_production_scales_beyond_base(base: list[Obj], production: list[Obj]) -> None:
    for name in SERVICES:
        b, p = one(base, "Deployment", name), one(production, "Deployment", name)
        assert b is not None and p is not None
        assert p["spec"]["replicas"] > b["spec"]["replicas"], name
        assert memory_limit(p) > memory_limit(b), name
        hpa_b, hpa_p = one(base, "HorizontalPodAutoscaler", name), one(production, "HorizontalPodAutoscaler", name)
        assert hpa_b is not None and hpa_p is not None
        assert hpa_p["spec"]["maxReplicas"] > hpa_b["spec"]["maxReplicas"], name
        image = p["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith("registry.example.org/louzhang:"), image
    assert one(production, "Ingress") is not None and one(base, "Ingress") is None


# Each rule shown able to fail: a broken copy of the production stack, and what must be said about it.
MUTATIONS: dict[str, tuple[Callable[[list[Obj]], Any], str]] = {}


def mutation(expected: str) -> Callable[[Callable[[list[Obj]], Any]], Callable[[list[Obj]], Any]]:
    def register(change: Callable[[list[Obj]], Any]) -> Callable[[list[Obj]], Any]:
        MUTATIONS[change.__name__] = (change, expected)
        return change

    return register


def get(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = one(objects, kind, name)
    assert found is not None, (kind, name)
    return found


def container(objects: list[Obj], name: str) -> Obj:
    return get(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def settings_data(objects: list[Obj]) -> dict[str, str]:
    return get(objects, "ConfigMap", "louzhang-settings")["data"]  # type: ignore[no-any-return]


@mutation("intake: readinessProbe")
def readiness_path_typo(o: list[Obj]) -> None:
    container(o, "intake")["readinessProbe"]["httpGet"]["path"] = "/ready"


@mutation("routing: livenessProbe")
def liveness_on_readyz(o: list[Obj]) -> None:
    container(o, "routing")["livenessProbe"]["httpGet"]["path"] = "/readyz"


@mutation("notify: readinessProbe")
def probe_on_another_port(o: list[Obj]) -> None:
    container(o, "notify")["readinessProbe"]["httpGet"]["port"] = 8001


@mutation("reporting: 1 replicas")
def one_replica(o: list[Obj]) -> None:
    get(o, "Deployment", "reporting")["spec"]["replicas"] = 1


@mutation("intake: no memory limits")
def no_memory_limit(o: list[Obj]) -> None:
    del container(o, "intake")["resources"]["limits"]["memory"]


@mutation("routing: memory limit 256Mi is below")
def limit_below_the_measured_peak(o: list[Obj]) -> None:
    container(o, "routing")["resources"]["limits"]["memory"] = "256Mi"


@mutation("never latest")
def latest_tag(o: list[Obj]) -> None:
    container(o, "notify")["image"] = "registry.example.org/louzhang:latest"


@mutation("notify: runs")
def another_service_run(o: list[Obj]) -> None:
    container(o, "notify")["args"] = ["serve", "intake"]


@mutation("settings it reads but is not given: ['LOUZHANG_WORK_HOURS']")
def setting_missing(o: list[Obj]) -> None:
    del settings_data(o)["LOUZHANG_WORK_HOURS"]


@mutation("no service reads (a typo?): ['LOUZHANG_RATE_LIMIT_PER_MINUTE']")
def setting_misspelt(o: list[Obj]) -> None:
    data = settings_data(o)
    data["LOUZHANG_RATE_LIMIT_PER_MINUTE"] = data.pop("LOUZHANG_RATE_LIMIT_PER_MIN")


@mutation("routing: its settings do not parse")
def setting_that_does_not_parse(o: list[Obj]) -> None:
    settings_data(o)["LOUZHANG_AUTOCLOSE"] = "a week"


@mutation("want every node")
def broker_url_with_one_node(o: list[Obj]) -> None:
    data = settings_data(o)
    data["BROKER_HOSTS"] = data["BROKER_HOSTS"].split(",")[0]


@mutation("refers to $(MONGO_HOSTS)")
def undefined_variable_in_a_url(o: list[Obj]) -> None:
    env = container(o, "notify")["env"]
    next(v for v in env if v["name"] == "LOUZHANG_MONGO_URL")["value"] = "mongodb://$(MONGO_HOSTS)/"


@mutation("credentials are not the RabbitmqCluster's")
def broker_user_from_elsewhere(o: list[Obj]) -> None:
    env = container(o, "intake")["env"]
    next(v for v in env if v["name"] == "LOUZHANG_AMQP_URL")["value"] = "amqp://guest:guest@$(BROKER_HOSTS)/"


@mutation("routing: want exactly one PodDisruptionBudget")
def pdb_gone(o: list[Obj]) -> None:
    o.remove(get(o, "PodDisruptionBudget", "routing"))


@mutation("lets 3 of 3 pods go at once")
def pdb_that_protects_nothing(o: list[Obj]) -> None:
    get(o, "PodDisruptionBudget", "intake")["spec"]["maxUnavailable"] = 3


@mutation("notify: want one autoscaling/v2")
def hpa_gone(o: list[Obj]) -> None:
    o.remove(get(o, "HorizontalPodAutoscaler", "notify"))


@mutation("intake: HPA 1..")
def hpa_below_two(o: list[Obj]) -> None:
    get(o, "HorizontalPodAutoscaler", "intake")["spec"]["minReplicas"] = 1


@mutation("a stranger pod reaches intake")
def network_open_to_any_pod(o: list[Obj]) -> None:
    get(o, "NetworkPolicy", "louzhang-services")["spec"]["ingress"].append({"from": [{"podSelector": {}}]})


@mutation("passes, but must not: intake reaches a public address")
def outside_for_every_service(o: list[Obj]) -> None:
    get(o, "NetworkPolicy", "louzhang-notify-outside")["spec"]["podSelector"]["matchLabels"].pop(
        "app.kubernetes.io/name"
    )


@mutation("blocked, but must pass: notify reaches a public address")
def notify_shut_in(o: list[Obj]) -> None:
    o.remove(get(o, "NetworkPolicy", "louzhang-notify-outside"))


@mutation("no default-deny")
def network_policies_gone(o: list[Obj]) -> None:
    for policy in the(o, "NetworkPolicy"):
        o.remove(policy)


@mutation("RabbitmqCluster replicas 1")
def rabbitmq_on_one_node(o: list[Obj]) -> None:
    get(o, "RabbitmqCluster")["spec"]["replicas"] = 1


@mutation("MongoDBCommunity: members 5")
def mongodb_with_five_members(o: list[Obj]) -> None:
    get(o, "MongoDBCommunity")["spec"]["members"] = 5


@mutation("electionTimeoutMillis <= 2000")
def slow_elections(o: list[Obj]) -> None:
    get(o, "MongoDBCommunity")["spec"]["automationConfig"]["replicaSet"]["settings"]["electionTimeoutMillis"] = 10000


@mutation("intake: no PodMonitor scrapes")
def pod_monitor_gone(o: list[Obj]) -> None:
    o.remove(get(o, "PodMonitor", "louzhang-services"))


@mutation("Ingress path /v1/issues goes to routing")
def ingress_path_to_another_service(o: list[Obj]) -> None:
    get(o, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "routing"


@mutation("intake's /open311/v2/requests.{fmt} is not reachable")
def ingress_without_open311(o: list[Obj]) -> None:
    paths = get(o, "Ingress")["spec"]["rules"][0]["http"]["paths"]
    paths.remove(next(p for p in paths if p["path"] == "/open311"))


@mutation("without TLS")
def ingress_without_tls(o: list[Obj]) -> None:
    del get(o, "Ingress")["spec"]["tls"]


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_broken_stack_is_refused(base: list[Obj], production: list[Obj], name: str) -> None:
    broken = copy.deepcopy(production)
    change, expected = MUTATIONS[name]
    change(broken)
    found = problems(broken, the(base, "Secret"))
    assert any(expected in p for p in found), f"{name}: nothing says {expected!r} in {found}"


def misspelt_probe(o: list[Obj]) -> None:
    c = container(o, "intake")
    c["readinesProbe"] = c.pop("readinessProbe")


def unknown_rabbitmq_field(o: list[Obj]) -> None:
    get(o, "RabbitmqCluster")["spec"]["replica"] = 3


def unknown_mongodb_type(o: list[Obj]) -> None:
    get(o, "MongoDBCommunity")["spec"]["type"] = "Replicaset"


def string_for_a_number(o: list[Obj]) -> None:
    get(o, "HorizontalPodAutoscaler", "intake")["spec"]["minReplicas"] = "2"


def unknown_kind(o: list[Obj]) -> None:
    o.append({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (misspelt_probe, "'readinesProbe' was unexpected"),
        (unknown_rabbitmq_field, "'replica' was unexpected"),
        (unknown_mongodb_type, "'Replicaset' is not one of"),
        (string_for_a_number, "'2' is not of type"),
        (unknown_kind, "neither a built-in kind"),
    ],
)
def test_schemas_refuse_what_the_api_server_would(
    base: list[Obj], change: Callable[[list[Obj]], None], expected: str
) -> None:
    broken = copy.deepcopy(base)
    change(broken)
    found = schema_problems(broken)
    assert any(expected in p for p in found), f"nothing says {expected!r} in {found}"


def test_assembler_refuses_what_it_does_not_do(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\nconfigMapGenerator: []\n")
    with pytest.raises(KustomizeError, match="configMapGenerator"):
        build(tmp_path)
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\npatches: [{path: p.yaml}]\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n")
    (tmp_path / "p.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: '2'}\n")
    with pytest.raises(KustomizeError, match="matches nothing"):
        build(tmp_path)
    (tmp_path / "p.yaml").write_text(
        (tmp_path / "a.yaml").read_text() * 2 + "---\n" + (tmp_path / "a.yaml").read_text()
    )
    with pytest.raises(KustomizeError, match="holds 2 patches"):
        build(tmp_path)


def test_assembler_merges_as_kustomize_does(tmp_path: Path) -> None:
    kustomization = {
        "namespace": "ns",
        "resources": ["d.yaml"],
        "patches": [
            {"path": "p.yaml"},
            {"target": {"kind": "Deployment", "name": "d"}, "patch": "[{op: replace, path: /spec/replicas, value: 4}]"},
        ],
        "images": [{"name": "app", "newName": "r/app", "newTag": "2"}],
    }
    env = [{"name": "X", "value": "1"}, {"name": "Y", "value": "1"}]
    containers = [{"name": "a", "image": "app:1", "env": env}, {"name": "b", "image": "other:1"}]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}},
    }
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}},
    }
    for name, doc in (("kustomization.yaml", kustomization), ("d.yaml", deployment), ("p.yaml", patch)):
        (tmp_path / name).write_text(yaml.safe_dump(doc))
    (built,) = build(tmp_path)
    a, b = built["spec"]["template"]["spec"]["containers"]
    assert built["metadata"]["namespace"] == "ns" and built["spec"]["replicas"] == 4
    assert a["image"] == "r/app:2" and b["image"] == "other:1"
    assert a["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
