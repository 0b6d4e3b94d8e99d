"""The model shipped in classifier/model/: it loads offline, classifies plain cases, and never crashes."""

from __future__ import annotations

import json
import os

import pytest

from wagewatch.classifier import load_classifier
from wagewatch.classifier.api import DEFAULT_MODEL_DIR
from wagewatch.classifier.textmodel import META_FILE


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


def test_shipped_model_is_small_and_complete() -> None:
    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", META_FILE, "model.onnx", "model.int8.onnx"} <= set(
        files
    )
    # the torch weights, the float and int8 exports and the TF-IDF arrays: each a few MB, all in the wheel
    assert sum(files.values()) < 16 * 1024 * 1024
    meta = json.loads((DEFAULT_MODEL_DIR / META_FILE).read_text(encoding="utf-8"))
    assert meta["temperature"] > 0 and meta["version"].startswith("charbert-")
    import wagewatch.classifier.neural  # noqa: F401  (the runtime path never imports it; training does)

    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # set by wagewatch.classifier.neural before transformers loads


def test_plain_cases(classifier) -> None:
    real, false, irrelevant = classifier.analyze(
        [
            "我们十几个人在济南历城区的工地干了半年，包工头欠了我们二十多万工钱跑了，电话打不通",
            "经区人社局调查核实，网传“工地拖欠农民工工资”情况不属实，发帖人系分包商，以讨薪为名讨要工程款，已被依法训诫",
            "招聘钢筋工、木工若干名，日结工资，包吃包住，有意者电话联系",
        ]
    )
    assert real.label == "real" and real.city == "济南" and real.severity in (3, 4)
    assert real.amount_yuan == 200_000 and real.amount_approximate and real.workers == 10
    assert any("金额" in reason or "工人" in reason for reason in real.explanation)
    assert false.label == "false" and false.severity is None
    assert irrelevant.label == "irrelevant"


def test_garbage_in_sane_answer_out(classifier) -> None:
    one_megabyte = "老板欠我工资不给。" * 120_000
    binary = bytes(range(256)) * 40
    inputs = [
        "",
        "   ",
        "Workers in Ohio protest over delayed paychecks.",
        "Зарплату не платят уже три месяца",
        one_megabyte,
        binary,
        binary.decode("latin-1"),
        "\x00\ud800\uffff" * 100,
        None,
        12345,
        "🔥" * 500,
    ]
    results = classifier.analyze(inputs)
    assert len(results) == len(inputs)
    for result in results:
        assert result.label in {"real", "false", "irrelevant"}
        assert abs(sum(result.scores.values()) - 1) < 1e-3
        assert all(0.0 <= v <= 1.0 for v in result.scores.values())
        assert (result.severity is None) == (result.label != "real")
        assert 0.0 <= result.severity_score <= 100.0
        json.dumps(result.to_dict(), ensure_ascii=False)
    assert results[0].label == "irrelevant" and results[1].label == "irrelevant"


def test_batches_and_singletons_agree(classifier) -> None:
    texts = ["工地老板拖欠我们三个月工资", "今天天气不错", "辟谣：网传讨薪视频系摆拍"]
    together = [r.scores for r in classifier.analyze(texts)]
    alone = [classifier.analyze([t])[0].scores for t in texts]
    for a, b in zip(together, alone):
        assert a == pytest.approx(b, abs=1e-4)
