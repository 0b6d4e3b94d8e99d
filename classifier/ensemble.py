"""Loading a model directory, and averaging the transformer with the TF-IDF baseline where that helps.

`wagewatch train` stores both models in one directory with the mixing weight it chose on the validation
split (`ensemble_weight` in wagewatch.json: 1.0 means the transformer alone). The weight is picked on
validation data only, never on the test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wagewatch.classifier.baseline import BaselineModel
from wagewatch.classifier.predictions import TwoHeadPredictions
from wagewatch.classifier.textmodel import META_FILE, BatchedTwoHeadModel


class EnsembleModel(TwoHeadPredictions):
    """weight × transformer + (1 − weight) × baseline, for label and severity probabilities alike.

    At weight 0 the transformer is loaded (its version names the directory) but never run: on 2 cores its
    forward pass is about 40 % of the classifier's time."""

    def __init__(self, transformer: BatchedTwoHeadModel, baseline: BaselineModel, weight: float) -> None:
        self.transformer = transformer
        self.baseline = baseline
        self.weight = weight
        self.version = transformer.version  # the saved version names the whole directory

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        b_label, b_sev = self.baseline.probabilities(texts)
        w = self.weight
        if w == 0.0:  # validation chose the baseline alone: the forward pass would be multiplied by zero
            return b_label, b_sev
        t_label, t_sev = self.transformer.probabilities(texts)
        return w * t_label + (1 - w) * b_label, w * t_sev + (1 - w) * b_sev


def load_network(
    directory: Path,
    batch_size: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
    quantized: bool | None = None,
) -> BatchedTwoHeadModel:
    """The transformer saved in `directory`, on ONNX Runtime unless `backend` (or inference.backend in
    classifier.yaml) says torch; only then are torch and transformers imported. `quantized` (default:
    inference.quantized) picks the int8 ONNX file over the float one."""
    from wagewatch.classifier.settings import load_settings

    if not (directory / META_FILE).exists():
        raise FileNotFoundError(f"no trained model in {directory} (run `wagewatch train --out {directory}`)")
    inference = load_settings().inference
    batch_size, threads = batch_size or inference.batch_size, threads or inference.threads
    if (backend or inference.backend) == "torch":
        from wagewatch.classifier.neural import TransformerTextModel

        return TransformerTextModel.load(directory, batch_size=batch_size, threads=threads)
    from wagewatch.classifier.onnx_backend import OnnxTextModel

    quantized = inference.quantized if quantized is None else quantized
    return OnnxTextModel.load(directory, batch_size=batch_size, threads=threads, quantized=quantized)


def load_text_model(
    directory: Path,
    batch_size: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
    quantized: bool | None = None,
) -> TwoHeadPredictions:
    """The model saved in `directory`: the transformer, or the ensemble when a baseline is stored with it."""
    transformer = load_network(directory, batch_size, threads, backend, quantized)
    weight = float((transformer.meta.extra or {}).get("ensemble_weight", 1.0))
    if weight < 1.0 and BaselineModel.exists(directory):
        return EnsembleModel(transformer, BaselineModel.load(directory), weight)
    return transformer
