"""The workbench in English: `views.t` and `views.said`, and a completeness check that renders every
page in English and fails on any Chinese left that is not the people's own text."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import nodes

from kernel import feedback
from reporting.workbench import pages, views

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
# The switch names Chinese in Chinese, marked as such (lang="zh-CN"): the one Chinese word allowed.
SWITCH = re.compile(r'<a class="lang" href="[^"]*" lang="zh-CN" hreflang="zh-CN">中文</a>')
WORKBENCH = Path(pages.__file__).parent
# The enterprise's own page (/r/{token}, reporter.py) stands apart, in Chinese only so far.
STAFF_TEMPLATES = sorted(p for p in (WORKBENCH / "templates").glob("*.html") if p.name != "reporter.html")


def chinese_left(html: str) -> list[str]:
    text = SWITCH.sub("", html)
    return [text[max(0, m.start() - 30) : m.end() + 30] for m in CJK.finditer(text)]


def test_t_gives_the_english_of_the_chinese_and_chinese_by_default() -> None:
    assert views.t("签收") == views.t("签收", "zh") == "签收"
    assert views.t("签收", "en") == "Acknowledge"
    assert views.t("签收", "en", ctx="step") == "Acknowledged"  # the timeline's step, not the button
    assert views.t("办理中", "en", ctx="step") == "In progress"  # no word of its own: the plain one
    assert views.t("剩余 {parts}", "zh", parts="2小时") == "剩余 2小时"
    assert views.t("剩余 {parts}", "en", parts="2 h") == "2 h left"
    assert views.t("不是键", "en") == "不是键"  # unknown: as given (and the completeness check fails)
    assert views.lang_of("en") == "en" and views.lang_of(None) == views.lang_of("fr") == "zh"


def test_other_services_chinese_is_recognised_by_its_shape() -> None:
    assert views.said("分楼长（天地软件园）", "en") == "Area head (天地软件园)"  # the node's name is data
    assert views.said("点楼长（一号楼）", "en") == "Building head (一号楼)"
    assert views.said("第3层", "en") == "Level 3"
    assert views.said("超过签收时限，升级至第2级", "en") == "Not acknowledged in time: escalated to level 2"
    assert views.said("办结后未回访，自动关闭", "en") == "No feedback after resolution: closed automatically"
    assert views.said("【新工单】三楼消防通道堆物", "en") == "[New work order] 三楼消防通道堆物"
    assert views.said("安全保障员", "en") == "安全保障员"  # a directory's role name: data
    assert views.said("分楼长（天地软件园）", "zh") == "分楼长（天地软件园）"
    assert views.said(None, "en") == ""


def test_time_left_and_refusals_in_english() -> None:
    assert views.left(2 * 3600 + 5 * 60, True, "en") == ("2 working h 5 min left", False)
    assert views.left(30 * 3600, False, "en") == ("1 d 6 h left", False)
    assert views.left(-90, False, "en") == ("overdue by 1 min", True)
    assert views.left(-90, True, "en") == ("overdue by 1 working min", True)
    assert views.left(2 * 3600, False, "zh") == ("剩余 2小时0分", False)
    detail = {"detail": [{"loc": ["body", "note"], "msg": "Field required"}, {"loc": ["x"], "msg": "bad"}]}
    assert views.refusal(422, detail, "en") == "Please check what you entered. Note: Field required; x: bad"
    assert views.refusal(422, detail) == "请检查填写的内容。说明：Field required；x：bad"
    for status in (400, 403, 404, 409, 422, 429, 500, 503):
        words = views.refusal(status, detail, "en")
        assert words and not CJK.search(words), (status, words)


def test_every_label_has_its_english() -> None:
    labels = [
        *views.STATUS.values(),
        *(label for label, _ in views.ACTIONS.values()),
        *(tab.label for tab in views.TABS),
        *views.FIELDS.values(),
        *views.DONE.values(),
        *feedback.SATISFACTION.values(),
        views.NOT_FOUND,
    ]
    for label in labels:
        assert label in views.EN and not CJK.search(views.EN[label]), label
    for step in views.STEPS.values():
        assert not CJK.search(views.t(step, "en", ctx="step")), step
    for key, english in views.EN.items():
        assert not CJK.search(english), key
        # The placeholders of the English are the Chinese's.
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", key)), key


def template_strings() -> list[tuple[str, str, str]]:
    """(template, what, text) of every Chinese piece of every template: its markup and its strings."""
    found = []
    for path in STAFF_TEMPLATES:
        tree = pages.templates.parse(path.read_text(), path.name)
        translated = {
            id(call.args[0])
            for call in tree.find_all(nodes.Call)
            if isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args
        }
        for data in tree.find_all(nodes.TemplateData):
            if CJK.search(data.data) and (path.name, data.data) != ("base.html", "中文"):  # the switch
                found.append((path.name, "markup", data.data))
        for const in tree.find_all(nodes.Const):
            if isinstance(const.value, str) and CJK.search(const.value):
                found.append((path.name, "t" if id(const) in translated else "untranslated", const.value))
    return found


def test_the_templates_write_chinese_only_through_t_and_t_knows_it() -> None:
    strings = template_strings()
    assert strings and len(STAFF_TEMPLATES) >= 7  # the check sees the templates' Chinese at all
    assert [s for s in strings if s[1] != "t"] == []
    assert [s for s in strings if s[2] not in views.EN] == []
    # ... and every one of them is rendered in English below.
    assert {name for name, _ in PAGES} == {p.name for p in STAFF_TEMPLATES} - {"base.html"}


def test_every_chinese_text_of_the_pages_code_has_its_english() -> None:
    """pages.py's message titles and texts are Chinese keys, given to message() to translate."""
    tree = ast.parse((WORKBENCH / "pages.py").read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    texts = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CJK.search(node.value)
        and id(node) not in docstrings
    }
    assert "未找到" in texts
    assert sorted(t for t in texts if t not in views.EN) == []


