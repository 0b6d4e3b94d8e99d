"""The one entry point the pipeline and CLI use: texts in, `Analysis` records out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from classifier import facts as fact_extraction
from classifier import places, severity
from classifier.cues import LABELS, CueModel
from classifier.normalize import normalize


class TextModel(Protocol):
    version: str

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]: ...


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


class Classifier:
    """Normalises, runs the label model, extracts facts and scores severity."""

    def __init__(self, model: TextModel) -> None:
        self.model = model

    @property
    def version(self) -> str:
        return self.model.version

    def analyze(self, texts: list[str], reach: list[int] | None = None) -> list[Analysis]:
        cleaned = [normalize(t if isinstance(t, str) else "") for t in texts]
        probabilities = self.model.predict_proba(cleaned)
        reach = reach or [0] * len(texts)
        return [self._one(text, probs, r) for text, probs, r in zip(cleaned, probabilities, reach)]

    def _one(self, text: str, probs: dict[str, float], reach: int) -> Analysis:
        label = max(LABELS, key=lambda k: probs[k]) if text else "irrelevant"
        found = fact_extraction.extract(text)
        place = places.locate(text)
        explanation = [f"判定为{ {'real': '真实欠薪', 'false': '虚假讨薪', 'irrelevant': '无关信息'}[label] }"
                       f"（置信度{probs[label]:.0%}）"]
        if place.evidence:
            explanation.append(f"地点依据：“{place.evidence}”")
        level, points = None, 0.0
        if label == "real":
            sev = severity.score(found, reach=reach)
            level, points = sev.level, sev.score
            explanation.extend(sev.reasons)
        return Analysis(
            label=label,
            scores={k: round(float(probs[k]), 4) for k in LABELS},
            severity=level,
            severity_score=points,
            province=place.province,
            city=place.city,
            county=place.county,
            amount_yuan=found.amount.yuan if found.amount else None,
            amount_approximate=bool(found.amount and found.amount.approximate),
            workers=found.workers,
            company=found.company,
            project=found.project,
            project_type=found.project_type,
            extreme=found.extreme,
            explanation=explanation,
            model_version=self.model.version,
        )


def load_classifier(model_dir: str | Path | None = None) -> Classifier:
    """The shipped classifier. Until a trained model is shipped, the cue model serves."""
    return Classifier(CueModel())
