"""`louzhang backup dump|restore` on the real MongoDB: the test stack's database, written while its services
run, restored under another name with the same collections, documents, GridFS files and indexes."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import gridfs
import pytest
from bson import ObjectId
from pymongo import MongoClient
from typer.testing import CliRunner

from ops.backup import MANIFEST, BackupError, restore
from ops.cli import app
from tests.support.api import Api
from tests.support.servers import eventually


def index_specs(db: Any, name: str) -> dict[str, dict[str, Any]]:
    return {i["name"]: {k: v for k, v in i.items() if k not in ("v", "ns")} for i in db[name].list_indexes()}


def test_dump_and_restore_the_stack_database(api: Api, tmp_path: Path) -> None:
    stack = api.stack
    ids = []
    for n in range(3):
        body = {"building_id": "B1", "service_code": "talent", "title": f"备份 {n}", "description": uuid.uuid4().hex}
        r = api.post("intake", "/v1/issues", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for issue_id in ids:
        eventually(lambda i=issue_id: api.get("routing", f"/v1/workorders/{i}").status_code == 200, what="dispatched")
    source = stack.database()
    photo = uuid.uuid4().bytes * 20_000  # 320 kB: several GridFS chunks
    file_id = gridfs.GridFSBucket(source, bucket_name="backup_test").upload_from_stream("p.bin", photo)

    folder = tmp_path / "dump"
    runner = CliRunner()
    env = {"LOUZHANG_MONGO_URL": stack.mongo_url, "LOUZHANG_MONGO_DB": stack.db_name}
    out = runner.invoke(app, ["backup", "dump", str(folder)], env=env)
    assert out.exit_code == 0, out.output
    assert "one snapshot" in out.output

    target = f"{stack.db_name}_restored"
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongo_url, tz_aware=True)
    restored = client[target]
    try:
        out = runner.invoke(app, ["backup", "restore", str(folder)], env={**env, "LOUZHANG_MONGO_DB": target})
        assert out.exit_code == 0, out.output

        names = sorted(n for n in source.list_collection_names() if not n.startswith("system."))
        for expected in ("intake_issues", "routing_workorders", "routing_directory_versions", "backup_test.chunks"):
            assert expected in names
        assert sorted(restored.list_collection_names()) == names
        counts = {n: restored[n].count_documents({}) for n in names}
        assert all(counts[n] > 0 for n in ("intake_issues", "routing_workorders", "backup_test.files"))
        assert counts["backup_test.chunks"] >= 2
        # The dump is one snapshot: what it holds is what the manifest counted, collection by collection
        # (restore refuses a count that differs). Not recounted where a TTL index may have expired a
        # document since (the robot windows, the sent outbox).
        manifest = (folder / MANIFEST).read_text(encoding="utf-8")
        expiring = {n for n in names if any("expireAfterSeconds" in i for i in restored[n].list_indexes())}
        for name, count in counts.items():
            if name not in expiring:
                assert f'"{name}": {count}' in manifest, name

        # Documents come back as they were: the issues, the directory, the photo's bytes.
        for n, issue_id in enumerate(ids):
            issue = restored.intake_issues.find_one({"_id": ObjectId(issue_id)})
            assert issue is not None and issue["title"] == f"备份 {n}", issue_id
        version = source.routing_directory_versions.find_one(sort=[("_id", 1)])
        assert restored.routing_directory_versions.find_one({"_id": version["_id"]}) == version
        assert gridfs.GridFSBucket(restored, bucket_name="backup_test").open_download_stream(file_id).read() == photo

        # Indexes recreated with their options (unique, TTL, partial filters).
        for name in names:
            assert index_specs(restored, name) == index_specs(source, name), name
        assert any(len(index_specs(source, n)) > 1 for n in names)

        # A second restore onto it stops, naming what is there, unless --drop.
        out = runner.invoke(app, ["backup", "restore", str(folder)], env={**env, "LOUZHANG_MONGO_DB": target})
        assert out.exit_code == 1 and "intake_issues" in out.output and "--drop" in out.output
        restored.intake_issues.delete_many({})
        out = runner.invoke(app, ["backup", "restore", "--drop", str(folder)], env={**env, "LOUZHANG_MONGO_DB": target})
        assert out.exit_code == 0, out.output
        assert restored.intake_issues.count_documents({}) == counts["intake_issues"]

        # Dumping into a folder that holds something is refused.
        out = runner.invoke(app, ["backup", "dump", str(folder)], env=env)
        assert out.exit_code == 1 and "not empty" in out.output
    finally:
        client.drop_database(target)
        gridfs.GridFSBucket(source, bucket_name="backup_test").delete(file_id)
        client.close()


def test_a_truncated_dump_is_refused(api: Api, tmp_path: Path) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(api.stack.mongo_url)
    name = f"louzhang_backup_{uuid.uuid4().hex[:8]}"
    try:
        client[name].things.insert_many([{"n": n, "pad": "x" * 100} for n in range(10)])
        from ops.backup import dump

        dump(client, name, tmp_path / "d")
        data = (tmp_path / "d" / "things.bson").read_bytes()
        (tmp_path / "d" / "things.bson").write_bytes(data[:-30])
        with pytest.raises(BackupError, match="truncated"):
            restore(client, f"{name}_r", tmp_path / "d")
    finally:
        client.drop_database(name)
        client.drop_database(f"{name}_r")
        client.close()
