"""Scoring a classifier on a labelled JSONL file: the figures `wagewatch evaluate` and MODEL_CARD.md report.

Definitions (kept here so the card and the command cannot disagree):
- label figures: per-label precision/recall/F1, macro F1 and the confusion matrix over all items;
- severity: over items labelled real with a severity, the level the pipeline assigns to the text
  (whatever label it predicts), exact and within one level;
- city: over items labelled real (the ones alerts are routed by), the predicted city (one of the 16,
  `out_of_province`, or none) against the annotation; `city_all` also counts false/irrelevant items in
  files that annotate a city for every item (the corpus does, real_dev does not);
- amount/workers: over items labelled real (the labelling guide leaves them empty for irrelevant items
  and the severity of alerts depends on them for real ones), a prediction matches when both are empty
  or within 1% (amount) / equal (workers); `*_stated` restricts to items whose annotation states a value.
- review: texts sent to 待研判 (`needs_review`); `real_found` is the recall of real counting a real text
  sent to review as found (triage reads it), next to the plain recall in `per_label`.
- per style: macro F1 over the items of each `style` (corpus v2 files).
- company exact: over items whose annotation names a company, the shown company equals it exactly.
- wrong fact shown: over items of files that annotate names, the share where a text that officers would
  see (predicted real or false, or sent to review) shows a company or project that is neither the annotated
  name nor part of it (or one where none is annotated), or an amount or headcount other than the annotated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wagewatch.classifier.calibration import expected_calibration_error
from wagewatch.classifier.corpus import LABELS, Example


@dataclass
class Prediction:
    """What the evaluation needs from the pipeline for one text."""

    label: str
    probs: dict[str, float]
    severity: int
    city: str | None
    amount_yuan: float | None
    workers: int | None
    needs_review: bool = False
    company: str | None = None
    project: str | None = None


@dataclass
class Report:
    n: int
    per_label: dict[str, dict[str, float]]
    macro_f1: float
    accuracy: float
    confusion: list[list[int]]
    ece: float
    severity_n: int
    severity_exact: float
    severity_within_one: float
    city_n: int
    city_accuracy: float
    city_all_n: int
    city_all_accuracy: float | None
    amount_n: int
    amount_accuracy: float
    amount_stated_n: int
    amount_stated_accuracy: float
    workers_accuracy: float
    workers_stated_n: int
    workers_stated_accuracy: float
    review_n: int = 0
    review_share: float = 0.0
    real_found: float = 0.0
    per_style: dict[str, dict[str, float]] = field(default_factory=dict)
    company_n: int = 0
    company_exact: float = 0.0
    facts_n: int = 0
    wrong_fact_rate: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "errors"}
        return data


def _amount_match(gold: float | None, pred: float | None) -> bool:
    if gold is None or pred is None:
        return gold is None and pred is None
    return abs(gold - pred) <= 0.01 * max(abs(gold), 1.0)


def _ratio(hits: int, n: int) -> float:
    return hits / n if n else 0.0


def _labels(examples: list[Example], predictions: list[Prediction]) -> tuple[np.ndarray, dict, float]:
    """Confusion matrix, per-label precision/recall/F1 and the macro F1 over the labels present."""
    index = {label: i for i, label in enumerate(LABELS)}
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for ex, pred in zip(examples, predictions, strict=True):
        confusion[index[ex.label], index[pred.label]] += 1
    per_label: dict[str, dict[str, float]] = {}
    for label, i in index.items():
        tp = confusion[i, i]
        precision = _ratio(tp, confusion[:, i].sum())
        recall = _ratio(tp, confusion[i, :].sum())
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(confusion[i, :].sum())}
    present = [label for label in LABELS if per_label[label]["support"]]
    macro_f1 = sum(per_label[label]["f1"] for label in present) / len(present) if present else 0.0
    return confusion, per_label, macro_f1


def _name_wrong(gold: str | None, shown: str | None) -> bool:
    return shown is not None and (gold is None or (shown not in gold and gold not in shown))


def _fact_wrong(example: Example, pred: Prediction) -> bool:
    """Whether a text officers would see shows a fact the annotation contradicts (see the module docstring)."""
    if pred.label == "irrelevant" and not pred.needs_review:
        return False
    return (
        _name_wrong(example.company, pred.company)
        or _name_wrong(example.project, pred.project)
        or (pred.amount_yuan is not None and not _amount_match(example.amount_yuan, pred.amount_yuan))
        or (pred.workers is not None and example.workers is not None and pred.workers != example.workers)
    )


def score(examples: list[Example], predictions: list[Prediction]) -> Report:
    """Compare predictions with the annotations, item by item."""
    n = len(examples)
    index = {label: i for i, label in enumerate(LABELS)}
    confusion, per_label, macro_f1 = _labels(examples, predictions)
    pairs = list(zip(examples, predictions, strict=True))
    real_items = [p for e, p in pairs if e.label == "real"]
    styles = sorted({e.style for e in examples if e.style})
    per_style = {}
    for style in styles:
        chosen = [(e, p) for e, p in pairs if e.style == style]
        _, labels, f1 = _labels([e for e, _ in chosen], [p for _, p in chosen])
        per_style[style] = {"n": len(chosen), "macro_f1": f1, "real_f1": labels["real"]["f1"]}
    named = [(e, p) for e, p in pairs if e.company]
    annotated = [(e, p) for e, p in pairs if e.has_names]
    probs = np.array([[p.probs[label] for label in LABELS] for p in predictions]) if n else np.zeros((0, 3))
    gold = np.array([index[e.label] for e in examples])

    sev = [
        (e.severity, p.severity) for e, p in zip(examples, predictions, strict=True) if e.label == "real" and e.severity
    ]
    real = [(e, p) for e, p in zip(examples, predictions, strict=True) if e.label == "real" and e.has_city]
    city_all = [(e, p) for e, p in zip(examples, predictions, strict=True) if e.has_city]
    real_pairs = [(e, p) for e, p in zip(examples, predictions, strict=True) if e.label == "real"]
    amounts = [_amount_match(e.amount_yuan, p.amount_yuan) for e, p in real_pairs]
    amounts_stated = [_amount_match(e.amount_yuan, p.amount_yuan) for e, p in real_pairs if e.amount_yuan is not None]
    workers = [e.workers == p.workers for e, p in real_pairs]
    workers_stated = [e.workers == p.workers for e, p in real_pairs if e.workers is not None]
    errors = [
        {"id": e.id, "gold": e.label, "pred": p.label, "probs": {k: round(v, 3) for k, v in p.probs.items()}}
        for e, p in zip(examples, predictions, strict=True)
        if e.label != p.label
    ]
    # real_dev annotates route_city for real items only, so `city_all` is reported only for corpus-style files
    all_annotated = all(e.has_city for e in examples) and any(e.city for e in examples if e.label != "real")
    return Report(
        n=n,
        per_label=per_label,
        macro_f1=macro_f1,
        accuracy=_ratio(int(np.trace(confusion)), n),
        confusion=confusion.tolist(),
        ece=expected_calibration_error(probs, gold) if n else 0.0,
        severity_n=len(sev),
        severity_exact=_ratio(sum(g == p for g, p in sev), len(sev)),
        severity_within_one=_ratio(sum(abs(g - p) <= 1 for g, p in sev), len(sev)),
        city_n=len(real),
        city_accuracy=_ratio(sum(e.city == p.city for e, p in real), len(real)),
        city_all_n=len(city_all) if all_annotated else 0,
        city_all_accuracy=_ratio(sum(e.city == p.city for e, p in city_all), len(city_all)) if all_annotated else None,
        amount_n=len(amounts),
        amount_accuracy=_ratio(sum(amounts), len(amounts)),
        amount_stated_n=len(amounts_stated),
        amount_stated_accuracy=_ratio(sum(amounts_stated), len(amounts_stated)),
        workers_accuracy=_ratio(sum(workers), len(workers)),
        workers_stated_n=len(workers_stated),
        workers_stated_accuracy=_ratio(sum(workers_stated), len(workers_stated)),
        review_n=sum(p.needs_review for p in predictions),
        review_share=_ratio(sum(p.needs_review for p in predictions), n),
        real_found=_ratio(sum(p.label == "real" or p.needs_review for p in real_items), len(real_items)),
        per_style=per_style,
        company_n=len(named),
        company_exact=_ratio(sum(e.company == p.company for e, p in named), len(named)),
        facts_n=len(annotated),
        wrong_fact_rate=_ratio(sum(_fact_wrong(e, p) for e, p in annotated), len(annotated)),
        errors=errors,
    )


_NAMES = {"real": "真实欠薪 real", "false": "虚假讨薪 false", "irrelevant": "无关 irrelevant"}


def render(report: Report, title: str) -> str:
    """A plain-text report (Chinese headings, the metric abbreviations kept)."""
    lines = [f"== {title}（{report.n} 条）=="]
    lines.append(f"{'类别':<18}{'P':>8}{'R':>8}{'F1':>8}{'样本数':>8}")
    for label in LABELS:
        m = report.per_label[label]
        lines.append(f"{_NAMES[label]:<18}{m['precision']:>8.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>8d}")
    lines.append(
        f"宏平均 F1 macro F1: {report.macro_f1:.3f}    准确率 accuracy: {report.accuracy:.3f}    "
        f"校准误差 ECE: {report.ece:.3f}"
    )
    lines.append("混淆矩阵（行=标注，列=预测；real/false/irrelevant）：")
    for label, row in zip(LABELS, report.confusion, strict=True):
        lines.append(f"  {label:<11}" + "".join(f"{v:>6d}" for v in row))
    lines.append(
        f"严重程度 severity（{report.severity_n} 条真实欠薪）：完全一致 exact {report.severity_exact:.3f}，"
        f"相差不超过一级 within-one {report.severity_within_one:.3f}"
    )
    lines.append(f"城市 city accuracy（{report.city_n} 条真实欠薪）：{report.city_accuracy:.3f}")
    if report.city_all_accuracy is not None:
        lines.append(f"城市 city accuracy（全部 {report.city_all_n} 条）：{report.city_all_accuracy:.3f}")
    lines.append(
        f"金额 amount accuracy（{report.amount_n} 条真实欠薪）：{report.amount_accuracy:.3f}，"
        f"有标注金额的 {report.amount_stated_n} 条 {report.amount_stated_accuracy:.3f}"
    )
    lines.append(
        f"人数 workers accuracy（{report.amount_n} 条真实欠薪）：{report.workers_accuracy:.3f}，"
        f"有标注人数的 {report.workers_stated_n} 条 {report.workers_stated_accuracy:.3f}"
    )
    lines.append(
        f"待研判 review：{report.review_n} 条（{report.review_share:.1%}）；真实欠薪召回（待研判计为已发现）"
        f"real found {report.real_found:.3f}"
    )
    if report.company_n:
        lines.append(f"涉及单位 company exact（{report.company_n} 条有标注单位）：{report.company_exact:.3f}")
    if report.facts_n:
        lines.append(f"展示错误要素 wrong fact shown（{report.facts_n} 条）：{report.wrong_fact_rate:.3f}")
    for style, m in report.per_style.items():
        lines.append(f"  风格 {style:<11} {m['n']:>5d} 条  macro F1 {m['macro_f1']:.3f}  real F1 {m['real_f1']:.3f}")
    return "\n".join(lines)


def predict(classifier: Any, examples: list[Example], batch_size: int = 256) -> list[Prediction]:
    """Run the full pipeline (normalise, model, facts, places, severity) over the examples' texts."""
    predictions: list[Prediction] = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start : start + batch_size]
        for item in classifier.assess([e.text for e in batch]):
            a = item.analysis
            predictions.append(
                Prediction(
                    a.label,
                    a.scores,
                    item.severity_if_real.level,
                    a.city,
                    a.amount_yuan,
                    a.workers,
                    a.needs_review,
                    a.company,
                    a.project,
                )
            )
    return predictions


