"""The char n-gram TF-IDF + logistic-regression baseline (label and severity), trained on the same data.

It is the yardstick the transformer must beat, and a partner in the ensemble where it helps. It is saved
as plain arrays (safetensors) and a JSON vocabulary rather than a pickle, so loading a model directory
never executes code from it. scikit-learn fits it (the `train` extra); the runtime computes the same
features with `CharTfidf` below, because importing scikit-learn alone takes a second of every cold start.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wagewatch.classifier import calibration
from wagewatch.classifier.corpus import Example
from wagewatch.classifier.labels import LABELS, SEVERITY_LEVELS
from wagewatch.classifier.predictions import TwoHeadPredictions
from wagewatch.classifier.settings import BaselineSettings

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

VOCAB_FILE = "baseline_vocab.json"
ARRAYS_FILE = "baseline.safetensors"
_RUNS_OF_SPACE = re.compile(r"\s\s+")


def _vectorizer(spec: BaselineSettings) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char",
        ngram_range=(spec.ngram_min, spec.ngram_max),
        sublinear_tf=True,
        max_features=spec.max_features,
        dtype=np.float32,
    )


@dataclass
class CharTfidf:
    """scikit-learn's char TfidfVectorizer (lowercase, sublinear tf, l2) for a fixed vocabulary, as a product
    with a weight matrix: per text, the weights of its known n-grams times their columns."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]

    @classmethod
    def from_sklearn(cls, vectorizer: TfidfVectorizer) -> CharTfidf:
        return cls(dict(vectorizer.vocabulary_), vectorizer.idf_.astype(np.float32), tuple(vectorizer.ngram_range))

    def _ngrams(self, text: str) -> list[str]:
        text = _RUNS_OF_SPACE.sub(" ", text.lower())
        low, high = self.ngram_range
        return [text[i : i + n] for n in range(low, min(high, len(text)) + 1) for i in range(len(text) - n + 1)]

    def project(self, texts: list[str], *weights: np.ndarray) -> list[np.ndarray]:
        """features(texts) @ w.T for each weight matrix w (classes, features), without a sparse matrix."""
        out = [np.zeros((len(texts), w.shape[0])) for w in weights]
        for row, text in enumerate(texts):
            counts = Counter(self.vocabulary[g] for g in self._ngrams(text) if g in self.vocabulary)
            if not counts:
                continue
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts))) + 1
            values = tf * self.idf[ids]
            values /= np.linalg.norm(values)
            for matrix, w in zip(out, weights, strict=True):
                matrix[row] = w[:, ids] @ values
        return out


@dataclass
class BaselineModel(TwoHeadPredictions):
    """TF-IDF features times two weight matrices; a `SeverityTextModel` like the transformer."""

    features: CharTfidf
    label_coef: np.ndarray  # (labels, features)
    label_intercept: np.ndarray
    severity_coef: np.ndarray  # (4, features)
    severity_intercept: np.ndarray
    temperature: float
    version: str = "tfidf-lr"

    def label_logits(self, texts: list[str]) -> np.ndarray:
        (label,) = self.features.project(texts, self.label_coef)
        return label + self.label_intercept

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated label probabilities (n, 3) and severity probabilities (n, 4)."""
        label, severity = self.features.project(texts, self.label_coef, self.severity_coef)
        return (
            calibration.softmax(label + self.label_intercept, self.temperature),
            calibration.softmax(severity + self.severity_intercept),
        )

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        vocab = {term: int(i) for term, i in sorted(self.features.vocabulary.items(), key=lambda kv: kv[1])}
        (directory / VOCAB_FILE).write_text(
            json.dumps(
                {"ngram_range": list(self.features.ngram_range), "temperature": self.temperature, "vocabulary": vocab},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            encoding="utf-8",
        )
        save_file(
            {
                "idf": self.features.idf.astype(np.float32),
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
        features = CharTfidf(data["vocabulary"], arrays["idf"].astype(np.float32), (low, high))
        return cls(
            features,
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
    from sklearn.linear_model import LogisticRegression

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
    model = BaselineModel(
        CharTfidf.from_sklearn(vectorizer), label_coef, label_intercept, sev_coef, sev_intercept, temperature=1.0
    )
    if valid:
        logits = model.label_logits([e.text for e in valid])
        model.temperature = calibration.fit_temperature(logits, np.array([LABELS.index(e.label) for e in valid]))
    return model
