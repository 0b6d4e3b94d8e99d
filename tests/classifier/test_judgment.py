"""Passage reading, the cost-based decision with review, resolution, pretexts, plausibility and facts with
confidence, on a keyword model whose probabilities the tests set."""

from __future__ import annotations

import pytest

from wagewatch.classifier import judgment, passages
from wagewatch.classifier.api import Classifier
from wagewatch.classifier.facts import extract, extract_company, extract_project


class KeywordModel:
    """real where 欠 appears, unsure where 也许 appears, irrelevant otherwise."""

    version = "keywords"

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]:
        out = []
        for text in texts:
            if "也许" in text:
                out.append({"real": 0.3, "false": 0.1, "irrelevant": 0.6})
            elif "欠" in text and len(text) < 150:  # a long text dilutes the case, as TF-IDF features do
                out.append({"real": 0.97, "false": 0.01, "irrelevant": 0.02})
            else:
                out.append({"real": 0.01, "false": 0.01, "irrelevant": 0.98})
        return out


POLICY = "今年以来，各级人社部门持续推进工资支付保障工作，完善工资专用账户和实名制管理等制度。" * 3
CASE = "在临沂兰山区干活的五名木工说，包工头欠他们三万二，已经两个月联系不上。"
LONG = f"{POLICY}\n{CASE}\n{POLICY}"


@pytest.fixture()
def classifier() -> Classifier:
    return Classifier(KeywordModel())


def test_long_texts_are_split_short_ones_kept_whole() -> None:
    assert passages.split("老板欠我八百") == ["老板欠我八百"]
    parts = passages.split(LONG)
    assert len(parts) >= 3 and all(len(p) <= passages.PASSAGE_CHARS * 1.5 for p in parts)
    assert any(CASE in p for p in parts)


def test_a_long_text_is_real_by_its_case_passage_which_the_explanation_quotes(classifier: Classifier) -> None:
    (result,) = classifier.analyze([LONG])
    assert result.label == "real" and not result.needs_review
    assert result.passage and "包工头欠他们三万二" in result.passage
    assert any(line.startswith("依据段落") and "三万二" in line for line in result.explanation)
    assert result.city == "临沂"


def test_unsure_texts_go_to_review_with_the_best_guess_kept(classifier: Classifier) -> None:
    (result,) = classifier.analyze(["也许是欠薪吧，说不清楚"])
    # p(real) = 0.3: calling it irrelevant costs 5 × 0.3 + 0.1 = 1.6, real costs 0.7; both above a review
    assert result.label == "real" and result.needs_review
    assert "待研判" in result.explanation[-1] or any("待研判" in line for line in result.explanation)


def test_a_ceremony_stays_irrelevant_and_states_no_amount(classifier: Classifier) -> None:
    (result,) = classifier.analyze(["也许是好消息：186名农民工排队领取工资，集中发放320万元"])
    assert result.label == "irrelevant" and not result.needs_review
    assert result.amount_yuan is None and result.workers is None
    assert "aggregate" in result.rules


def test_a_pretext_against_the_model_sends_a_real_call_to_review(classifier: Classifier) -> None:
    (result,) = classifier.analyze(["他以讨薪为名讨要工程款，说欠他二十万"])
    assert result.label == "real" and result.needs_review
    assert "pretext:project_payment" in result.rules
    assert any("以讨薪为名讨要工程款" in line for line in result.explanation)


def test_an_implausible_amount_is_named(classifier: Classifier) -> None:
    (result,) = classifier.analyze(["干了二十天小工，老板欠我5万"])
    assert "plausibility:amount" in result.rules and result.needs_review
    assert any("金额与工作量不符" in line for line in result.explanation)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("老板欠我三千，至今仍未发放", judgment.Resolution.UNRESOLVED),
        ("人社局已介入调查，责令公司限期支付", judgment.Resolution.HANDLING),
        ("经劳动监察协调，欠薪已全部追回，工资已发放到工人手中", judgment.Resolution.RESOLVED),
        ("法院执行到位，62名工人拿到了工资", judgment.Resolution.RESOLVED),
    ],
)
def test_resolution(text: str, status: judgment.Resolution) -> None:
    assert judgment.resolution(text)[0] == status


def test_real_cases_carry_their_resolution(classifier: Classifier) -> None:
    (result,) = classifier.analyze(["老板欠我们三万，经人社局协调，工资已全部结清"])
    assert result.resolution == "resolved"
    (other,) = classifier.analyze(["全市追回工资3900万元"])
    assert other.resolution is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("供货商打着还农民工血汗钱的横幅讨要材料款", "pretext:materials"),
        ("所谓工资其实是他当初的合伙投资款", "pretext:partnership"),
        ("他借给老板十万，现在说是工资", "pretext:loan"),
        ("工资早已结清，他仍然每天到项目部讨要", "pretext:already_paid"),
    ],
)
def test_pretext_rules(text: str, key: str) -> None:
    assert key in [hit.rule for hit in judgment.pretexts(text)]


@pytest.mark.parametrize(
    ("text", "company", "project"),
    [
        ("今天一早工人们拉着横幅聚集在项目部", None, None),
        ("我们几个在工地干了三个月", None, None),
        ("某公司欠钱不给", None, None),
        ("我在青岛鑫港物流有限公司干了三个月", "青岛鑫港物流有限公司", None),
        ("淄博家和美装饰工程有限公司欠我工资", "淄博家和美装饰工程有限公司", None),
        ("在临沂市祥和公馆项目干活", None, "祥和公馆项目"),
        ("湖北武汉一家工厂拖欠工资", None, None),
    ],
)
def test_names_are_whole_names_or_nothing(text: str, company: str | None, project: str | None) -> None:
    found_company, found_project = extract_company(text), extract_project(text)
    assert (found_company.text if found_company else None) == company
    assert (found_project.text if found_project else None) == project


def test_low_confidence_facts_are_not_shown(classifier: Classifier) -> None:
    assert extract("一家快递网点欠我2000").company is None
    (result,) = classifier.analyze(["我在青岛鑫港物流有限公司开叉车，老板欠我2000"])
    assert result.company == "青岛鑫港物流有限公司" and result.fact_confidence["company"] >= 0.7
    assert result.amount_yuan == 2000 and result.fact_confidence["amount"] < 0.9  # a bare number


def test_names_are_given_back_in_the_posts_own_characters(classifier: Classifier) -> None:
    (result,) = classifier.analyze(["我們在菏澤建元建築有限公司承建的工地幹了三個月，欠我們八萬"])
    assert result.company == "菏澤建元建築有限公司"
