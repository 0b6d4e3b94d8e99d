"""What a model directory records next to its weights, and the batched inference both back ends share.

The runtime reads a model through ONNX Runtime (`onnx_backend`), training and fine-tuning through torch
(`neural`). Both tokenise, batch and calibrate in exactly the same way — this module — so they can only
differ in the arithmetic of the network itself, which the parity test bounds. Nothing here imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wagewatch.classifier.calibration import softmax
from wagewatch.classifier.labels import LABELS, SEVERITY_LEVELS
from wagewatch.classifier.predictions import TwoHeadPredictions

META_FILE = "wagewatch.json"
ONNX_FILE = "model.onnx"
QUANTIZED_ONNX_FILE = "model.int8.onnx"  # the same network with int8 weights: what the service runs


@dataclass
class ModelMeta:
    """What `wagewatch.json` records next to the weights."""

    version: str
    max_length: int
    temperature: float
    dropout: float
    labels: tuple[str, ...] = LABELS
    extra: dict[str, Any] | None = None

    def dump(self, directory: Path) -> None:
        data = {
            "version": self.version,
            "max_length": self.max_length,
            "temperature": self.temperature,
            "dropout": self.dropout,
            "labels": list(self.labels),
            "extra": self.extra or {},
        }
        (directory / META_FILE).write_text(
            json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> ModelMeta:
        data = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return cls(
            version=data["version"],
            max_length=int(data["max_length"]),
            temperature=float(data["temperature"]),
            dropout=float(data.get("dropout", 0.1)),
            labels=tuple(data["labels"]),
            extra=data.get("extra") or {},
        )


class BatchedTwoHeadModel(TwoHeadPredictions):
    """A label/severity network run in length-sorted batches; subclasses supply `run_batch`."""

    meta: ModelMeta
    batch_size: int

    def run_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Raw label (b, 3) and severity (b, 4) logits for one batch of texts."""
        raise NotImplementedError

    def logits(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Raw (uncalibrated) logits for every text, float32; short texts are batched together."""
        label_out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        severity_out = np.zeros((len(texts), len(SEVERITY_LEVELS)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            # characters past max_length would be cut anyway: trimming first keeps tokenising fast
            label_out[idx], severity_out[idx] = self.run_batch([texts[i][: self.meta.max_length * 2] for i in idx])
        return label_out, severity_out

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated label probabilities (n, 3) and severity-head probabilities (n, 4)."""
        label_logits, severity_logits = self.logits(texts)
        return (
            softmax(label_logits.astype(np.float64), self.meta.temperature),
            softmax(severity_logits.astype(np.float64)),
        )
