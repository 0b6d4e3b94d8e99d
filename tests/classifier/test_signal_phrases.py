"""The extreme-signal regression list (classifier/data/signal_phrases.yaml): everyday phrases never fire,
real extreme acts always do, and a lone keyword never makes a red alert by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wagewatch.classifier import facts, severity

PHRASES = yaml.safe_load((Path(facts.__file__).parent / "data" / "signal_phrases.yaml").read_text(encoding="utf-8"))


def test_the_list_is_long_enough_and_has_no_duplicates() -> None:
    assert len(PHRASES["must_not_fire"]) >= 150 and len(PHRASES["must_fire"]) >= 50
    assert len(set(PHRASES["must_not_fire"])) == len(PHRASES["must_not_fire"])
    assert {e["signal"] for e in PHRASES["must_fire"]} == set(facts.EXTREME_PATTERNS)


@pytest.mark.parametrize("text", PHRASES["must_not_fire"])
def test_everyday_phrase_is_no_extreme_signal(text: str) -> None:
    found = facts.extract(text)
    assert found.extreme_signals == [], found.extreme_evidence
    assert severity.score(found).level < 4


@pytest.mark.parametrize("case", PHRASES["must_fire"], ids=lambda c: c["text"])
def test_extreme_act_fires(case: dict) -> None:
    assert case["signal"] in facts.extract(case["text"]).extreme_signals


def test_a_lone_keyword_needs_a_second_signal_for_red() -> None:
    lone = facts.extract("他扬言要跳楼，老板欠他八千")
    assert severity.score(lone).level == 3
    assert any("待核实" in r for r in severity.score(lone).reasons)
    assert severity.score(lone, model_level=4).level == 4  # the model agrees
    assert severity.score(facts.extract("他扬言要跳楼，消防员赶到劝下")).level == 4  # responders at the scene
    assert severity.score(facts.extract("工友爬上塔吊，扬言不给钱就跳")).level == 4  # two acts
    assert severity.score(facts.extract("十几名工人堵路讨薪")).level == 4  # a group of ten


def test_years_are_read_by_context_not_by_a_fixed_range() -> None:
    assert facts.extract_amount("老板欠我2000不给").yuan == 2000
    assert facts.extract_amount("一共2036元没给").yuan == 2036
    assert facts.extract_amount("2041至今一直欠着工钱") is None
    assert facts.extract_amount("欠款从2036开始拖") is None
