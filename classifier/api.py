"""The one entry point the pipeline and CLI use: texts in, `Analysis` records out."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from wagewatch.classifier import facts as fact_extraction
from wagewatch.classifier import judgment, passages, places, severity
from wagewatch.classifier.labels import LABELS
from wagewatch.classifier.normalize import normalize, to_simplified
from wagewatch.classifier.settings import ClassifierSettings, load_settings
from wagewatch.core.states import Label

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"


class TextModel(Protocol):
    version: str

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]: ...


@runtime_checkable
class SeverityTextModel(Protocol):
    """A text model that also predicts a severity level (1–4) per text from its severity head."""

    version: str

    def predict(self, texts: list[str]) -> tuple[list[dict[str, float]], list[int]]: ...


@dataclass
class Analysis:
    """What the classifier says about one text; field names follow the `wagewatch classify` contract."""

    label: str
    scores: dict[str, float]
    severity: int | None
    severity_score: float
    province: str | None
    city: str | None
    county: str | None
    amount_yuan: float | None
    amount_approximate: bool
    workers: int | None
    company: str | None
    project: str | None
    project_type: str | None
    extreme: bool
    explanation: list[str] = field(default_factory=list)
    model_version: str = ""
    needs_review: bool = False  # the model cannot call it: provincial triage reads it (待研判); label is the best guess
    passage: str | None = None  # the passage that decided, for a text read in passages
    resolution: str | None = None  # real cases: unresolved | handling | resolved
    rules: list[str] = field(default_factory=list)  # keys of the rules that fired, e.g. "pretext:loan"
    fact_confidence: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Assessment:
    """An `Analysis` plus the severity the text would get if it were real (evaluation needs both)."""

    analysis: Analysis
    severity_if_real: severity.Severity


def as_text(value: Any) -> str:
    """Whatever the caller passed (str, bytes, None, a number) as text; undecodable bytes are replaced."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


PASSAGE_PREFIX = "依据段落："  # the explanation line quoting the deciding passage (alerts show it to triage)

# Rules that, firing against the model's "real", send the text to review rather than to a duty officer.
_DOUBT_RULES = ("pretext:project_payment", "pretext:already_paid", "pretext:debunked", "plausibility:amount")


def verbatim(name: str | None, raw: str) -> str | None:
    """`name` as the post writes it: a name read from the simplified text is given back in the post's own
    characters (traditional, full-width), so it can be searched for and quoted exactly."""
    if name is None or name in raw:
        return name
    converted = to_simplified(unicodedata.normalize("NFKC", raw))
    start = converted.find(name) if len(converted) == len(raw) else -1
    return raw[start : start + len(name)] if start >= 0 else name


