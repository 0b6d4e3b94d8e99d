"""Severity of a real incident: a 0–100 score and the four-tier level, with the reasons in Chinese."""

from __future__ import annotations

import math
from dataclasses import dataclass

from wagewatch.classifier.facts import Facts
from wagewatch.core.states import SEVERITY_CAPTIONS

_SILENT = "未说明金额和人数"


@dataclass
class Severity:
    level: int
    score: float
    reasons: list[str]


def _corroborated(facts: Facts, model_level: int | None) -> bool:
    """Whether an extreme signal has a second sign: another kind of extreme act, a group action, responders
    at the scene (police, firefighters), a group of ten or a six-figure sum, or the severity model saying 4.
    A keyword alone must not make a red alert."""
    amount = facts.amount.yuan if facts.amount else 0
    return (
        len(facts.extreme_evidence) > 1
        or bool(facts.group_signals)
        or facts.responders
        or (facts.workers or 0) >= 10
        or amount >= 100_000
        or model_level == 4
    )


def _level_from_rules(facts: Facts, model_level: int | None = None) -> tuple[int, list[str]]:
    amount = facts.amount.yuan if facts.amount else None
    workers = facts.workers
    reasons: list[str] = []
    if workers and (workers > 100 or (workers == 100 and facts.workers_approximate)):
        reasons.append(f"涉及工人超过100人（{workers}{'余' if facts.workers_approximate else ''}人）")
    if amount and amount >= 1_000_000:
        reasons.append(f"涉及金额100万元以上（约{amount / 10_000:g}万元）")
    if facts.extreme_signals:
        quoted = "、".join(f"“{e}”" for e in facts.extreme_evidence[:3])
        signals = f"{'、'.join(facts.extreme_signals[:3])}（{quoted}）"
        if reasons or _corroborated(facts, model_level):
            reasons.append(f"出现极端行为信号：{signals}")
        else:
            reasons.append(f"出现极端行为信号：{signals}；仅此一处迹象，无其他信号或模型印证，按重大处理，待核实")
            return 3, reasons
    if reasons:
        return 4, reasons
    if facts.group_signals:
        reasons.append(f"出现群体性行为信号：{'、'.join(facts.group_signals[:3])}")
    if workers and workers >= 10:
        reasons.append(f"涉及工人10人以上（{workers}人）")
    if amount and amount >= 100_000:
        reasons.append(f"涉及金额10万元以上（约{amount / 10_000:g}万元）")
    if facts.project_type in ("government", "soe"):
        reasons.append("涉及政府投资或国有企业项目")
    if reasons:
        return 3, reasons
    if workers and workers >= 2:
        reasons.append(f"涉及多名工人（{workers}人）")
    elif facts.several_workers and not workers:
        reasons.append("涉及多名工人")
    if amount and amount >= 20_000:
        reasons.append(f"金额较大（约{amount / 10_000:g}万元）")
    if facts.months_unpaid and facts.months_unpaid >= 3:
        reasons.append(f"拖欠{facts.months_unpaid}个月")
    if reasons:
        return 2, reasons
    if amount or (workers and not facts.workers_inferred):
        return 1, ["个人欠薪，金额较小"]
    return 1, [_SILENT]


def score(facts: Facts, reach: int = 0, model_level: int | None = None) -> Severity:
    """Combine the rule level from the facts, an optional model level and the post's reach.

    The rules encode the campaign's definitions; the model's level counts only where the rules found no fact
    at all, and then lifts the level by one at most, or where it confirms a lone extreme signal. Reach adds
    up to 15 points.
    """
    level, reasons = _level_from_rules(facts, model_level)
    if model_level and model_level > level and reasons == [_SILENT]:
        # Measured on held-out data, the rules beat the severity head wherever they find a fact; where the
        # text states none, the head may lift the level by one ("我们几个" told without numbers).
        level += 1
        reasons = [
            f"文中未说明金额和人数，模型判断不止{SEVERITY_CAPTIONS[level - 1]}（模型判断为{SEVERITY_CAPTIONS[model_level]}）"
        ]
    reach_points = min(15.0, 3.0 * math.log10(1 + max(reach, 0)))
    if reach_points >= 6:
        reasons.append(f"传播量较大（转发评论约{reach}次）")
    base = {1: 10.0, 2: 35.0, 3: 60.0, 4: 85.0}[level]
    return Severity(level=level, score=round(min(100.0, base + reach_points), 1), reasons=reasons)
