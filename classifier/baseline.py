"""The char n-gram TF-IDF + logistic-regression baseline (label and severity), trained on the same data.

It is the yardstick the transformer must beat, and a partner in the ensemble where it helps. It is saved
as plain arrays (safetensors) and a JSON vocabulary rather than a pickle, so loading a model directory
never executes code from it. scikit-learn fits it (the `train` extra); the runtime computes the same
features with `CharTfidf` below, because importing scikit-learn alone takes a second of every cold start.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
_CODE_BITS = 21  # every Unicode code point (+1, so that 0 means "no character") fits in 21 bits
_MAX_N = 3  # three packed code points fill 63 bits of an int64


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
    _packed: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ngram_range[1] > _MAX_N:
            raise ValueError(f"CharTfidf packs n-grams of at most {_MAX_N} characters, not {self.ngram_range[1]}")

    @classmethod
    def from_sklearn(cls, vectorizer: TfidfVectorizer) -> CharTfidf:
        return cls(dict(vectorizer.vocabulary_), vectorizer.idf_.astype(np.float32), tuple(vectorizer.ngram_range))

    def project(self, texts: list[str], *weights: np.ndarray) -> list[np.ndarray]:
        """features(texts) @ w.T for each weight matrix w (classes, features), without a sparse matrix.

        The batch is done in numpy, not n-gram by n-gram in Python: each n-gram of up to three characters
        is packed into one integer (21 bits per code point), looked up in the sorted packed vocabulary,
        then counted, weighted, l2-normalised and multiplied per class as binned arrays."""
        low, high = self.ngram_range
        cleaned = [_RUNS_OF_SPACE.sub(" ", text.lower()) for text in texts]
        lengths = np.array([len(text) for text in cleaned], dtype=np.int64)
        points = (
            np.frombuffer("".join(cleaned).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64) + 1
        )
        text_of_char = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        room = np.repeat(np.cumsum(lengths), lengths) - np.arange(len(points))  # characters left in the text
        padded = np.concatenate([points, np.zeros(high, dtype=np.int64)])
        packed = np.zeros(len(points), dtype=np.int64)
        found_rows, found_keys = [], []
        for n in range(1, high + 1):
            packed |= padded[n - 1 : n - 1 + len(points)] << (_CODE_BITS * (_MAX_N - n))
            if n >= low:
                found_rows.append(text_of_char[room >= n])
                found_keys.append(packed[room >= n])
        keys, order = self._packed_vocabulary()
        wanted = np.concatenate(found_keys)
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        known = keys[at] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)
        size = len(self.idf)
        pairs, counts = np.unique(np.concatenate(found_rows)[known] * size + order[at[known]], return_counts=True)
        rows, ids = pairs // size, pairs % size
        values = (np.log(counts) + 1) * self.idf[ids]
        values /= np.sqrt(np.bincount(rows, weights=values * values, minlength=len(texts)))[rows]
        return [
            np.stack([np.bincount(rows, weights=w[c, ids] * values, minlength=len(texts)) for c in range(len(w))], 1)
            for w in weights
        ]

    def _packed_vocabulary(self) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary's n-grams packed like `project` packs them, sorted, and their feature ids."""
        if self._packed is None:
            terms = list(self.vocabulary)
            packed = np.array(
                [sum((ord(ch) + 1) << (_CODE_BITS * (_MAX_N - 1 - j)) for j, ch in enumerate(t)) for t in terms],
                dtype=np.int64,
            )
            sort = np.argsort(packed)
            ids = np.array([self.vocabulary[t] for t in terms], dtype=np.int64)
            self._packed = (packed[sort], ids[sort])
        return self._packed


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
