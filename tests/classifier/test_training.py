"""Training: the tokenizer, calibration, bit-for-bit reproducibility and the saved model's round trip.

The models here are tiny (one layer, hidden size 16, a few epochs on a few dozen texts) so the file runs in
well under a minute on two cores; what is tested is the machinery, not the accuracy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from wagewatch.classifier import calibration
from wagewatch.classifier.api import DEFAULT_MODEL_DIR, Classifier, load_classifier
from wagewatch.classifier.baseline import BaselineModel, train_baseline
from wagewatch.classifier.charvocab import SPECIAL_TOKENS, build_vocabulary, make_tokenizer
from wagewatch.classifier.corpus import TRAIN_DIR, Example, load_training, split_validation, training_files
from wagewatch.classifier.settings import load_settings
from wagewatch.classifier.training import train_model

REAL = [
    "老板欠我们{}个月工资不给，包工头电话也打不通",
    "在工地干了{}个月，一分钱没拿到，求帮忙",
    "我们{}个人的工钱被拖欠了半年",
    "干完活老板把我拉黑了，{}百块钱没给",
]
FALSE = [
    "经核查，网传拖欠工资{}万元不属实，系以讨薪为名讨要工程款",
    "警方通报：男子冒充农民工讨薪，已被行政拘留{}日",
    "辟谣：讨薪视频是{}年前外省的旧视频",
    "人社局回复：该员工工资已全部发放，不存在拖欠，留言不实{}",
]
IRRELEVANT = [
    "招聘钢筋工{}名，日结工资，包吃住",
    "市里召开根治欠薪专项行动部署会，第{}次会议",
    "这部电视剧第{}集讲农民工讨薪的故事",
    "朋友借了我{}千块钱不还，怎么办",
]


def _examples() -> list[Example]:
    rows = []
    for label, templates in (("real", REAL), ("false", FALSE), ("irrelevant", IRRELEVANT)):
        for i, template in enumerate(templates):
            for n in range(2, 6):
                rows.append(
                    Example(
                        id=f"{label}-{i}-{n}",
                        text=template.format(n),
                        label=label,
                        severity=(n % 4) + 1 if label == "real" else None,
                    )
                )
    return rows


def _tiny_settings():
    return load_settings().with_overrides(
        model={"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "max_length": 64},
        train={"epochs": 3, "batch_size": 8, "threads": 1, "learning_rate": 0.003},
        baseline={"max_features": 2000},
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_vocabulary_covers_common_and_corpus_characters() -> None:
    vocab = build_vocabulary(["薪冇囧"], min_chars=6000, max_chars=6500)
    assert vocab[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert len(vocab) >= 6000 + len(SPECIAL_TOKENS)
    assert {"薪", "冇", "囧", "的", "欠", "A", "7"} <= set(vocab)
    assert vocab == build_vocabulary(["薪冇囧"], min_chars=6000, max_chars=6500)  # stable order, stable ids


def test_tokenizer_reads_characters(tmp_path: Path) -> None:
    tokenizer = make_tokenizer(build_vocabulary(["欠薪"], 6000, 6100), max_length=16)
    ids = tokenizer(["欠薪ab 𠀋"])["input_ids"][0]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens == ["[CLS]", "欠", "薪", "a", "b", "[UNK]", "[SEP]"]
    assert len(tokenizer(["字" * 100], truncation=True, max_length=16)["input_ids"][0]) == 16
    tokenizer.save_pretrained(str(tmp_path))
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    assert reloaded(["欠薪ab 𠀋"])["input_ids"][0] == ids


def test_temperature_scaling_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(2000, 3)) * 1.5
    labels = np.array([rng.choice(3, p=p) for p in calibration.softmax(true_logits)])
    overconfident = true_logits * 4.0
    temperature = calibration.fit_temperature(overconfident, labels)
    assert 3.0 < temperature < 5.3
    before = calibration.expected_calibration_error(calibration.softmax(overconfident), labels)
    after = calibration.expected_calibration_error(calibration.softmax(overconfident, temperature), labels)
    assert after < before / 2 and after < 0.05


def test_validation_split_is_stratified_and_seeded() -> None:
    examples = _examples()
    train, valid = split_validation(examples, 0.25, seed=7)
    assert {e.label for e in valid} == {"real", "false", "irrelevant"}
    assert not {e.id for e in train} & {e.id for e in valid}
    assert split_validation(examples, 0.25, seed=7)[1] == valid
    assert split_validation(examples, 0.25, seed=8)[1] != valid


@pytest.mark.slow
def test_training_is_reproducible_bit_for_bit(tmp_path: Path) -> None:
    settings = _tiny_settings()
    first = train_model(_examples(), tmp_path / "a", settings, seed=3, progress=lambda _: None)
    second = train_model(_examples(), tmp_path / "b", settings, seed=3, progress=lambda _: None)
    other = train_model(_examples(), tmp_path / "c", settings, seed=4, progress=lambda _: None)
    assert first.weights_sha256 == second.weights_sha256 == _digest(tmp_path / "a" / "model.safetensors")
    assert _digest(tmp_path / "b" / "model.safetensors") == first.weights_sha256
    assert other.weights_sha256 != first.weights_sha256
    for name in ("config.json", "tokenizer.json", "wagewatch.json", "model.onnx", "model.int8.onnx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.temperature > 0 and 0.0 <= first.ece_after <= 1.0
    assert not torch.are_deterministic_algorithms_enabled()  # restored after training

    # the saved directory is a complete classifier
    classifier = load_classifier(tmp_path / "a")
    assert classifier.version == first.version
    results = classifier.analyze(["老板欠我们三个月工资不给", "", "招聘钢筋工"], reach=[10, 0, 0])
    assert len(results) == 3 and results[1].label == "irrelevant"
    for result in results:
        assert abs(sum(result.scores.values()) - 1) < 1e-3
        assert (result.severity is None) == (result.label != "real")


def test_baseline_round_trip(tmp_path: Path) -> None:
    examples = _examples()
    train, valid = split_validation(examples, 0.25, seed=1)
    model = train_baseline(train, valid, _tiny_settings().baseline)
    model.save(tmp_path)
    reloaded = BaselineModel.load(tmp_path)
    texts = [e.text for e in valid]
    a_label, a_sev = model.probabilities(texts)
    b_label, b_sev = reloaded.probabilities(texts)
    np.testing.assert_allclose(a_label, b_label, atol=1e-5)
    np.testing.assert_allclose(a_sev, b_sev, atol=1e-5)
    assert Classifier(reloaded).analyze(["经核查，网传拖欠工资不属实"])[0].label in {"real", "false", "irrelevant"}


def test_later_files_override_labels(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    feedback = tmp_path / "feedback.jsonl"
    corpus.write_text(
        '{"id": "1", "text": "某工地欠薪", "label": "real", "severity": 2}\n'
        '{"id": "2", "text": "招聘", "label": "irrelevant", "severity": ""}\n',
        encoding="utf-8",
    )
    feedback.write_text('{"id": "f1", "text": "某工地欠薪", "label": "false", "severity": null}\n', encoding="utf-8")
    examples = {e.text: e for e in load_training([corpus, feedback])}
    assert examples["某工地欠薪"].label == "false" and examples["招聘"].severity is None
    corpus.write_text('{"id": "1", "text": "x", "label": "maybe"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="label"):
        load_training([corpus])


def test_training_reads_the_configured_corpus_files(tmp_path: Path) -> None:
    for name in ("real.jsonl", "v2_a.jsonl", "v3_a.jsonl"):
        (tmp_path / name).write_text("", encoding="utf-8")
    no_feedback = tmp_path / "none"
    assert [p.name for p in training_files(tmp_path, no_feedback, ["real.jsonl", "v2_*.jsonl"])] == [
        "real.jsonl",
        "v2_a.jsonl",
    ]
    assert len(training_files(tmp_path, no_feedback)) == 3
    with pytest.raises(FileNotFoundError, match="v9_"):
        training_files(tmp_path, no_feedback, ["v9_*.jsonl"])


def test_the_configured_corpus_is_what_the_shipped_model_was_trained_on() -> None:
    """`wagewatch train` with the shipped settings reads exactly the examples the shipped model counted."""
    meta = json.loads((DEFAULT_MODEL_DIR / "wagewatch.json").read_text(encoding="utf-8"))["extra"]
    files = training_files(TRAIN_DIR, Path("/nonexistent"), load_settings().train.corpus)
    assert len(load_training(files)) == meta["train_examples"] + meta["validation_examples"]


@pytest.mark.slow
def test_fine_tuning_a_local_checkpoint(tmp_path: Path) -> None:
    """`--base-model DIR` starts from a local Hugging Face checkpoint (here a tiny one made on the spot)."""
    from transformers import BertConfig, BertModel

    checkpoint = tmp_path / "checkpoint"
    tokenizer = make_tokenizer(build_vocabulary([e.text for e in _examples()], 6000, 6100), max_length=64)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(checkpoint))  # with a pooler, as published checkpoints have
    tokenizer.save_pretrained(str(checkpoint))

    report = train_model(
        _examples(),
        tmp_path / "out",
        _tiny_settings(),
        seed=1,
        base_model=checkpoint,
        progress=lambda _: None,
        ensemble=False,
    )
    assert report.version.startswith("finetuned-") and report.ensemble_weight == 1.0
    assert not (tmp_path / "out" / "baseline.safetensors").exists()
    result = load_classifier(tmp_path / "out").analyze(["老板欠我们三个月工资不给"])[0]
    assert result.model_version == report.version and result.label in {"real", "false", "irrelevant"}
