"""The transformer text model: any Hugging Face encoder with a label head and a severity head.

The encoder is either built from a small config with random weights (the shipped default, trained from
scratch) or loaded from a local checkpoint given to `wagewatch train --base-model`. A model directory
holds `config.json` (the encoder), `model.safetensors` (encoder and heads), `model.onnx` (the same network
for the runtime, see `onnx_backend`), the tokenizer files and `wagewatch.json` (labels, calibration
temperature, versions); nothing is ever fetched from a hub. Only training and `--base-model` need this module.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wagewatch.classifier.labels import LABELS, SEVERITY_LEVELS
from wagewatch.classifier.textmodel import ONNX_FILE, QUANTIZED_ONNX_FILE, BatchedTwoHeadModel, ModelMeta

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
    export_onnx(model, directory / ONNX_FILE)
    quantize_onnx(directory / ONNX_FILE, directory / QUANTIZED_ONNX_FILE)


def export_onnx(model: LabelSeverityModel, path: Path) -> None:
    """The network as ONNX for the torch-free runtime: dynamic batch and length, logits out (calibration and
    softmax stay in `textmodel`, shared by both back ends). TorchScript's exporter needs no extra packages
    and writes the same bytes for the same weights, which keeps `wagewatch train` reproducible.

    The export traces the encoder's plain ("eager") attention: torch's fused kernel exports as a chain of
    Where/IsNaN guards over every attention matrix that made ONNX Runtime a fifth slower, for the same numbers."""
    was_training = model.training
    attention = model.encoder.config._attn_implementation
    model.encoder.set_attn_implementation("eager")
    model.eval()
    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch"}
    try:
        with warnings.catch_warnings():  # the tracer's notes on Python-side shape checks are expected here
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message="Exporting aten::index")  # indices are positions, never < 0
            torch.onnx.export(
                model,
                (sample, sample),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=["label_logits", "severity_logits"],
                opset_version=17,
                dynamo=False,
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "length"},
                    "attention_mask": {0: "batch", 1: "length"},
                    "label_logits": axes,
                    "severity_logits": axes,
                },
            )
    finally:
        model.encoder.set_attn_implementation(attention)
        model.train(was_training)


def quantize_onnx(source: Path, target: Path) -> None:
    """ONNX Runtime's dynamic int8 quantisation of the exported network: weights stored as int8, activations
    quantised per batch. On this model it runs about a quarter faster on CPU (AVX-512 VNNI) and moves
    probabilities by a few hundredths at most (MODEL_CARD, "Back ends"); the float export stays next to it for
    the parity test against torch. The output is the same bytes for the same input."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(source, target, weight_type=QuantType.QInt8)


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


class TransformerTextModel(BatchedTwoHeadModel):
    """The torch back end: what training calibrates and what the ONNX export must agree with."""

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

    def run_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            enc = self.tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self.meta.max_length,
                return_tensors="pt",
                return_token_type_ids=False,
            )
            label_logits, severity_logits = self.model(enc["input_ids"], enc["attention_mask"])
        return label_logits.float().numpy(), severity_logits.float().numpy()
