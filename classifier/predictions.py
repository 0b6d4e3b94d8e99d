"""The shape every label model answers in, derived from its two probability matrices."""

from __future__ import annotations

import numpy as np

from wagewatch.classifier.labels import LABELS, SEVERITY_LEVELS


class TwoHeadPredictions:
    """Mixin: a model provides `probabilities(texts)` -> (label probs (n, 3), severity probs (n, 4)) and gets
    the `predict` / `predict_proba` the classifier calls."""

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def predict(self, texts: list[str]) -> tuple[list[dict[str, float]], list[int]]:
        """Calibrated label probabilities and the severity head's level for each text."""
        label_probs, severity_probs = self.probabilities(texts)
        levels = [SEVERITY_LEVELS[i] for i in severity_probs.argmax(axis=1)]
        return [dict(zip(LABELS, map(float, row), strict=True)) for row in label_probs], levels

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]:
        return self.predict(texts)[0]