# ---- every page rendered in English, with data in ASCII: any Chinese left is a missing translation


def order(status: str, **more: Any) -> dict[str, Any]:
    working = True
    ack_left, ack_late = views.left(-3600, working, "en")
    res_left, res_late = views.left(5 * 3600, working, "en")
    return {
        "issue_id": "I1",
        "title": "Blocked fire exit",
        "status": status,
        "urgent": True,
        "building_name": "Building One",
        "node_name": "Park",
        "service_name": "Fire safety",
        "assignees": [{"id": "S4", "name": "Wang"}, {"id": "S5", "name": "Li"}],
        "escalation_level": 1,
        "level_name": "分楼长（Park）",
        "acknowledge_due": "2026-03-02T01:00:00+00:00",
        "resolve_due": "2026-03-03T01:00:00+00:00",
        "ack_left": ack_left,
        "ack_late": ack_late,
        "res_left": res_left,
        "res_late": res_late,
        "late": True,
        "possible_duplicate_of": "I0",
        "duplicate_of": "I00",
        "photos": [{"id": "P1"}, {"id": "P2"}],
        "timeline": [
            {"type": kind, "time": "2026-03-02T01:00:00+00:00", "actor": "S4", "note": "done"} for kind in views.STEPS
        ]
        + [
            {"type": "escalated", "time": "2026-03-02T01:00:00+00:00", "actor": "system", "note": note}
            for note in (
                "超过签收时限，升级至第2级",
                "已到最高级别，签收逾期",
                "超过办结时限，督办",
                "办结后未回访，自动关闭",
            )
        ]
        + [{"type": "assigned", "time": "2026-03-02T01:00:00+00:00", "actor": "system", "note": None}]
        + [{"type": "feedback", "time": "2026-03-02T01:00:00+00:00", "actor": "reporter", "note": "ok"}],
        **more,
    }


SESSION = {"staff_id": "S4", "csrf": "c"}
CHOICES = {"buildings": [("B1", "Building One")], "services": [("fire", "Fire safety")], "staff": [("S5", "Li")]}
ISSUE = {
    "description": "Boxes in the corridor",
    "enterprise_id": "E1",
    "reporter": {"name": "Mr Wang", "phone": "13912342222"},
    "feedback": {"satisfaction": "basically_satisfied", "comment": "ok"},
}


