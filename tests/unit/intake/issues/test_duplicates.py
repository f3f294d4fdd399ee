from __future__ import annotations

from intake.issues.duplicates import normalized, possible_duplicate


def test_normalized_ignores_width_case_spaces_and_punctuation() -> None:
    assert normalized("二楼 漏水，请处理！ ABC") == normalized("二楼漏水,请处理!ａｂｃ")


def test_first_similar_candidate_wins() -> None:
    candidates = [
        ("new", "完全不同的事情"),
        ("mid", "二楼茶水间漏水严重请尽快处理"),
        ("old", "二楼茶水间漏水严重请尽快处理"),
    ]
    assert possible_duplicate(normalized("二楼茶水间漏水严重，请尽快处理。"), candidates, 0.9) == "mid"


def test_nothing_similar_enough() -> None:
    assert possible_duplicate("停车位申请", [("a", "二楼茶水间漏水")], 0.9) is None
    assert possible_duplicate("二楼茶水间漏水", [("a", "二楼茶水间漏水严重请尽快处理")], 0.9) is None
    assert possible_duplicate("二楼茶水间漏水", [("a", "二楼茶水间漏水严重请尽快处理")], 0.5) == "a"