def _quote(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class Classifier:
    """Normalises, reads long texts by passage, runs the label model, decides by cost, extracts facts and
    scores severity."""

    def __init__(self, model: TextModel, settings: ClassifierSettings | None = None) -> None:
        self.model = model
        self.settings = settings or load_settings()

    @property
    def version(self) -> str:
        return self.model.version

    def analyze(self, texts: list[str], reach: list[int] | None = None) -> list[Analysis]:
        return [a.analysis for a in self.assess(texts, reach)]

    def _predict(self, texts: list[str]) -> tuple[list[dict[str, float]], list[int | None]]:
        if isinstance(self.model, SeverityTextModel):
            return self.model.predict(texts)
        return self.model.predict_proba(texts), [None] * len(texts)

    def assess(self, texts: list[Any], reach: list[int] | None = None) -> list[Assessment]:
        """`analyze` with the would-be severity kept for every text."""
        cleaned = [normalize(as_text(t)) for t in texts]
        split = [passages.split(t) for t in cleaned]
        # one model call for the whole texts and the passages of the long ones
        inputs = list(cleaned)
        owners: list[int] = []
        for i, parts in enumerate(split):
            if len(parts) > 1:
                inputs += parts
                owners += [i] * len(parts)
        probabilities, levels = self._predict(inputs)
        readings: list[list[tuple[str | None, dict[str, float], int | None]]] = [
            [(None, probabilities[i], levels[i])] for i in range(len(cleaned))
        ]
        for k, owner in enumerate(owners):
            j = len(cleaned) + k
            readings[owner].append((inputs[j], probabilities[j], levels[j]))
        reach = list(reach) if reach is not None else []
        reach += [0] * (len(texts) - len(reach))
        return [
            self._one(text, read, r or 0, as_text(raw))
            for text, read, r, raw in zip(cleaned, readings, reach, texts, strict=True)
        ]

    def _decide(self, probs: dict[str, float], cost_tilt: bool) -> tuple[str, bool]:
        """The label with the least expected cost under `probs`, and whether even that costs more than a review.

        Without `cost_tilt` (an aggregate report: ceremony, statistics, policy) the most probable label wins
        and nothing goes to review, so such reports stay irrelevant."""
        d = self.settings.decision
        if not cost_tilt:
            return max(LABELS, key=lambda k: probs[k]), False
        cost = {
            "real": d.false_alarm_cost * (1 - probs["real"]),
            "false": d.miss_cost * probs["real"] + d.false_alarm_cost * probs["irrelevant"],
            "irrelevant": d.miss_cost * probs["real"] + d.false_alarm_cost * probs["false"],
        }
        label = min(LABELS, key=lambda k: (cost[k], -probs[k]))
        return label, cost[label] > d.review_cost

    def _one(
        self, text: str, readings: list[tuple[str | None, dict[str, float], int | None]], reach: int, raw: str
    ) -> Assessment:
        # A text is read by its most case-like passage: the one least likely irrelevant (the whole text first).
        passage, probs, model_level = min(readings, key=lambda r: r[1]["irrelevant"] - (1e-9 if r[0] is None else 0))
        focus = passage or text
        found = fact_extraction.extract(text)
        place = places.locate(focus)
        if passage and not place.city:
            place = places.locate(text)
        rules: list[judgment.RuleHit] = []
        aggregate = judgment.aggregate(focus)
        if aggregate and not (found.extreme_signals or found.group_signals):
            rules.append(aggregate)
        if text:
            label, needs_review = self._decide(probs, cost_tilt=not rules)
        else:
            label, needs_review = "irrelevant", False
        explanation = [f"判定为{Label(label).caption}（置信度{probs[label]:.0%}）"] if text else ["文本为空或无法识别"]
        if passage:
            explanation.append(f"{PASSAGE_PREFIX}“{_quote(passage)}”")
        if place.evidence:
            explanation.append(f"地点依据：“{place.evidence}”")
        pretexts = judgment.pretexts(focus)
        plaus = judgment.plausibility(
            focus, found, self.settings.plausibility.max_daily_wage_yuan, self.settings.plausibility.days_per_month
        )
        rules += pretexts + ([plaus] if plaus else [])
        doubts = [r for r in rules if r.rule in _DOUBT_RULES]
        if label == "real" and doubts:
            needs_review = True
        for hit in rules:
            if label != "irrelevant" or hit.rule == "aggregate":
                explanation.append(f"规则：{hit.name}（“{hit.evidence}”）")
        if needs_review:
            explanation.append("模型无法确定，转省级研判（待研判）")
        sev = severity.score(found, reach=reach, model_level=model_level)
        level, points, status = None, 0.0, None
        if label == "real":
            level, points = sev.level, sev.score
            explanation.extend(sev.reasons)
            status, evidence = judgment.resolution(focus)
            if evidence:
                explanation.append(f"办理状态：{judgment.RESOLUTION_NAMES[status]}（“{evidence}”）")
        confidence = found.confidence(label)
        amount = found.stated_amount(label)
        shown = self.settings.facts
        stated = label != "irrelevant"  # the labelling guide: an irrelevant text states no sum or headcount owed
        analysis = Analysis(
            label=label,
            scores={k: round(float(probs[k]), 4) for k in LABELS},
            severity=level,
            severity_score=points,
            province=place.province,
            city=place.city,
            county=place.county,
            amount_yuan=amount.yuan if stated and amount and confidence["amount"] >= shown.amount else None,
            amount_approximate=bool(amount and amount.approximate),
            # one worker is inferred only for a real case; elsewhere a singular telling says nothing
            workers=found.workers
            if stated and confidence["workers"] >= shown.workers and (label == "real" or not found.workers_inferred)
            else None,
            company=verbatim(found.company, raw) if confidence["company"] >= shown.company else None,
            project=verbatim(found.project, raw) if confidence["project"] >= shown.project else None,
            project_type=found.project_type,
            extreme=found.extreme,
            explanation=explanation,
            model_version=self.model.version,
            needs_review=needs_review,
            passage=passage,
            resolution=str(status) if status else None,
            rules=[r.rule for r in rules],
            fact_confidence=confidence,
        )
        return Assessment(analysis, sev)


def load_classifier(
    model_dir: str | Path | None = None, backend: str | None = None, threads: int | None = None
) -> Classifier:
    """The shipped classifier (classifier/model/), or the model saved by `wagewatch train --out DIR`;
    `backend` (onnx or torch) overrides inference.backend of classifier.yaml."""
    from wagewatch.classifier.ensemble import load_text_model

    directory = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    return Classifier(load_text_model(directory, threads=threads, backend=backend))
