"""Photos of a result (办结 with proof): images only, checked by content, size-limited, kept in
GridFS, shown to those who may read the order, on the workbench page and as Open311's media_url."""

from __future__ import annotations

import re
import struct
import zlib

import httpx

from tests.integration.test_workbench import CSRF, signed_in
from tests.support.api import Api
from tests.support.endpoints import Mailbox
from tests.support.servers import eventually


def png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def submit(api: Api, title: str) -> str:
    body = {"building_id": "B1", "service_code": "talent", "title": title, "description": "照片测试"}
    issue_id = str(api.post("intake", "/v1/issues", json=body).json()["id"])
    eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
    return issue_id


def test_a_result_carries_photos_checked_by_content(api: Api) -> None:
    issue_id = submit(api, "照片 API 测试")
    officer = api.as_token(api.token_for("staff", "S06"))
    path = f"/v1/workorders/{issue_id}/photos"
    assert officer.post("routing", f"/v1/workorders/{issue_id}/acknowledge", json={}).status_code == 200
    r = officer.post("routing", path, files={"file": ("result.png", png(), "image/png")})
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["content_type"] == "image/png" and photo["size"] == len(png()) and len(photo["id"]) >= 22
    # Named and declared an image, but not one: refused at the file.
    r = officer.post("routing", path, files={"file": ("photo.jpg", b"<script>alert(1)</script>", "image/jpeg")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    too_big = b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024)
    assert officer.post("routing", path, files={"file": ("big.jpg", too_big, "image/jpeg")}).status_code == 413
    outsider = api.as_token(api.token_for("staff", "S03"))
    assert outsider.post("routing", path, files={"file": ("x.png", png(), "image/png")}).status_code == 403
    # Read by those who may read the order, as the image it is; to others as an unknown photo.
    shown = officer.get("routing", f"{path}/{photo['id']}")
    assert shown.status_code == 200 and shown.content == png() and shown.headers["content-type"] == "image/png"
    assert outsider.get("routing", f"{path}/{photo['id']}").status_code == 404
    assert officer.get("routing", f"{path}/no-such-photo").status_code == 404
    assert api.get("routing", f"/v1/workorders/{issue_id}").json()["photos"] == [
        {"id": photo["id"], "content_type": "image/png"}
    ]
    # Resolved: Open311's media_url shows the photo by its id alone.
    assert officer.post("routing", f"/v1/workorders/{issue_id}/resolve", json={"note": "已办结"}).status_code == 200
    assert officer.post("routing", path, files={"file": ("late.png", png(), "image/png")}).status_code == 409

    def media_url() -> str | None:
        r = api.get("intake", f"/open311/v2/requests/{issue_id}.json", params={"api_key": api.token})
        return r.json()[0]["media_url"] if r.status_code == 200 else None

    url = eventually(media_url, what="media_url")
    assert url == f"{api.stack.url('reporting')}/photos/{photo['id']}"
    public = httpx.get(url)
    assert public.status_code == 200 and public.content == png()
    assert httpx.get(f"{api.stack.url('reporting')}/photos/AAAAAAAAAAAAAAAAAAAAAA").status_code == 404


def test_the_workbench_takes_photos_with_the_result_and_shows_them(api: Api, mailbox: Mailbox) -> None:
    issue_id = submit(api, "照片页面测试")
    page_path = f"/issues/{issue_id}"
    officer = signed_in(api, mailbox, "S06", page_path)
    [csrf, *_] = CSRF.findall(officer.get(page_path).text)
    assert officer.post(f"{page_path}/acknowledge", data={"csrf": csrf}).status_code == 303
    r = officer.post(
        f"{page_path}/resolve",
        data={"csrf": csrf, "note": "已清理，附照片"},
        files=[("photos", ("a.png", png(), "image/png")), ("photos", ("b.png", png(), "image/png"))],
    )
    assert r.status_code == 303, r.text
    page = officer.get(page_path).text
    links = re.findall(rf'<img src="(/issues/{issue_id}/photos/[^"]+)"', page)
    assert len(links) == 2
    assert officer.get(links[0]).content == png()
    # A text file named like a photo is refused in words; nothing is resolved.
    other = submit(api, "照片页面拒绝测试")
    officer.post(f"/issues/{other}/acknowledge", data={"csrf": csrf})
    refused = officer.post(
        f"/issues/{other}/resolve",
        data={"csrf": csrf, "note": "附件不是照片"},
        files=[("photos", ("fake.jpg", b"not an image", "image/jpeg"))],
    )
    assert refused.status_code == 422 and "请检查填写的内容" in refused.text
    assert api.get("routing", f"/v1/workorders/{other}").json()["status"] == "acknowledged"
