"""Training the label/severity model reproducibly: same data, settings and seed give the same bits.

Reproducibility comes from seeding every generator, deterministic torch kernels, a fixed thread count,
a fixed file and example order, and no wall-clock or path in anything that is saved. It holds on one
machine type and torch build; another CPU family may round differently.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wagewatch.classifier import calibration
from wagewatch.classifier.baseline import train_baseline
from wagewatch.classifier.charvocab import build_vocabulary, make_tokenizer
from wagewatch.classifier.corpus import Example, split_validation
from wagewatch.classifier.labels import LABELS
from wagewatch.classifier.neural import (
    LabelSeverityModel,
    TransformerTextModel,
    pretrained_encoder,
    save_model,
    scratch_encoder,
)
from wagewatch.classifier.normalize import normalize
from wagewatch.classifier.settings import ClassifierSettings
from wagewatch.classifier.textmodel import ModelMeta

log = logging.getLogger(__name__)


@dataclass
class TrainReport:
    """What a training run produced, for the CLI and the model card."""

    directory: Path
    version: str
    weights_sha256: str
    train_examples: int
    validation_examples: int
    temperature: float
    ece_before: float
    ece_after: float
    validation_accuracy: float
    ensemble_weight: float


def seed_everything(seed: int, threads: int) -> None:
    """Seed Python, NumPy and torch and force deterministic kernels on a fixed number of threads."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def weights_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _encode(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    encoded = tokenizer(
        [t[: max_length * 2] for t in texts],
        truncation=True,
        max_length=max_length,
        return_token_type_ids=False,
        return_attention_mask=False,
    )
    return encoded["input_ids"]


