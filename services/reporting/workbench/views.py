"""What the workbench pages show, as pure functions of the API's answers: labels, tabs, deadlines,
the actions a status allows, the words for each refusal, and their English (`EN`, `t`).

Chinese is the pages' language and the key of every translation: the templates and the code write
the Chinese text and pass it through `t(text, lang)`, which gives the English of `EN` when the
person chose English (the `louzhang_lang` cookie). `EN` is the one place of the English."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.directory import DirectoryIndex
from kernel.times import SHANGHAI

STATUS = {
    "assigned": "待签收",
    "acknowledged": "已签收",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已关闭",
    "rejected": "已退单",
}
STEPS = {
    "assigned": "派单",
    "escalated": "升级",
    "acknowledged": "签收",
    "progressed": "进展",
    "resolved": "办结",
    "transferred": "改派",
    "rejected": "退单",
    "overdue": "督办",
    "closed": "关闭",
    "reopened": "重新办理",
    "feedback": "回访",
}
# Which buttons a status shows: the state machine's (routing.workorders.states), as words.
ACTIONS = {
    "acknowledge": ("签收", {"assigned"}),
    "progress": ("进展", {"acknowledged", "in_progress"}),
    "resolve": ("办结", {"acknowledged", "in_progress"}),
    "transfer": ("改派", {"assigned", "acknowledged", "in_progress"}),
    "reject": ("退单", {"assigned", "acknowledged", "in_progress"}),
}
NOT_FOUND = "没有这个问题，或您无权查看"
# The flash after an action went through.
DONE = {
    "acknowledge": "已签收。",
    "progress": "已记录进展。",
    "resolve": "已办结。",
    "transfer": "已改派。",
    "reject": "已退单。",
}


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    statuses: tuple[str, ...]
    overdue_only: bool = False


TABS = (
    Tab("todo", "待签收", ("assigned",)),
    Tab("doing", "办理中", ("acknowledged", "in_progress")),
    Tab("late", "已逾期", ("assigned", "acknowledged", "in_progress"), overdue_only=True),
    Tab("done", "已办结", ("resolved", "closed")),
)


def tab(key: str | None) -> Tab:
    return next((t for t in TABS if t.key == key), TABS[0])


def late(order: dict[str, Any]) -> bool:
    """Past a deadline and not resolved (the 已逾期 tab)."""
    return order["status"] in ("assigned", "acknowledged", "in_progress") and bool(
        order.get("overdue") or order.get("acknowledge_overdue")
    )


def in_tab(order: dict[str, Any], t: Tab) -> bool:
    return order["status"] in t.statuses and (not t.overdue_only or late(order))


PAGE_SIZE = 20


def page_of(items: list[Any], page: int, size: int = PAGE_SIZE) -> tuple[list[Any], bool]:
    """The items of page `page` (from 1), and whether another page follows."""
    start = (page - 1) * size
    return items[start : start + size], len(items) > start + size


def local(t: str | datetime | None) -> str:
    if t is None:
        return "—"
    instant = datetime.fromisoformat(t) if isinstance(t, str) else t
    return instant.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def left(seconds: int | None, working: bool, lang: str = "zh") -> tuple[str, bool]:
    """Time left to a deadline in words (routing counts it on the SLA calendar: working hours on
    the working one), and whether it has passed (shown red)."""
    if seconds is None:
        return "", False
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if working:  # working time is told in hours: a working day is not 24 of them
        hours, days = hours + days * 24, 0
    if days:
        parts = t("{days}天{hours}小时", lang, days=days, hours=hours)
    elif hours:
        parts = t(
            "{hours}工作小时{minutes}分" if working else "{hours}小时{minutes}分", lang, hours=hours, minutes=minutes
        )
    else:
        parts = t("{minutes}工作分钟" if working else "{minutes}分钟", lang, minutes=minutes)
    return (
        (t("已超时 {parts}", lang, parts=parts), True) if seconds < 0 else (t("剩余 {parts}", lang, parts=parts), False)
    )


def may_act(order: dict[str, Any], index: DirectoryIndex | None, staff_id: str) -> bool:
    """As routing decides: whoever was notified on the order, or a head of its building or of a
    grid node above it. Anyone else in scope (a team member of the building, say) only reads."""
    if staff_id in order.get("notified", []):
        return True
    building = index.buildings.get(order["building_id"]) if index else None
    if building is None or index is None:
        return False
    node = index.nodes.get(building.grid_node)
    nodes = [node, *index.ancestors[node.id]] if node is not None else []
    return staff_id in building.heads or any(staff_id in n.heads for n in nodes)


def actions(status: str) -> list[tuple[str, str]]:
    """(action, label) the status allows, in the order of the page."""
    return [(name, label) for name, (label, allowed) in ACTIONS.items() if status in allowed]


def refusal(status: int, body: Any, lang: str = "zh") -> str:
    """A refusal of the API in words for the page."""
    if status == 409:
        return t("别人已经先处理了这个问题，页面已刷新为最新状态。", lang)
    if status == 403:
        return t("您没有权限这样处理这个问题。", lang)
    if status == 404:
        return t(NOT_FOUND, lang)
    if status == 422 and isinstance(body, dict) and isinstance(body.get("detail"), list):
        problems = []
        for d in body["detail"]:
            where = str(d.get("loc", [])[-1]) if d.get("loc") else ""
            field = t(FIELDS[where], lang) if where in FIELDS else where
            problems.append(t("{field}：{msg}", lang, field=field, msg=d.get("msg", "")))
        return t("请检查填写的内容。{problems}", lang, problems=t("；", lang).join(problems))
    if status == 429:
        return t("操作太频繁，请稍后再试。", lang)
    if status >= 500:
        return t("系统暂时不可用，请稍后再试。", lang)
    return t("操作未成功，请稍后再试。", lang)


FIELDS = {
    "note": "说明",
    "reason": "原因",
    "building_id": "楼宇",
    "service_code": "事项",
    "staff_id": "人员",
    "duplicate_of": "重复的问题",
    "body": "内容",
}


# ---- languages ----------------------------------------------------------------------------------

LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}
LANG_COOKIE = "louzhang_lang"


def lang_of(value: str | None) -> str:
    """The language a cookie asks for: Chinese unless it names English."""
    return "en" if value == "en" else "zh"


def t(text: str, lang: str = "zh", /, ctx: str = "", **values: Any) -> str:
    """`text` (Chinese, the key) in `lang`, its `{placeholders}` filled with `values`. `ctx` tells
    apart a word said two ways in English (签收: the button "Acknowledge", the step "Acknowledged")."""
    words = text
    if lang == "en":
        words = EN.get(f"{ctx}|{text}", EN.get(text, text)) if ctx else EN.get(text, text)
    return words.format(**values) if values else words


def _pattern(key: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", key)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(regex + r"\Z", re.S)


# Text the other services write in Chinese and the pages show (routing's level names and system
# notes, notify's inbox titles): recognised by these keys' shapes, the placeholders kept.
SAID = tuple(
    (key, _pattern(key))
    for key in (
        "点楼长（{name}）",
        "分楼长（{name}）",
        "总楼长（{name}）",
        "第{n}层",
        "超过签收时限，升级至第{level}级",
        "【{headline}】{title}",
    )
)


def said(text: str | None, lang: str = "zh") -> str:
    """Another service's Chinese text in `lang`: a known sentence, or a known shape whose parts are
    kept (names, titles) or, when they are known words themselves, translated."""
    if not text or lang != "en":
        return text or ""
    if text in EN:
        return EN[text]
    for key, pattern in SAID:
        found = pattern.match(text)
        if found:
            return t(key, lang, **{k: EN.get(v, v) for k, v in found.groupdict().items()})
    return text


# The English of every Chinese text the pages show, keyed by the Chinese. A unit test renders every
# page in English and fails on any Chinese left (tests/unit/reporting/workbench/test_workbench_i18n.py).
EN: dict[str, str] = {
    # the frame
    "楼长工作台": "Louzhang workbench",
    "brand|楼长工作台": "Louzhang",  # the header's, on a phone's width
    "退出": "Sign out",
    "返回我的工作": "Back to my work",
    "、": ", ",
    "：": ": ",
    "；": "; ",
    # statuses, tabs, steps, actions
    "待签收": "To acknowledge",
    "已签收": "Acknowledged",
    "办理中": "In progress",
    "已办结": "Resolved",
    "已关闭": "Closed",
    "已退单": "Rejected",
    "已逾期": "Overdue",
    "派单": "Assigned",
    "升级": "Escalated",
    "签收": "Acknowledge",
    "step|签收": "Acknowledged",
    "进展": "Progress",
    "办结": "Resolve",
    "step|办结": "Resolved",
    "改派": "Transfer",
    "step|改派": "Transferred",
    "退单": "Reject",
    "step|退单": "Rejected",
    "督办": "Overdue notice",
    "关闭": "Closed",
    "重新办理": "Reopened",
    "回访": "Feedback",
    "已记录进展。": "Progress noted.",
    "已办结。": "Resolved.",
    "已改派。": "Transferred.",
    "已退单。": "Rejected.",
    "已签收。": "Acknowledged.",
    "只读：您可以查看这个问题，但不是它的办理人。": "Read only: you may see this issue, but you are not handling it.",
    "满意": "Satisfied",
    "基本满意": "Mostly satisfied",
    "不满意": "Dissatisfied",
    # the issue page
    "紧急": "Urgent",
    "逾期": "Overdue",
    "事项": "Service",
    "楼宇": "Building",
    "{building}（{node}）": "{building} ({node})",
    "企业": "Enterprise",
    "报告人": "Reporter",
    "承办": "Assigned to",
    "层级": "Level",
    "签收时限": "Acknowledge by",
    "办结时限": "Resolve by",
    "可能重复": "Possible duplicate of",
    "重复于": "Duplicate of",
    "办理结果": "Result",
    "进展说明": "Progress note",
    "改派到楼宇": "Transfer to building",
    "改派到事项": "Transfer to service",
    "改派给人员": "Transfer to person",
    "（不变）": "(unchanged)",
    "（按规则派给承办人）": "(whoever the rules assign)",
    "{name}（{id}）": "{name} ({id})",
    "原因": "Reason",
    "与哪个问题重复（并单，可不填）": "Duplicate of which issue (to merge; optional)",
    "办理过程": "Timeline",
    "照片（可选，最多 3 张）": "Photos (optional, at most 3)",
    "办结照片": "Result photos",
    "办结照片 {n}": "Result photo {n}",
    "系统": "System",
    # time left
    "剩余 {parts}": "{parts} left",
    "已超时 {parts}": "overdue by {parts}",
    "{days}天{hours}小时": "{days} d {hours} h",
    "{hours}工作小时{minutes}分": "{hours} working h {minutes} min",
    "{hours}小时{minutes}分": "{hours} h {minutes} min",
    "{minutes}工作分钟": "{minutes} working min",
    "{minutes}分钟": "{minutes} min",
    # my work
    "我的工作": "My work",
    "含您所辖网格内的工单。": "Includes the work orders of your grid.",
    "有新消息，正在刷新…": "News: refreshing…",
    "未读消息": "Unread",
    "签收：{due}（{left}）": "Acknowledge by {due} ({left})",
    "办结：{due}（{left}）": "Resolve by {due} ({left})",
    "这里没有工单。": "No work orders here.",
    "地址": "Address",
    "上一页": "Previous",
    "下一页": "Next",
    "第 {n} 页": "Page {n}",
    # sign-in and out
    "登录": "Sign in",
    "登录楼长工作台": "Sign in to the Louzhang workbench",
    "输入您的工号、手机号或邮箱，登录链接将发送到名录中登记的您本人的邮箱。": (
        "Enter your staff id, phone or email: the sign-in link goes to your own email address in the directory."
    ),
    "工号 / 手机号 / 邮箱": "Staff id / phone / email",
    "发送登录链接": "Send the sign-in link",
    "登录链接": "Sign-in link",
    "请查收邮件": "Check your email",
    "如果名录中有这位人员并登记了邮箱，登录链接已发送到该邮箱，{minutes} 分钟内有效，只能使用一次。": (
        "If the directory holds this person with an email address, a sign-in link has been sent there."
        " It is valid for {minutes} minutes and works once."
    ),
    "没有收到？重新申请": "Nothing arrived? Ask again",
    "重新申请登录链接": "Ask for a new sign-in link",
    "退出登录": "Sign out",
    # messages
    "请求太频繁": "Too many requests",
    "登录链接申请太频繁，请一分钟后再试。": "Too many sign-in link requests: please try again in a minute.",
    "链接已失效": "Link no longer valid",
    "这个登录链接已使用、已过期或无效。请重新申请登录链接。": (
        "This sign-in link has been used, has expired or is not valid. Please ask for a new one."
    ),
    "请求无效": "Invalid request",
    "页面已过期，请刷新后重试。": "The page has expired: please reload it and try again.",
    "页面已过期或请求来源不明，请刷新页面后重试。": (
        "The page has expired or the request came from elsewhere: please reload the page and try again."
    ),
    "未找到": "Not found",
    "没有这个问题，或您无权查看": "No such issue, or you may not see it",
    "没有这个文件。": "No such file.",
    "没有这个页面。": "No such page.",
    # refusals
    "别人已经先处理了这个问题，页面已刷新为最新状态。": (
        "Someone else acted on this issue first: the page now shows it as it is."
    ),
    "您没有权限这样处理这个问题。": "You may not act on this issue that way.",
    "请检查填写的内容。{problems}": "Please check what you entered. {problems}",
    "{field}：{msg}": "{field}: {msg}",
    "操作太频繁，请稍后再试。": "Too many requests: please try again shortly.",
    "系统暂时不可用，请稍后再试。": "The system is unavailable for now: please try again shortly.",
    "操作未成功，请稍后再试。": "That did not work: please try again shortly.",
    "说明": "Note",
    "人员": "Person",
    "重复的问题": "Duplicate of",
    "内容": "Content",
    # the other services' words (SAID)
    "点楼长（{name}）": "Building head ({name})",
    "分楼长（{name}）": "Area head ({name})",
    "总楼长（{name}）": "District head ({name})",
    "第{n}层": "Level {n}",
    "超过签收时限，升级至第{level}级": "Not acknowledged in time: escalated to level {level}",
    "已到最高级别，签收逾期": "Not acknowledged in time at the highest level",
    "超过办结时限，督办": "Not resolved in time: overdue notice",
    "办结后未回访，自动关闭": "No feedback after resolution: closed automatically",
    "【{headline}】{title}": "[{headline}] {title}",
    "新工单": "New work order",
    "工单升级": "Escalated",
    "工单逾期督办": "Overdue",
    "工单改派": "Transferred",
    "工单重新办理": "Reopened",
    "工单动态": "Update",
}