def component_model(model_dir: Path, component: str):
    """The text model to score: the saved model as shipped, its transformer alone, or its TF-IDF baseline.

    A directory saved without a baseline (transformer only) gets a baseline trained here on the training
    files with the same seed and validation split, so the comparison is always on the same data.
    """
    from wagewatch.classifier.baseline import BaselineModel, train_baseline
    from wagewatch.classifier.corpus import load_training, split_validation, training_files
    from wagewatch.classifier.ensemble import load_network, load_text_model
    from wagewatch.classifier.normalize import normalize
    from wagewatch.classifier.settings import load_settings
    from wagewatch.classifier.textmodel import ModelMeta

    if component == "model":
        return load_text_model(model_dir)
    if component == "transformer":
        return load_network(model_dir)
    if BaselineModel.exists(model_dir):
        return BaselineModel.load(model_dir)
    settings = load_settings()
    seed = int((ModelMeta.load(model_dir).extra or {}).get("seed", settings.train.seed))
    examples = [
        Example(**{**e.__dict__, "text": normalize(e.text)})
        for e in load_training(training_files(patterns=settings.train.corpus))
    ]
    train, valid = split_validation(examples, settings.train.validation_fraction, seed)
    return train_baseline(train, valid, settings.baseline)


def evaluate_files(model_dir: Path, component: str, files: dict[str, list[Example]]) -> dict[str, Report]:
    """Score one model component on each named list of examples."""
    from wagewatch.classifier.api import Classifier

    classifier = Classifier(component_model(model_dir, component))
    return {name: score(examples, predict(classifier, examples)) for name, examples in files.items()}
