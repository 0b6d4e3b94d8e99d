"""The transformer text model: any Hugging Face encoder with a label head and a severity head.

The encoder is either built from a small config with random weights (the shipped default, trained from
scratch) or loaded from a local checkpoint given to `wagewatch train --base-model`. A model directory
holds `config.json` (the encoder), `model.safetensors` (encoder and heads), the tokenizer files and
`wagewatch.json` (labels, calibration temperature, versions); nothing is ever fetched from a hub.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wagewatch.classifier.labels import LABELS, SEVERITY_LEVELS
from wagewatch.classifier.predictions import TwoHeadPredictions

META_FILE = "wagewatch.json"
WEIGHTS_FILE = "model.safetensors"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class LabelSeverityModel(nn.Module):
    """Encoder → masked mean pooling → two linear heads (label over LABELS, severity over 1–4)."""

    def __init__(self, encoder: nn.Module, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.label_head = nn.Linear(hidden_size, len(LABELS))
        self.severity_head = nn.Linear(hidden_size, len(SEVERITY_LEVELS))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = self.dropout(pooled)
        return self.label_head(pooled), self.severity_head(pooled)


def scratch_encoder(vocab_size: int, spec: dict[str, Any]) -> nn.Module:
    """A small BERT-style encoder with random weights (seed before calling for reproducible weights)."""
    from transformers import AutoModel, BertConfig

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=spec["hidden_size"],
        num_hidden_layers=spec["num_layers"],
        num_attention_heads=spec["num_heads"],
        intermediate_size=spec["intermediate_size"],
        max_position_embeddings=spec["max_length"],
        hidden_dropout_prob=spec["dropout"],
        attention_probs_dropout_prob=spec["dropout"],
        type_vocab_size=1,
        pad_token_id=0,
    )
    return AutoModel.from_config(config, add_pooling_layer=False)


def pretrained_encoder(base_dir: str | Path) -> nn.Module:
    """A local checkpoint's encoder (e.g. a Chinese RoBERTa on disk); refuses to touch the network."""
    from transformers import AutoModel

    try:  # BERT-family encoders carry a pooler the heads do not use; leave it out so saved weights match
        return AutoModel.from_pretrained(str(base_dir), local_files_only=True, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_pretrained(str(base_dir), local_files_only=True)


def _encoder_from_config(config: Any) -> nn.Module:
    from transformers import AutoModel

    try:
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_config(config)


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


def save_model(model: LabelSeverityModel, tokenizer: Any, meta: ModelMeta, directory: str | Path) -> None:
    """Write weights (safetensors), encoder config, tokenizer and metadata into `directory`."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.config.save_pretrained(str(directory))
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    tokenizer.save_pretrained(str(directory))
    meta.dump(directory)


def load_model(directory: str | Path) -> tuple[LabelSeverityModel, Any, ModelMeta]:
    """The inverse of `save_model`; the encoder is rebuilt from its config, then the weights are loaded."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer

    directory = Path(directory)
    meta = ModelMeta.load(directory)
    config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    encoder = _encoder_from_config(config)
    model = LabelSeverityModel(encoder, config.hidden_size, meta.dropout)
    model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)), strict=True)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    return model, tokenizer, meta


class TransformerTextModel(TwoHeadPredictions):
    """The `TextModel` the classifier runs: calibrated label probabilities and a severity prediction."""

    def __init__(
        self,
        model: LabelSeverityModel,
        tokenizer: Any,
        meta: ModelMeta,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.version = meta.version
        self.batch_size = batch_size
        self.threads = threads

    @classmethod
    def load(cls, directory: str | Path, batch_size: int = 64, threads: int | None = None) -> TransformerTextModel:
        model, tokenizer, meta = load_model(directory)
        return cls(model, tokenizer, meta, batch_size=batch_size, threads=threads)

    def logits(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (uncalibrated) label and severity logits, batched with short texts grouped together."""
        if not texts:
            return torch.zeros(0, len(LABELS)), torch.zeros(0, len(SEVERITY_LEVELS))
        if self.threads:
            torch.set_num_threads(self.threads)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        label_out = torch.empty(len(texts), len(LABELS))
        severity_out = torch.empty(len(texts), len(SEVERITY_LEVELS))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                # characters past max_length would be cut anyway: trimming first keeps tokenising fast
                batch = [texts[i][: self.meta.max_length * 2] for i in idx]
                enc = self.tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.meta.max_length,
                    return_tensors="pt",
                    return_token_type_ids=False,
                )
                label_logits, severity_logits = self.model(enc["input_ids"], enc["attention_mask"])
                label_out[idx] = label_logits.float()
                severity_out[idx] = severity_logits.float()
        return label_out, severity_out

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated label probabilities (n, 3) and severity-head probabilities (n, 4)."""
        label_logits, severity_logits = self.logits(texts)
        label_probs = torch.softmax(label_logits.double() / self.meta.temperature, dim=-1)
        return label_probs.numpy(), torch.softmax(severity_logits.double(), dim=-1).numpy()
