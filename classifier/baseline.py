"""The char n-gram TF-IDF + logistic-regression baseline (label and severity), trained on the same data.

It is the yardstick the transformer must beat, and a partner in the ensemble where it helps. It is saved
as plain arrays (safetensors) and a JSON vocabulary rather than a pickle, so loading a model directory
never executes code from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from wagewatch.classifier import calibration
from wagewatch.classifier.corpus import Example
from wagewatch.classifier.labels import LABELS, SEVERITY_LEVELS
from wagewatch.classifier.predictions import TwoHeadPredictions
from wagewatch.classifier.settings import BaselineSettings

VOCAB_FILE = "baseline_vocab.json"
ARRAYS_FILE = "baseline.safetensors"


def _vectorizer(spec: BaselineSettings, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=(spec.ngram_min, spec.ngram_max),
        sublinear_tf=True,
        max_features=None if vocabulary else spec.max_features,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


@dataclass
class BaselineModel(TwoHeadPredictions):
    """TF-IDF features times two weight matrices; a `SeverityTextModel` like the transformer."""

    vectorizer: TfidfVectorizer
    label_coef: np.ndarray  # (labels, features)
    label_intercept: np.ndarray
    severity_coef: np.ndarray  # (4, features)
    severity_intercept: np.ndarray
    temperature: float
    version: str = "tfidf-lr"

    def label_logits(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(LABELS)))
        features = self.vectorizer.transform(texts)
        return np.asarray(features @ self.label_coef.T + self.label_intercept, dtype=np.float64)

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated label probabilities (n, 3) and severity probabilities (n, 4)."""
        if not texts:
            return np.zeros((0, len(LABELS))), np.zeros((0, len(SEVERITY_LEVELS)))
        features = self.vectorizer.transform(texts)
        label_logits = np.asarray(features @ self.label_coef.T + self.label_intercept, dtype=np.float64)
        severity_logits = np.asarray(features @ self.severity_coef.T + self.severity_intercept, dtype=np.float64)
        return calibration.softmax(label_logits, self.temperature), calibration.softmax(severity_logits)

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        vocab = {term: int(i) for term, i in sorted(self.vectorizer.vocabulary_.items(), key=lambda kv: kv[1])}
        (directory / VOCAB_FILE).write_text(
            json.dumps(
                {
                    "ngram_range": list(self.vectorizer.ngram_range),
                    "temperature": self.temperature,
                    "vocabulary": vocab,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            encoding="utf-8",
        )
        save_file(
            {
                "idf": self.vectorizer.idf_.astype(np.float32),
                "label_coef": self.label_coef.astype(np.float32),
                "label_intercept": self.label_intercept.astype(np.float32),
                "severity_coef": self.severity_coef.astype(np.float32),
                "severity_intercept": self.severity_intercept.astype(np.float32),
            },
            str(directory / ARRAYS_FILE),
        )

    @classmethod
    def load(cls, directory: Path) -> BaselineModel:
        from safetensors.numpy import load_file

        data = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        arrays = load_file(str(directory / ARRAYS_FILE))
        low, high = data["ngram_range"]
        spec = BaselineSettings(ngram_min=low, ngram_max=high)
        vectorizer = _vectorizer(spec, vocabulary=data["vocabulary"])
        vectorizer.idf_ = arrays["idf"].astype(np.float32)
        return cls(
            vectorizer,
            arrays["label_coef"],
            arrays["label_intercept"],
            arrays["severity_coef"],
            arrays["severity_intercept"],
            float(data["temperature"]),
        )

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / VOCAB_FILE).exists() and (directory / ARRAYS_FILE).exists()


def _fit_lr(features, targets: np.ndarray, c: float, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights for every class index 0..n_classes-1, zero rows for classes absent from `targets`."""
    coef = np.zeros((n_classes, features.shape[1]), dtype=np.float64)
    intercept = np.full(n_classes, -30.0)
    present = sorted(set(targets.tolist()))
    if len(present) == 1:
        intercept[present[0]] = 0.0
        return coef, intercept
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(features, targets)
    if len(present) == 2:  # sklearn keeps one row for a binary problem
        coef[present[1]], intercept[present[1]] = model.coef_[0], model.intercept_[0]
        intercept[present[0]] = 0.0
    else:
        for row, cls in enumerate(model.classes_):
            coef[cls], intercept[cls] = model.coef_[row], model.intercept_[row]
    return coef, intercept


def train_baseline(train: list[Example], valid: list[Example], spec: BaselineSettings) -> BaselineModel:
    """Fit on normalised `train` texts; fit the temperature on `valid`."""
    vectorizer = _vectorizer(spec)
    features = vectorizer.fit_transform([e.text for e in train])
    labels = np.array([LABELS.index(e.label) for e in train])
    label_coef, label_intercept = _fit_lr(features, labels, spec.C, len(LABELS))
    severe = [i for i, e in enumerate(train) if e.label == "real" and e.severity in SEVERITY_LEVELS]
    if severe:
        sev_coef, sev_intercept = _fit_lr(
            features[severe], np.array([train[i].severity - 1 for i in severe]), spec.C, len(SEVERITY_LEVELS)
        )
    else:
        sev_coef, sev_intercept = np.zeros((len(SEVERITY_LEVELS), features.shape[1])), np.zeros(len(SEVERITY_LEVELS))
    model = BaselineModel(vectorizer, label_coef, label_intercept, sev_coef, sev_intercept, temperature=1.0)
    if valid:
        logits = model.label_logits([e.text for e in valid])
        model.temperature = calibration.fit_temperature(logits, np.array([LABELS.index(e.label) for e in valid]))
    return model
