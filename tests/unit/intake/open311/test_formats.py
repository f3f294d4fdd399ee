"""GeoReport JSON and XML rendering: element names, booleans, nulls, escaping."""

from __future__ import annotations

import json
from typing import Any

import xmltodict

from intake.open311.formats import error, render, render_errors, to_xml

NASTY = 'a <script>alert("x")</script> & b > c \' " ]]> 中文\r\nnew line'


def test_json_is_the_bare_value() -> None:
    body, media_type = render("json", "services", [{"service_code": "a", "metadata": True, "group": None}])
    assert media_type.startswith("application/json")
    assert json.loads(body) == [{"service_code": "a", "metadata": True, "group": None}]
    assert "中文".encode() in render("json", "x", ["中文"])[0]


def test_xml_services() -> None:
    body, media_type = render(
        "xml",
        "services",
        [
            {"service_code": "a", "metadata": True, "keywords": "x, y", "group": None},
            {"service_code": "b", "metadata": False, "keywords": "", "group": "安全"},
        ],
    )
    assert media_type.startswith("text/xml")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<services><service><service_code>a</service_code>')
    parsed = xmltodict.parse(body)["services"]["service"]
    assert parsed == [
        {"service_code": "a", "metadata": "true", "keywords": "x, y", "group": None},
        {"service_code": "b", "metadata": "false", "keywords": None, "group": "安全"},
    ]


def test_xml_service_definition_nesting() -> None:
    value = {
        "service_code": "fire",
        "attributes": [
            {
                "variable": True,
                "code": "building_id",
                "order": 1,
                "values": [{"key": "B1", "name": "一号楼"}, {"key": "B2", "name": "二号楼"}],
            }
        ],
    }
    parsed = xmltodict.parse(to_xml("service_definition", value))["service_definition"]
    attribute = parsed["attributes"]["attribute"]
    assert attribute["variable"] == "true" and attribute["order"] == "1"
    assert attribute["values"]["value"] == [{"key": "B1", "name": "一号楼"}, {"key": "B2", "name": "二号楼"}]


def test_xml_escaping_round_trips() -> None:
    body = to_xml("service_requests", [{"service_request_id": "1", "description": NASTY, "lat": None}])
    assert b"<script>" not in body and b"&lt;script&gt;" in body and b"&amp;" in body
    request = xmltodict.parse(body)["service_requests"]["request"]
    assert request == {"service_request_id": "1", "description": NASTY, "lat": None}


def test_xml_drops_only_what_xml_cannot_carry() -> None:
    body = to_xml("x", {"description": "bell\x07 tab\there"})
    assert xmltodict.parse(body)["x"]["description"] == "bell\ufffd tab\there"


def test_error_shapes() -> None:
    errors: list[dict[str, Any]] = [error(400, "service_code is required"), error(400, "description <&> is required")]
    body, _ = render_errors("json", errors)
    assert json.loads(body) == [
        {"code": 400, "description": "service_code is required"},
        {"code": 400, "description": "description <&> is required"},
    ]
    body, _ = render_errors("xml", errors[:1])
    assert body.endswith(
        b"<errors><error><code>400</code><description>service_code is required</description></error></errors>"
    )
    assert xmltodict.parse(render_errors("xml", errors)[0])["errors"]["error"][1] == {
        "code": "400",
        "description": "description <&> is required",
    }
