"""The issue-9 figures of `wagewatch evaluate`: review share, real found, per-style F1, company exact and the
wrong-fact rate, on hand-made predictions."""

from __future__ import annotations

from wagewatch.classifier.corpus import Example
from wagewatch.classifier.evaluation import Prediction, score


def _ex(i: int, label: str, style: str, company: str | None = None, amount: float | None = None) -> Example:
    return Example(
        id=str(i), text=f"t{i}", label=label, style=style, company=company, amount_yuan=amount, has_names=True
    )


def _pred(
    label: str,
    review: bool = False,
    company: str | None = None,
    amount: float | None = None,
    workers: int | None = None,
) -> Prediction:
    probs = {"real": 0.1, "false": 0.1, "irrelevant": 0.1} | {label: 0.8}
    return Prediction(label, probs, 1, None, amount, workers, review, company, None)


def test_issue_nine_figures() -> None:
    examples = [
        _ex(1, "real", "news", company="临沂鸿泰建筑劳务有限公司", amount=30_000),
        _ex(2, "real", "news"),
        _ex(3, "false", "weibo"),
        _ex(4, "irrelevant", "weibo"),
    ]
    predictions = [
        _pred("real", company="临沂鸿泰建筑劳务有限公司", amount=30_000),  # right, facts right
        _pred("irrelevant", review=True, company="今天一早工人们聚集在项目部"),  # found by review; a wrong name shown
        _pred("false", amount=5_000),  # an amount the annotation does not state: wrong
        _pred("irrelevant", company="某某公司"),  # irrelevant and not reviewed: nothing is shown, nothing wrong
    ]
    report = score(examples, predictions)
    assert report.review_n == 1 and report.review_share == 0.25
    assert report.per_label["real"]["recall"] == 0.5 and report.real_found == 1.0
    assert report.company_n == 1 and report.company_exact == 1.0
    assert report.facts_n == 4 and report.wrong_fact_rate == 0.5
    assert report.per_style["weibo"]["n"] == 2 and report.per_style["weibo"]["macro_f1"] == 1.0
    assert report.per_style["news"]["real_f1"] == 2 / 3


def test_a_fact_shown_against_the_annotation_is_wrong_and_one_left_unsaid_is_not() -> None:
    examples = [_ex(1, "real", "news", company="临沂鸿泰建筑劳务有限公司", amount=30_000)] * 4
    predictions = [
        _pred("real"),  # company and amount left unsaid (未说明): a miss, not a wrong fact
        _pred("real", workers=1),  # the annotation leaves the headcount unknown: nothing to contradict
        _pred("real", company="临沂鸿泰建筑劳务有限公司项目部"),  # contains the annotated name: not a contradiction
        _pred("real", amount=3_000),  # contradicts the annotated amount
    ]
    report = score(examples, predictions)
    assert report.wrong_fact_rate == 0.25
    assert report.company_exact == 0.0
