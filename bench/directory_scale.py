"""The directory at 1×, 10× and 100× Putuo (103 buildings): document size, validation and index
time, the memory a service keeps for it, and the cost of dispatch and of a scope look-up.

`python -m bench.directory_scale` (in-process, pure code: no servers). Figures in docs/scaling.md.
"""

from __future__ import annotations

import copy
import gc
import json
import time
import tracemalloc
from typing import Any

import yaml

from kernel.directory import Directory, DirectoryIndex
from routing.directory.service import DEMO_FILE
from routing.workorders.dispatch import dispatch


def scaled(doc: dict[str, Any], k: int) -> dict[str, Any]:
    """k copies of the district under one root: ids suffixed, each copy its own subtree."""
    if k == 1:
        return doc

    def suffix(node: dict[str, Any], i: int) -> dict[str, Any]:
        node = copy.deepcopy(node)
        node["id"] = f"{node['id']}-{i}"
        node["heads"] = [f"{h}-{i}" for h in node.get("heads", [])]
        node["children"] = [suffix(c, i) for c in node.get("children", [])]
        return node

    out = {"roles": doc["roles"], "services": doc["services"], "staff": [], "buildings": []}
    out["grid"] = {"id": "city", "name": "全市", "heads": [], "children": [suffix(doc["grid"], i) for i in range(k)]}
    for i in range(k):
        out["staff"] += [{**s, "id": f"{s['id']}-{i}", "channels": []} for s in doc["staff"]]
        out["buildings"] += [
            {
                **b,
                "id": f"{b['id']}-{i}",
                "grid_node": f"{b['grid_node']}-{i}",
                "heads": [f"{h}-{i}" for h in b.get("heads", [])],
                "team": {r: f"{m}-{i}" for r, m in b.get("team", {}).items()},
            }
            for b in doc["buildings"]
        ]
    return out


def per_call_us(fn: Any, calls: int) -> float:
    began = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - began) / calls * 1e6


def first_scope_us(directory: Directory, staff_id: str, tries: int = 5) -> float:
    """A person's first scope look-up on a new version (walks every building), in µs."""
    spent = 0.0
    for _ in range(tries):
        fresh = DirectoryIndex(directory)
        began = time.perf_counter()
        fresh.scope(staff_id)
        spent += time.perf_counter() - began
    return spent / tries * 1e6


def measure(k: int, base: dict[str, Any]) -> dict[str, Any]:
    doc = scaled(base, k)
    body = json.dumps(doc, ensure_ascii=False).encode()
    gc.collect()
    tracemalloc.start()
    began = time.perf_counter()
    directory = Directory.model_validate(doc)
    validated = time.perf_counter()
    index = DirectoryIndex(directory)
    indexed = time.perf_counter()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    building = index.buildings[directory.buildings[-1].id]
    service = index.services["fire-safety"] if "fire-safety" in index.services else next(iter(index.services.values()))
    head = directory.grid.children[0].heads[0] if directory.grid.children and directory.grid.children[0].heads else None
    head = head or directory.grid.heads[0]
    calls = max(20, 20_000 // k)
    return {
        "copies": k,
        "buildings": len(directory.buildings),
        "staff": len(directory.staff),
        "grid_nodes": len(index.nodes),
        "document_kb": round(len(body) / 1024),
        "validate_ms": round((validated - began) * 1000, 1),
        "index_ms": round((indexed - validated) * 1000, 1),
        "held_mb": round(held / 1024 / 1024, 1),
        "dispatch_us": round(per_call_us(lambda: dispatch(index, building, service), calls), 1),
        "scope_first_us": round(first_scope_us(directory, head), 1),
        "scope_held_us": round(per_call_us(lambda: index.scope(head), calls), 2),
    }


def main() -> None:
    base = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    rows = [measure(k, base) for k in (1, 10, 100)]
    print(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
