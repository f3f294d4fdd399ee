"""The pure part of the upsert: checking items, duplicates, what happens to each, the report."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import ValidationError
from stdnum.cn.uscc import calc_check_digit

from kernel.enterprises import Enterprise
from routing.enterprises.importer import Combined, split_duplicates
from routing.enterprises.registry import RegistryRow
from routing.enterprises.service import (
    Checked,
    Refusal,
    check,
    check_items,
    decide,
    diff,
    merge,
    report,
)

BUILDINGS = {"B1", "B2"}
STAFF = {"S1", "S2"}
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    body = "91310107" + "".join(rng.choice(_ALPHABET) for _ in range(9))
    return body + calc_check_digit(body)


def wrong_check(code: str) -> str:
    return code[:-1] + next(c for c in _ALPHABET if c != code[-1])


def item(**fields: Any) -> dict[str, Any]:
    return {"name": "示例科技有限公司", "building_id": "B1", "uscc": uscc(), **fields}


def stored(fields: dict[str, Any], version: int = 1) -> dict[str, Any]:
    base = {"industry": None, "contact": None, "plan": []}
    return {"_id": "oid", **base, **fields, "version": version}


# ---- the model ------------------------------------------------------------------


def test_the_model_checks_the_check_character() -> None:
    code = uscc()
    assert Enterprise(id="E1", name="甲", building_id="B1", uscc=code).uscc == code
    assert (
        Enterprise(id="E1", name="甲", building_id="B1", uscc=f" {code[:8].lower()}-{code[8:].lower()} ").uscc == code
    )
    with pytest.raises(ValidationError, match="not a valid 统一社会信用代码"):
        Enterprise(id="E1", name="甲", building_id="B1", uscc=wrong_check(code))
    with pytest.raises(ValidationError, match="not a valid"):
        Enterprise(id="E1", name="甲", building_id="B1", uscc=code[:17])


def test_the_model_checks_lengths() -> None:
    with pytest.raises(ValidationError):
        Enterprise(id="E" * 65, name="甲", building_id="B1", uscc=uscc())
    with pytest.raises(ValidationError):
        Enterprise(id="E1", name="甲" * 201, building_id="B1", uscc=uscc())


# ---- one item -----------------------------------------------------------------------


def test_a_good_item_without_id() -> None:
    result = check(item(industry="金融"), 1, BUILDINGS)
    assert isinstance(result, Checked)
    assert not result.explicit_id
    assert result.given == {"name", "building_id", "uscc", "industry"}


def test_refusals_name_the_field() -> None:
    bad = check(item(uscc="91310107MA1DEM0019"), 4, BUILDINGS)
    assert bad == Refusal(
        4,
        "91310107MA1DEM0019",
        "uscc (统一社会信用代码): '91310107MA1DEM0019' is not a valid 统一社会信用代码 "
        "(18 characters, the last a check character)",
    )
    missing = check({"uscc": uscc(), "building_id": "B1", "id": "E9"}, 2, BUILDINGS)
    assert isinstance(missing, Refusal) and missing.reason == "name (企业名称): required" and missing.id == "E9"
    nested = check(item(plan=[{"item": "x", "due": "soon"}]), 3, BUILDINGS)
    assert isinstance(nested, Refusal) and nested.reason.startswith("plan[0].due: ")
    extra = check(item(colour="red"), 3, BUILDINGS)
    assert isinstance(extra, Refusal) and extra.reason == "colour: Extra inputs are not permitted"
    assert check("E1", 5, BUILDINGS) == Refusal(5, None, "an item must be an object holding the enterprise's fields")


def test_unknown_building_and_plan_owner() -> None:
    result = check(item(building_id="B9", plan=[{"item": "x", "owner": "S9"}]), 1, BUILDINGS, STAFF)
    assert isinstance(result, Refusal)
    assert result.reason == (
        "building_id: unknown building 'B9' (not in the current directory); plan[0].owner: unknown staff id 'S9'"
    )


def test_shape_and_rule_problems_of_a_row_come_in_one_reason() -> None:
    plan = [{"item": "x", "owner": "S9", "due": "soon"}, {"item": "y", "owner": "S1"}]
    result = check(item(name="", building_id="B9", plan=plan), 7, BUILDINGS, STAFF)
    assert isinstance(result, Refusal) and result.row == 7
    parts = result.reason.split("; ")
    assert parts[0] == "name (企业名称): String should have at least 1 character"
    assert parts[1].startswith("plan[0].due: ")
    assert parts[2:] == [
        "building_id: unknown building 'B9' (not in the current directory)",
        "plan[0].owner: unknown staff id 'S9'",
    ]
    # A field whose shape is wrong is not named again by the rules.
    result = check(item(building_id="B" * 65), 2, BUILDINGS, STAFF)
    assert isinstance(result, Refusal)
    assert result.reason == "building_id (楼宇编号): String should have at most 64 characters"


def test_duplicates_refuse_the_later_row() -> None:
    code = uscc()
    items = [item(uscc=code), item(uscc=code.lower()), item(id="E1"), item(id="E1"), item(uscc=wrong_check(code))]
    checked, refused = check_items(items, BUILDINGS, rows=[2, 3, 5, 6, 8])
    assert [c.row for c in checked] == [2, 5]
    assert [(r.row, r.reason.split(":")[0]) for r in refused] == [
        (3, "uscc " + code + " is already on row 2 of this batch"),
        (6, "id 'E1' is already on row 5 of this batch"),
        (8, "uscc (统一社会信用代码)"),
    ]


# ---- what happens to each ----------------------------------------------------------


def checked(**fields: Any) -> Checked:
    result = check(item(**fields), 1, BUILDINGS)
    assert isinstance(result, Checked), result
    return result


def test_diff() -> None:
    new = merge(None, checked())
    assert diff(None, new) == "created"
    assert diff(stored(new), new) == "unchanged"
    assert diff(stored(new), {**new, "name": "乙"}) == "updated"
    assert diff(stored(new), {**new, "contact": {"name": "王", "phone": None}}) == "updated"


def test_a_new_enterprise_without_id_takes_its_uscc() -> None:
    c = checked(uscc="91310107ma1dem0018")
    assert merge(None, c)["id"] == "91310107MA1DEM0018"
    assert merge(None, checked(id="E7"))["id"] == "E7"


def test_left_out_fields_keep_what_is_stored() -> None:
    plan = [{"item": "协助申报", "owner": "S1", "due": "2026-05-01", "done": False}]
    c = checked()
    existing = stored(
        {**merge(None, c), "id": "E1", "industry": "金融", "contact": {"name": "王", "phone": "1"}, "plan": plan}
    )
    fields = merge(existing, c)
    assert fields["id"] == "E1"
    assert (fields["industry"], fields["contact"], fields["plan"]) == ("金融", {"name": "王", "phone": "1"}, plan)
    assert diff(existing, fields) == "unchanged"

    cleared = merge(existing, checked(uscc=c.enterprise.uscc, industry=None, plan=[]))
    assert (cleared["industry"], cleared["plan"], cleared["contact"]) == (None, [], {"name": "王", "phone": "1"})


def test_decide() -> None:
    known = checked(id="E1")
    renamed = checked(id="E2", name="改名")
    other_id = checked(id="E9")
    taken_id = checked(id="E3")
    fresh = checked()
    by_uscc = {
        known.enterprise.uscc: stored(merge(None, known)),
        renamed.enterprise.uscc: stored(merge(None, checked(id="E2", uscc=renamed.enterprise.uscc)), version=4),
        other_id.enterprise.uscc: stored({**merge(None, other_id), "id": "E8"}),
    }
    holder = stored({**merge(None, checked(id="E3")), "uscc": uscc()})
    by_id = {d["id"]: d for d in [*by_uscc.values(), holder]}

    decisions, refused = decide([known, renamed, other_id, taken_id, fresh], by_uscc, by_id)

    assert [(d.outcome, d.fields["id"]) for d in decisions] == [
        ("unchanged", "E1"),
        ("updated", "E2"),
        ("created", fresh.enterprise.uscc),
    ]
    assert decisions[1].previous is not None and decisions[1].previous["version"] == 4
    assert [(r.id, r.reason) for r in refused] == [
        ("E9", f"id: uscc {other_id.enterprise.uscc} is enterprise 'E8'; an enterprise's id does not change"),
        ("E3", f"id: 'E3' is already the enterprise with uscc {holder['uscc']}"),
    ]


def test_report_orders_refusals_by_row() -> None:
    assert report(1, 2, [Refusal(5, None, "b"), Refusal(2, "E1", "a")]) == {
        "created": 1,
        "updated": 2,
        "refused": [{"row": 2, "id": "E1", "reason": "a"}, {"row": 5, "id": None, "reason": "b"}],
    }


# ---- the command line's batches -------------------------------------------------------


def test_the_file_rows_come_back_through_batches() -> None:
    code = uscc()
    rows = [RegistryRow(n, item(uscc=c)) for n, c in [(1, code), (2, uscc()), (4, code), (5, uscc()), (6, uscc())]]
    to_send, repeated = split_duplicates(rows)
    assert [r.row for r in to_send] == [1, 2, 5, 6]
    assert repeated == [{"row": 4, "id": code, "reason": f"uscc {code} is already on row 1 of the file"}]

    combined = Combined(refused=repeated)
    combined.add(to_send[:2], {"created": 1, "updated": 0, "refused": [{"row": 2, "id": "X", "reason": "bad"}]})
    combined.add(to_send[2:], {"created": 0, "updated": 1, "refused": []})
    assert combined.lines() == ["row 2 (X): bad", f"row 4 ({code}): uscc {code} is already on row 1 of the file"]
    assert combined.summary() == "1 created, 1 updated, 1 unchanged, 2 refused"


def test_a_files_columns_are_named_in_the_reason() -> None:
    columns = {"uscc": "B 统一社会信用代码", "building_id": "D 所在楼宇", "contact_phone": "F 联系电话"}
    bad = item(uscc="91310107MA1DEM0019", building_id="B9", contact={"phone": "1" * 40})
    result = check(bad, 5, BUILDINGS, STAFF, columns)
    assert isinstance(result, Refusal)
    assert result.reason.split("; ") == [
        "uscc (column B 统一社会信用代码): '91310107MA1DEM0019' is not a valid 统一社会信用代码 "
        "(18 characters, the last a check character)",
        "contact.phone (column F 联系电话): String should have at most 32 characters",
        "building_id (column D 所在楼宇): unknown building 'B9' (not in the current directory)",
    ]


def test_a_contact_phone_must_be_a_phone_number() -> None:
    columns = {"contact_phone": "F 联系电话"}
    for phone in ("138-bad-phone", "12345"):
        result = check(item(contact={"phone": phone}), 7, BUILDINGS, STAFF, columns)
        assert isinstance(result, Refusal), phone
        assert result.row == 7
        assert result.reason.startswith("contact.phone (column F 联系电话): "), result.reason
    for phone in ("13800000001", "021-6234 5678", "+852 2345 6789"):
        good = check(item(contact={"phone": phone}), 7, BUILDINGS, STAFF, columns)
        assert not isinstance(good, Refusal), (phone, good)
        assert good.enterprise.contact is not None and good.enterprise.contact.phone == phone  # kept as given
