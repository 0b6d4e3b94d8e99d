"""The runtime back end (ONNX Runtime) against the training back end (torch), and the torch-free runtime.

The service must run crawl, classify, serve and report with neither torch nor transformers importable;
the parity test proves the exported network says what the trained one says on the whole test split.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wagewatch.classifier.api import DEFAULT_MODEL_DIR
from wagewatch.classifier.baseline import BaselineModel
from wagewatch.classifier.corpus import CORPUS_DIR, read_jsonl
from wagewatch.classifier.ensemble import EnsembleModel, load_network, load_text_model
from wagewatch.classifier.normalize import normalize
from wagewatch.classifier.textmodel import ONNX_FILE, QUANTIZED_ONNX_FILE

TEST_TEXTS = [normalize(e.text) for path in sorted((CORPUS_DIR / "test").glob("*.jsonl")) for e in read_jsonl(path)]


@pytest.fixture(scope="module")
def both():
    return (
        load_network(DEFAULT_MODEL_DIR, backend="onnx", quantized=False),
        load_network(DEFAULT_MODEL_DIR, backend="torch"),
    )


def test_onnx_and_torch_agree_on_the_test_split(both) -> None:
    onnx_model, torch_model = both
    assert len(TEST_TEXTS) >= 500
    onnx_label, onnx_severity = onnx_model.probabilities(TEST_TEXTS)
    torch_label, torch_severity = torch_model.probabilities(TEST_TEXTS)
    assert np.abs(onnx_label - torch_label).max() < 1e-4
    assert np.abs(onnx_severity - torch_severity).max() < 1e-4
    assert (onnx_label.argmax(1) == torch_label.argmax(1)).all()
    assert (onnx_severity.argmax(1) == torch_severity.argmax(1)).all()


def test_the_int8_network_the_service_runs_stays_close_to_the_float_one(both) -> None:
    """Quantisation may move a probability by a few hundredths, and may flip only the odd borderline text."""
    float_model, _ = both
    int8_model = load_network(DEFAULT_MODEL_DIR, backend="onnx", quantized=True)
    float_label, float_severity = float_model.probabilities(TEST_TEXTS)
    int8_label, int8_severity = int8_model.probabilities(TEST_TEXTS)
    assert np.abs(int8_label - float_label).max() < 0.05
    assert np.abs(int8_severity - float_severity).max() < 0.05
    assert (int8_label.argmax(1) == float_label.argmax(1)).mean() >= 0.995


def test_the_shipped_int8_file_is_the_quantised_shipped_export(tmp_path: Path) -> None:
    from wagewatch.classifier.neural import quantize_onnx

    quantize_onnx(DEFAULT_MODEL_DIR / ONNX_FILE, tmp_path / QUANTIZED_ONNX_FILE)
    assert (tmp_path / QUANTIZED_ONNX_FILE).read_bytes() == (DEFAULT_MODEL_DIR / QUANTIZED_ONNX_FILE).read_bytes()


def test_the_shipped_ensemble_agrees_too() -> None:
    texts = TEST_TEXTS[:200]
    onnx_probs = load_text_model(DEFAULT_MODEL_DIR, backend="onnx", quantized=False).predict_proba(texts)
    torch_probs = load_text_model(DEFAULT_MODEL_DIR, backend="torch").predict_proba(texts)
    for a, b in zip(onnx_probs, torch_probs, strict=True):
        assert a == pytest.approx(b, abs=1e-4)


def test_the_shipped_onnx_file_matches_the_shipped_weights(tmp_path: Path) -> None:
    """A model directory never ships an export of some other weights: re-exporting gives the same bytes."""
    from wagewatch.classifier.neural import export_onnx, load_model

    model, _, _ = load_model(DEFAULT_MODEL_DIR)
    export_onnx(model, tmp_path / ONNX_FILE)
    assert (tmp_path / ONNX_FILE).read_bytes() == (DEFAULT_MODEL_DIR / ONNX_FILE).read_bytes()


# Runs in a fresh interpreter where importing torch or transformers fails, as in a runtime-only install.
NO_TORCH = r"""
import importlib.abc, json, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers", "sklearn"}:
            raise ImportError(f"{name} is not installed in the runtime")
sys.meta_path.insert(0, Refuse())
import wagewatch.cli, wagewatch.scheduler, wagewatch.pipeline, wagewatch.web.app, wagewatch.reports.build
import wagewatch.stages.analyze, wagewatch.stages.crawl, wagewatch.stages.dispatch, wagewatch.stages.report
from click.testing import CliRunner
result = CliRunner().invoke(wagewatch.cli.cli, ["classify", "--input", sys.argv[1], "--output", sys.argv[2]])
print(json.dumps({"exit": result.exit_code, "output": result.output, "exception": repr(result.exception),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "transformers", "sklearn"})}))
"""


def test_run_classify_serve_and_report_paths_need_no_torch(tmp_path: Path) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(
        json.dumps(
            {"id": "a", "text": "我们十几个人在济南历城区的工地干了半年，包工头欠了二十多万工钱"}, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(source), str(target)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exit"] == 0, report
    assert report["loaded"] == []
    row = json.loads(target.read_text(encoding="utf-8").splitlines()[0])
    assert row["label"] == "real" and row["city"] == "济南"


def test_runtime_tfidf_equals_scikit_learn(tmp_path: Path) -> None:
    """The baseline's torch- and sklearn-free features are scikit-learn's TfidfVectorizer, number for number."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from wagewatch.classifier.baseline import BaselineModel

    model = BaselineModel.load(DEFAULT_MODEL_DIR)
    reference = TfidfVectorizer(
        analyzer="char",
        ngram_range=model.features.ngram_range,
        sublinear_tf=True,
        vocabulary=model.features.vocabulary,
        dtype=np.float32,
    )
    reference.idf_ = model.features.idf
    texts = TEST_TEXTS + ["", "  A  b\t\tC  ", "欠", "😀 x", "\ud800欠薪", "𠀀𠀀欠", "Ǆ İ ß"]
    expected = np.asarray(reference.transform(texts) @ model.label_coef.T)
    (actual,) = model.features.project(texts, model.label_coef)
    assert np.abs(actual - expected).max() < 1e-5


class _MustNotRun:
    version = "never-run"

    def probabilities(self, texts: list[str]):
        raise AssertionError("the transformer ran although its ensemble weight is 0")


@pytest.mark.parametrize("weight", [0.0, 0.3])
def test_the_ensemble_mixes_by_its_weight_and_skips_a_zero_weighted_transformer(both, weight: float) -> None:
    baseline = BaselineModel.load(DEFAULT_MODEL_DIR)
    texts = TEST_TEXTS[:40]
    b_label, b_sev = baseline.probabilities(texts)
    if weight == 0.0:
        label, severity = EnsembleModel(_MustNotRun(), baseline, weight).probabilities(texts)  # type: ignore[arg-type]
        assert np.array_equal(label, b_label) and np.array_equal(severity, b_sev)
        return
    network = both[0]
    t_label, t_sev = network.probabilities(texts)
    label, severity = EnsembleModel(network, baseline, weight).probabilities(texts)
    assert np.allclose(label, weight * t_label + (1 - weight) * b_label)
    assert np.allclose(severity, weight * t_sev + (1 - weight) * b_sev)
