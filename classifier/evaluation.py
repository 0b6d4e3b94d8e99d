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


def score(examples: list[Example], predictions: list[Prediction]) -> Report:
    """Compare predictions with the annotations, item by item."""
    n = len(examples)
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
    return "\n".join(lines)


def predict(classifier: Any, examples: list[Example], batch_size: int = 256) -> list[Prediction]:
    """Run the full pipeline (normalise, model, facts, places, severity) over the examples' texts."""
    predictions: list[Prediction] = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start : start + batch_size]
        for item in classifier.assess([e.text for e in batch]):
            a = item.analysis
            predictions.append(
                Prediction(a.label, a.scores, item.severity_if_real.level, a.city, a.amount_yuan, a.workers)
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
    examples = [Example(**{**e.__dict__, "text": normalize(e.text)}) for e in load_training(training_files())]
    train, valid = split_validation(examples, settings.train.validation_fraction, seed)
    return train_baseline(train, valid, settings.baseline)


def evaluate_files(model_dir: Path, component: str, files: dict[str, list[Example]]) -> dict[str, Report]:
    """Score one model component on each named list of examples."""
    from wagewatch.classifier.api import Classifier

    classifier = Classifier(component_model(model_dir, component))
    return {name: score(examples, predict(classifier, examples)) for name, examples in files.items()}
