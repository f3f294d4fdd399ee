"""GeoReport v2 documents as JSON or XML bytes. Pure: no I/O, no FastAPI.

The JSON form is the value itself (bare arrays, as the spec shows). The XML form
puts it under the spec's root element (`services`, `service_definition`,
`service_requests`, `errors`, `discovery`), each list item in the element the spec names
(`service`, `request`, `error`, `attribute`, `value`, `endpoint`, `format`), booleans as `true`/`false`,
and null as an empty element. Text is escaped by ElementTree.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Literal

Format = Literal["json", "xml"]
FORMATS: tuple[Format, ...] = ("json", "xml")

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# The element of each item of a list, by the element that holds the list.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}

# Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def error(code: int, description: str) -> dict[str, Any]:
    return {"code": code, "description": description}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = ITEM[element.tag]
        for item in value:
            _fill(ET.SubElement(element, tag), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    # ElementTree escapes & < > but writes CR as is, which a parser would turn into LF:
    # a character reference keeps it (no CR can come from anywhere else but text).
    body = ET.tostring(element, encoding="unicode").replace("\r", "&#13;")
    return (XML_DECLARATION + body).encode("utf-8")


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(fmt: Format, root: str, value: Any) -> tuple[bytes, str]:
    """The body and its media type."""
    if fmt == "xml":
        return to_xml(root, value), XML_TYPE
    return to_json(value), JSON_TYPE


def render_errors(fmt: Format, errors: list[dict[str, Any]]) -> tuple[bytes, str]:
    return render(fmt, "errors", errors)
