"""`wagewatch evaluate`, `wagewatch bench classify` and `wagewatch feedback export`, plus the evaluation arithmetic."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from wagewatch.classifier.corpus import Example, read_jsonl
from wagewatch.classifier.evaluation import Prediction, score
from wagewatch.cli import cli
from wagewatch.core import clock
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, Lead, Post


def _example(
    label: str,
    severity: int | None = None,
    city: str | None = None,
    amount: float | None = None,
    workers: int | None = None,
) -> Example:
    return Example(id=label, text="x", label=label, severity=severity, city=city, amount_yuan=amount, workers=workers)


def _prediction(
    label: str, severity: int = 1, city: str | None = None, amount: float | None = None, workers: int | None = None
) -> Prediction:
    probs = {"real": 0.1, "false": 0.1, "irrelevant": 0.1}
    probs[label] = 0.8
    return Prediction(label, probs, severity, city, amount, workers)


def test_score_arithmetic() -> None:
    gold = [
        _example("real", 4, "济南", 300_000, 12),
        _example("real", 2, "青岛", None, 3),
        _example("false", city="潍坊"),
        _example("irrelevant"),
    ]
    pred = [
        _prediction("real", 3, "济南", 300_500, 12),
        _prediction("irrelevant", 4, "青岛", 5_000, 3),
        _prediction("false", city="潍坊"),
        _prediction("irrelevant"),
    ]
    report = score(gold, pred)
    assert report.confusion == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert report.per_label["real"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert report.per_label["irrelevant"]["precision"] == 0.5
    assert report.macro_f1 == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert (report.severity_exact, report.severity_within_one) == (0.0, 0.5)
    assert report.city_accuracy == 1.0 and report.city_all_accuracy == 1.0
    assert (report.amount_accuracy, report.amount_stated_accuracy) == (0.5, 1.0)  # real items only
    assert report.workers_accuracy == 1.0
    assert [e["id"] for e in report.errors] == ["real"]


def test_evaluate_command_on_a_file(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    rows = [
        {
            "id": "1",
            "text": "我们二十多个工人在潍坊寿光的工地干了半年，老板拖欠工资12万元不给",
            "label": "real",
            "severity": 3,
            "city": "潍坊",
            "amount_yuan": 120000,
            "workers": 20,
        },
        {
            "id": "2",
            "text": "经核实，网传讨薪视频不属实，系以讨薪为名讨要工程款",
            "label": "false",
            "severity": None,
            "city": None,
            "amount_yuan": None,
            "workers": None,
        },
        {
            "id": "3",
            "text": "招聘装修工，日结，包吃住",
            "label": "irrelevant",
            "severity": None,
            "city": None,
            "amount_yuan": None,
            "workers": None,
        },
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert len(read_jsonl(path)) == 3
    result = CliRunner().invoke(cli, ["evaluate", "--file", str(path)], obj=None)
    assert result.exit_code == 0, result.output
    for heading in ("macro F1", "混淆矩阵", "within-one", "city accuracy", "amount accuracy", "workers accuracy"):
        assert heading in result.output
    as_json = CliRunner().invoke(cli, ["evaluate", "--file", str(path), "--json"], obj=None)
    summary = json.loads(as_json.output.splitlines()[-1])
    assert summary["n"] == 3 and 0.0 <= summary["macro_f1"] <= 1.0 and summary["city_accuracy"] == 1.0


def test_bench_prints_throughput() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "classify", "--posts", "40", "--batch-size", "16", "--repeats", "1"], obj=None
    )
    assert result.exit_code == 0, result.output
    assert "posts/s" in result.output and "40" in result.output


def test_feedback_export_writes_verdicts(tmp_path: Path, monkeypatch) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.upgrade()
    with db.session() as session:
        texts = {
            "real": "塔吊上的工友说欠了八个月工资",
            "false": "发帖人实为材料商，冒充农民工讨要货款",
            "irrelevant": "我们厂今年涨工资了",
        }
        for n, (verdict, text) in enumerate(texts.items(), 1):
            post = Post(source="weibo", external_id=str(n), url=f"https://example.org/{n}", text=text, text_raw=text)
            incident = Incident(label="real", city="济南", severity=4, title=text[:10])
            session.add_all([post, incident])
            session.flush()
            session.add(
                Analysis(
                    post_id=post.id,
                    label="real",
                    scores={},
                    severity=4,
                    province="山东",
                    city="济南",
                    explanation=[],
                    model_version="t",
                    incident_id=incident.id,
                )
            )
            session.add(
                Lead(
                    incident_id=incident.id,
                    city="济南",
                    officer_id="o1",
                    verdict=verdict,
                    deadline=clock.now() + timedelta(hours=24),
                )
            )
        unjudged = Incident(label="real", city="济南", title="未核查")
        session.add(unjudged)
        session.flush()
        session.add(
            Lead(
                incident_id=unjudged.id,
                city="济南",
                officer_id="o1",
                verdict=None,
                deadline=clock.now() + timedelta(hours=24),
            )
        )

    from wagewatch.classifier.feedback import export_verdicts

    out = tmp_path / "feedback" / "verdicts.jsonl"
    assert export_verdicts(db, out) == 3
    exported = {e.text: e for e in read_jsonl(out)}
    assert {t: e.label for t, e in exported.items()} == {v: k for k, v in texts.items()}
    assert exported[texts["real"]].severity == 4 and exported[texts["false"]].severity is None

    # the CLI writes to var/feedback/ by default, which `wagewatch train` reads
    monkeypatch.chdir(tmp_path)
    config_dir = Path(__file__).resolve().parents[2] / "config"
    monkeypatch.setenv("WAGEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    result = CliRunner().invoke(cli, ["--config", str(config_dir), "feedback", "export"])
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(tmp_path / "var" / "feedback" / "verdicts.jsonl")) == 3


@pytest.mark.slow
def test_train_command_on_the_corpus(tmp_path: Path) -> None:
    """`wagewatch train` end to end on the real corpus, with a tiny model so that it takes seconds."""
    import yaml

    from wagewatch.classifier.settings import load_settings

    tiny = load_settings().with_overrides(
        model={"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "max_length": 64},
        train={"epochs": 1, "batch_size": 64},
        baseline={"max_features": 2000},
    )
    settings_file = tmp_path / "classifier.yaml"
    settings_file.write_text(yaml.safe_dump(tiny.model_dump(), allow_unicode=True), encoding="utf-8")
    out = tmp_path / "model"
    result = CliRunner().invoke(
        cli, ["train", "--settings", str(settings_file), "--out", str(out), "--no-feedback", "--seed", "5"], obj=None
    )
    assert result.exit_code == 0, result.output
    assert "epoch 1/1" in result.output and "SHA-256" in result.output
    assert "differs from the shipped model" in result.output  # other settings, so other bits
    assert (out / "model.safetensors").exists() and (out / "wagewatch.json").exists()
