"""reporting.workbench.views: what the workbench pages show, from the API's answers."""

from __future__ import annotations

from reporting.workbench import views
from reporting.workbench.sessions import safe_next


def test_time_left_is_told_in_working_hours_on_the_working_calendar() -> None:
    assert views.left(2 * 3600 + 5 * 60, working=True) == ("剩余 2工作小时5分", False)
    assert views.left(30 * 3600, working=True) == ("剩余 30工作小时0分", False)  # not "1天": days are 8 hours
    assert views.left(30 * 3600, working=False) == ("剩余 1天6小时", False)
    assert views.left(-90, working=False) == ("已超时 1分钟", True)
    assert views.left(None, working=True) == ("", False)


def test_tabs_sort_orders_by_status_and_lateness() -> None:
    late = {"status": "in_progress", "overdue": True}
    assert views.in_tab(late, views.tab("late")) and views.in_tab(late, views.tab("doing"))
    assert not views.in_tab({"status": "resolved", "overdue": True}, views.tab("late"))
    assert views.in_tab({"status": "closed"}, views.tab("done"))
    assert views.tab("nonsense").key == "todo"


def test_a_status_offers_the_actions_its_state_machine_allows() -> None:
    assert [a for a, _ in views.actions("assigned")] == ["acknowledge", "transfer", "reject"]
    assert [a for a, _ in views.actions("in_progress")] == ["progress", "resolve", "transfer", "reject"]
    assert views.actions("closed") == []


def test_refusals_are_told_in_words() -> None:
    assert "别人已经先处理了" in views.refusal(409, None)
    detail = {"detail": [{"loc": ["body", "note"], "msg": "Field required"}]}
    assert views.refusal(422, detail) == "请检查填写的内容。说明：Field required"
    assert views.refusal(404, None) == views.NOT_FOUND


def test_after_sign_in_only_a_path_of_this_site() -> None:
    assert safe_next("/issues/abc") == "/issues/abc"
    for bad in ("https://evil.example", "//evil.example/x", "/\\\\evil", "", None, "javascript:alert(1)"):
        assert safe_next(bad) == "/my"


def test_my_work_is_paged_twenty_at_a_time() -> None:
    items = list(range(45))
    assert views.page_of(items, 1) == (list(range(20)), True)
    assert views.page_of(items, 3) == (list(range(40, 45)), False)
    assert views.page_of(items, 9) == ([], False)
