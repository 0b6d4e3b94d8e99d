"""The one entry point the pipeline and CLI use: texts in, `Analysis` records out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from wagewatch.classifier import facts as fact_extraction
from wagewatch.classifier import places, severity
from wagewatch.classifier.labels import LABELS
from wagewatch.classifier.normalize import normalize
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


class Classifier:
    """Normalises, runs the label model, extracts facts and scores severity."""

    def __init__(self, model: TextModel) -> None:
        self.model = model

    @property
    def version(self) -> str:
        return self.model.version

    def analyze(self, texts: list[str], reach: list[int] | None = None) -> list[Analysis]:
        return [a.analysis for a in self.assess(texts, reach)]

    def assess(self, texts: list[Any], reach: list[int] | None = None) -> list[Assessment]:
        """`analyze` with the would-be severity kept for every text."""
        cleaned = [normalize(as_text(t)) for t in texts]
        if isinstance(self.model, SeverityTextModel):
            probabilities, levels = self.model.predict(cleaned)
        else:
            probabilities, levels = self.model.predict_proba(cleaned), [None] * len(cleaned)
        reach = list(reach) if reach is not None else []
        reach += [0] * (len(texts) - len(reach))
        return [
            self._one(text, probs, level, r or 0)
            for text, probs, level, r in zip(cleaned, probabilities, levels, reach, strict=True)
        ]

    def _one(self, text: str, probs: dict[str, float], model_level: int | None, reach: int) -> Assessment:
        label = max(LABELS, key=lambda k: probs[k]) if text else "irrelevant"
        found = fact_extraction.extract(text)
        place = places.locate(text)
        explanation = [f"判定为{Label(label).caption}（置信度{probs[label]:.0%}）" if text else "文本为空或无法识别"]
        if place.evidence:
            explanation.append(f"地点依据：“{place.evidence}”")
        sev = severity.score(found, reach=reach, model_level=model_level)
        level, points = None, 0.0
        if label == "real":
            level, points = sev.level, sev.score
            explanation.extend(sev.reasons)
        analysis = Analysis(
            label=label,
            scores={k: round(float(probs[k]), 4) for k in LABELS},
            severity=level,
            severity_score=points,
            province=place.province,
            city=place.city,
            county=place.county,
            amount_yuan=found.amount.yuan if found.amount else None,
            amount_approximate=bool(found.amount and found.amount.approximate),
            # one worker is inferred only for a real case; elsewhere a singular telling says nothing
            workers=found.workers if label == "real" or not found.workers_inferred else None,
            company=found.company,
            project=found.project,
            project_type=found.project_type,
            extreme=found.extreme,
            explanation=explanation,
            model_version=self.model.version,
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