def _pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def _length_bucketed_batches(ids: list[list[int]], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of similar-length texts (less padding, faster epochs), drawn from `generator` only."""
    order = torch.randperm(len(ids), generator=generator).tolist()
    chunk = batch_size * 16
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: (len(ids[i]), i))
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    return [batches[k] for k in torch.randperm(len(batches), generator=generator).tolist()]


def _crop(row: list[int], probability: float, generator: torch.Generator) -> list[int]:
    """With `probability`, keep a random span of 50–100% of the text between [CLS] and [SEP].

    Posts are often quoted, cut or prefixed ("转发：", a news dateline); training on spans keeps the model from
    leaning on how a text begins.
    """
    content = row[1:-1]
    if probability <= 0 or len(content) < 20 or torch.rand(1, generator=generator).item() >= probability:
        return row
    keep = max(10, int(len(content) * (0.5 + 0.5 * torch.rand(1, generator=generator).item())))
    start = int(torch.randint(0, len(content) - keep + 1, (1,), generator=generator).item())
    return [row[0], *content[start : start + keep], row[-1]]


def _severity_target(example: Example) -> int:
    """Index 0–3 for levels 1–4; -100 (ignored by the loss) where the example carries no severity."""
    if example.label != "real" or example.severity not in (1, 2, 3, 4):
        return -100
    return example.severity - 1


def train_transformer(
    train_set: list[Example],
    vocabulary_texts: list[str],
    settings: ClassifierSettings,
    seed: int,
    base_model: str | Path | None,
    say: Callable[[str], None],
) -> TransformerTextModel:
    """Train the encoder and both heads on normalised `train_set`; temperature is left at 1."""
    spec, hp = settings.model, settings.train
    seed_everything(seed, hp.threads)
    if base_model:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
        encoder = pretrained_encoder(base_model)
        max_length = min(spec.max_length, getattr(encoder.config, "max_position_embeddings", spec.max_length))
    else:
        vocabulary = build_vocabulary(
            vocabulary_texts, settings.vocab.min_chars, settings.vocab.max_chars, settings.vocab.corpus_weight
        )
        tokenizer = make_tokenizer(vocabulary, spec.max_length)
        torch.manual_seed(seed)
        encoder = scratch_encoder(len(vocabulary), spec.model_dump())
        max_length = spec.max_length
    model = LabelSeverityModel(encoder, encoder.config.hidden_size, spec.dropout)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    unk_id = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else pad_id
    special = set(tokenizer.all_special_ids)

    ids = _encode(tokenizer, [e.text for e in train_set], max_length)
    label_y = torch.tensor([LABELS.index(e.label) for e in train_set])
    severity_y = torch.tensor([_severity_target(e) for e in train_set])

    # bucketing can leave one short batch per chunk of 16 batches: an upper bound on steps per epoch
    steps_per_epoch = math.ceil(len(train_set) / hp.batch_size) + math.ceil(len(train_set) / (hp.batch_size * 16))
    total_steps = steps_per_epoch * hp.epochs
    warmup = max(1, int(total_steps * hp.warmup_ratio))
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=hp.learning_rate,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup)))
    )
    label_loss = nn.CrossEntropyLoss(label_smoothing=hp.label_smoothing)
    severity_loss = nn.CrossEntropyLoss(ignore_index=-100)
    generator = torch.Generator().manual_seed(seed)

    model.train()
    for epoch in range(hp.epochs):
        running = 0.0
        batches = _length_bucketed_batches(ids, hp.batch_size, generator)
        for batch in batches:
            rows = [_crop(list(ids[i]), hp.crop_probability, generator) for i in batch]
            if hp.char_dropout > 0:
                for row in rows:
                    noise = torch.rand(len(row), generator=generator).tolist()
                    for j, r in enumerate(noise):
                        if r < hp.char_dropout and row[j] not in special:
                            row[j] = unk_id
            input_ids, mask = _pad(rows, pad_id)
            label_logits, severity_logits = model(input_ids, mask)
            loss = label_loss(label_logits, label_y[batch])
            sev_y = severity_y[batch]
            if (sev_y >= 0).any():
                loss = loss + hp.severity_loss_weight * severity_loss(severity_logits, sev_y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running += loss.item()
        say(f"epoch {epoch + 1}/{hp.epochs} loss {running / len(batches):.4f}")
    model.eval()
    meta = ModelMeta(version="pending", max_length=max_length, temperature=1.0, dropout=spec.dropout)
    return TransformerTextModel(model, tokenizer, meta, batch_size=settings.inference.batch_size)


def _macro_f1(probs: np.ndarray, gold: np.ndarray) -> float:
    pred = probs.argmax(1)
    scores = []
    for k in range(len(LABELS)):
        tp = int(((pred == k) & (gold == k)).sum())
        fp, fn = int(((pred == k) & (gold != k)).sum()), int(((pred != k) & (gold == k)).sum())
        if tp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def choose_ensemble_weight(t_probs: np.ndarray, b_probs: np.ndarray, gold: np.ndarray) -> float:
    """The transformer's share (0–1, step 0.1) with the best validation macro F1, then lowest NLL."""
    best, best_key = 1.0, None
    for step in range(10, -1, -1):
        w = step / 10
        mixed = w * t_probs + (1 - w) * b_probs
        nll = float(-np.log(np.clip(mixed[np.arange(len(gold)), gold], 1e-12, 1)).mean()) if len(gold) else 0.0
        key = (round(_macro_f1(mixed, gold), 6), -round(nll, 6))
        if best_key is None or key > best_key:
            best, best_key = w, key
    return best


def train_model(
    examples: list[Example],
    out_dir: str | Path,
    settings: ClassifierSettings,
    seed: int | None = None,
    base_model: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    ensemble: bool = True,
) -> TrainReport:
    """Train on `examples` minus a validation slice; calibrate and pick the ensemble weight on the slice.

    The process-wide torch settings that training forces (deterministic kernels, thread count) are restored
    afterwards, so a service or test that trains in-process keeps its own.
    """
    previous = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    try:
        return _train_model(examples, out_dir, settings, seed, base_model, progress, ensemble)
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def _train_model(
    examples: list[Example],
    out_dir: str | Path,
    settings: ClassifierSettings,
    seed: int | None,
    base_model: str | Path | None,
    progress: Callable[[str], None] | None,
    ensemble: bool,
) -> TrainReport:
    say = progress or log.info
    seed = settings.train.seed if seed is None else seed
    if not examples:
        raise ValueError("no training examples")
    cleaned = [Example(**{**e.__dict__, "text": normalize(e.text)}) for e in examples]
    train_set, valid_set = split_validation(cleaned, settings.train.validation_fraction, seed)
    runner = train_transformer(train_set, [e.text for e in cleaned], settings, seed, base_model, say)

    valid_texts = [e.text for e in valid_set]
    valid_labels = np.array([LABELS.index(e.label) for e in valid_set])
    valid_logits, _ = runner.logits(valid_texts)
    logits_np = valid_logits.astype(np.float64)
    temperature = calibration.fit_temperature(logits_np, valid_labels)
    runner.meta.temperature = temperature
    t_probs = calibration.softmax(logits_np, temperature)
    ece_before = calibration.expected_calibration_error(calibration.softmax(logits_np), valid_labels)

    weight, baseline = 1.0, None
    if ensemble:
        say("training the TF-IDF baseline")
        baseline = train_baseline(train_set, valid_set, settings.baseline)
        b_probs, _ = baseline.probabilities(valid_texts)
        weight = choose_ensemble_weight(t_probs, b_probs, valid_labels)
        final = weight * t_probs + (1 - weight) * b_probs
        say(
            f"validation macro F1: transformer {_macro_f1(t_probs, valid_labels):.3f}, "
            f"baseline {_macro_f1(b_probs, valid_labels):.3f}, ensemble weight {weight:g} "
            f"{_macro_f1(final, valid_labels):.3f}"
        )
    else:
        final = t_probs
    ece_after = calibration.expected_calibration_error(final, valid_labels)
    accuracy = float((final.argmax(1) == valid_labels).mean()) if len(valid_labels) else 0.0

    out_dir = Path(out_dir)
    meta = runner.meta
    meta.extra = {
        "seed": seed,
        "base_model": Path(base_model).name if base_model else None,
        "train_examples": len(train_set),
        "validation_examples": len(valid_set),
        "ece_validation_uncalibrated": round(ece_before, 4),
        "ece_validation": round(ece_after, 4),
        "validation_accuracy": round(accuracy, 4),
        "ensemble_weight": weight,
    }
    save_model(runner.model, runner.tokenizer, meta, out_dir)
    for stale in (out_dir / "baseline_vocab.json", out_dir / "baseline.safetensors"):
        stale.unlink(missing_ok=True)
    if baseline is not None and weight < 1.0:
        baseline.save(out_dir)
    digest = weights_digest(out_dir / "model.safetensors")
    meta.version = f"charbert-{digest[:10]}" if not base_model else f"finetuned-{digest[:10]}"
    meta.dump(out_dir)
    return TrainReport(
        out_dir,
        meta.version,
        digest,
        len(train_set),
        len(valid_set),
        temperature,
        ece_before,
        ece_after,
        accuracy,
        weight,
    )