def issue_page(status: str, **more: Any) -> dict[str, Any]:
    return {
        "session": SESSION,
        "me": "Wang",
        "order": order(status),
        "issue": ISSUE,
        "actions": views.actions(status),
        "names": {"S4": "Wang"},
        "choices": CHOICES,
        **more,
    }


PAGES: list[tuple[str, dict[str, Any]]] = [
    ("issue.html", issue_page("assigned", done="已签收。")),
    ("issue.html", issue_page("in_progress", error=views.refusal(409, None, "en"), failed="resolve")),
    ("issue.html", issue_page("resolved", done="已办结。")),
    ("issue.html", {**issue_page("in_progress"), "order": order("in_progress", level_name=None), "issue": None}),
    *[("issue.html", issue_page("in_progress", done=done)) for done in views.DONE.values()],
    (
        "my.html",
        {
            "session": SESSION,
            "me": "Wang",
            "tabs": views.TABS,
            "current": views.TABS[0],
            "counts": {tab.key: 2 for tab in views.TABS},
            "orders": [order("assigned"), order("acknowledged", urgent=False, late=False)],
            "is_head": True,
            "inbox": [
                {"issue_id": "I1", "title": f"【{h}】Blocked fire exit", "created_at": "2026-03-02T01:00:00+00:00"}
                for h in ("新工单", "工单升级", "工单逾期督办", "工单改派", "工单重新办理", "工单动态")
            ],
            "unread_count": 6,
            "page_no": 2,
            "more": True,
        },
    ),
    (
        "my.html",
        {"session": SESSION, "me": "Wang", "tabs": views.TABS, "current": views.TABS[3], "counts": {}, "page_no": 1},
    ),
    ("signin.html", {"next": "/my"}),
    ("sent.html", {"minutes": 10}),
    ("signout.html", {"session": SESSION, "me": "Wang"}),
    ("message.html", {"title": views.t("未找到", "en"), "text": views.t(views.NOT_FOUND, "en"), "session": SESSION}),
    ("message.html", {"title": "Link", "text": "x", "again": True}),
]


@pytest.mark.parametrize(("name", "context"), PAGES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(PAGES)])
def test_every_page_in_english_leaves_no_chinese(name: str, context: dict[str, Any]) -> None:
    english = pages.render(name, "en", "/issues/I1", **context)
    assert '<html lang="en">' in english
    assert chinese_left(english) == []
    assert SWITCH.search(english)  # the way back to Chinese
    assert 'href="/workbench/lang/zh?next=/issues/I1"' in english
    chinese = pages.render(name, "zh", **context)
    assert '<html lang="zh-CN">' in chinese and CJK.search(chinese)
    assert 'lang="en" hreflang="en">English</a>' in chinese and 'href="/workbench/lang/en?next=/my"' in chinese


def test_the_check_fails_on_a_page_with_chinese_left() -> None:
    """The completeness check can fail: a text t() does not know stays Chinese in English."""
    template = pages.templates.from_string('{% extends "base.html" %}{% block main %}{{ t("新的词") }}{% endblock %}')
    html = template.render(t=lambda text, ctx="", **values: views.t(text, "en"), lang="en", switch="/x")
    assert chinese_left(html) != []
    assert chinese_left(pages.render("sent.html", "en", minutes=10)) == []


def test_the_issue_page_in_english_reads_as_english() -> None:
    html = pages.render("issue.html", "en", **issue_page("in_progress", done="已签收。"))
    for words in (
        "Acknowledged.",
        "In progress",
        "Urgent",
        "Building One (Park)",
        "Wang, Li",
        "Area head (Park)",
        "overdue by 1 working h 0 min",
        "Resolve",
        "Transfer to building",
        "Building One (B1)",
        "Mostly satisfied ok",
        "Timeline",
        "<b>Acknowledged</b> Wang",
        "System: Not acknowledged in time: escalated to level 2",
        "Back to my work",
        "<b>Feedback</b> Reporter: ok",
        "Result photos",
    ):
        assert words in html, words
