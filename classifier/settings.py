"""The classifier's settings, read from classifier.yaml in the config directory (one file for training and
inference).

The defaults equal the shipped file, so an install without that file still reproduces the shipped model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wagewatch.core.config import config_dir, read_model

FILE_NAME = "classifier.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VocabSettings(_Strict):
    min_chars: int = Field(6000, ge=1)
    max_chars: int = Field(7000, ge=1)
    corpus_weight: int = Field(1_000_000, ge=1)


class ModelSettings(_Strict):
    hidden_size: int = Field(128, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(256, ge=8)
    max_length: int = Field(256, ge=8)
    dropout: float = Field(0.15, ge=0.0, lt=1.0)


class TrainSettings(_Strict):
    seed: int = 13
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    severity_loss_weight: float = Field(0.5, ge=0)
    label_smoothing: float = Field(0.05, ge=0, lt=1)
    validation_fraction: float = Field(0.15, gt=0, lt=1)
    threads: int = Field(2, ge=1)
    char_dropout: float = Field(0.08, ge=0, lt=1)
    crop_probability: float = Field(0.3, ge=0, le=1)
    # Patterns under classifier/corpus/train/ that `wagewatch train` reads: a corpus file written after the
    # shipped model is measured first and joins the list when a retrained model is shipped.
    corpus: list[str] = Field(
        default_factory=lambda: [
            "false.jsonl",
            "irrelevant.jsonl",
            "real.jsonl",
            "longform_*.jsonl",
            "v2_*.jsonl",
            "v3_*.jsonl",
        ],
        min_length=1,
    )


class InferenceSettings(_Strict):
    backend: Literal["onnx", "torch"] = "onnx"
    quantized: bool = True  # onnx only: run model.int8.onnx (int8 weights) rather than model.onnx
    batch_size: int = Field(64, ge=1)
    threads: int = Field(2, ge=1)


class BaselineSettings(_Strict):
    ngram_min: int = Field(1, ge=1)
    ngram_max: int = Field(3, ge=1)
    max_features: int = Field(40000, ge=100)
    C: float = Field(4.0, gt=0)


class DecisionSettings(_Strict):
    """Costs of the decision rule (see MODEL_CARD.md): the label minimises the expected cost under the
    calibrated probabilities, and a text whose best label still costs more than a review goes to 待研判."""

    miss_cost: float = Field(5.0, gt=0)  # a real case called false or irrelevant
    false_alarm_cost: float = Field(1.0, gt=0)  # anything else called wrongly (false alarms, false<->irrelevant)
    review_cost: float = Field(0.45, gt=0)  # one text read by provincial triage


class FactSettings(_Strict):
    """Below its threshold a fact is not shown (未说明): a wrong name costs officers more than a blank."""

    company: float = Field(0.7, ge=0, le=1)
    project: float = Field(0.7, ge=0, le=1)
    workers: float = Field(0.7, ge=0, le=1)
    amount: float = Field(0.7, ge=0, le=1)


class PlausibilitySettings(_Strict):
    max_daily_wage_yuan: float = Field(600.0, gt=0)  # the most a day of manual work earns here, per worker
    days_per_month: int = Field(26, ge=1, le=31)


class ClassifierSettings(_Strict):
    vocab: VocabSettings = VocabSettings()
    model: ModelSettings = ModelSettings()
    train: TrainSettings = TrainSettings()
    inference: InferenceSettings = InferenceSettings()
    baseline: BaselineSettings = BaselineSettings()
    decision: DecisionSettings = DecisionSettings()
    facts: FactSettings = FactSettings()
    plausibility: PlausibilitySettings = PlausibilitySettings()

    def with_overrides(self, **sections: dict[str, Any]) -> ClassifierSettings:
        """A copy with some fields replaced, e.g. `with_overrides(train={"epochs": 2})` for tests."""
        data = self.model_dump()
        for section, values in sections.items():
            data[section].update(values)
        return ClassifierSettings.model_validate(data)


def load_settings(path: str | Path | None = None) -> ClassifierSettings:
    """`path`, else classifier.yaml in the config directory (`wagewatch.core.config.config_dir`); the defaults
    when that file does not exist. Errors name the file and the key."""
    file = Path(path) if path else config_dir() / FILE_NAME
    if not file.exists():
        return ClassifierSettings()
    return read_model(ClassifierSettings, file)
