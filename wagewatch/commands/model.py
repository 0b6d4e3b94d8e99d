"""Model commands: `train`, `evaluate` and `feedback export` (the classify benchmark: `wagewatch bench classify`).

They are thin: the work lives in classifier/ so that tests and scripts can call it without click.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from wagewatch.classifier.api import DEFAULT_MODEL_DIR
from wagewatch.classifier.feedback import DEFAULT_FEEDBACK_DIR


def _model_dir(ctx, model: Path | None) -> Path:
    """--model, else settings.model_dir, else the shipped model (no config needed to evaluate or bench)."""
    from wagewatch.core.config import ConfigError

    if model:
        return model
    try:
        configured = ctx.config.settings.model_dir if ctx is not None else None
    except (ConfigError, OSError):
        configured = None
    return Path(configured) if configured else DEFAULT_MODEL_DIR


@click.command(help="训练标签与严重程度模型（相同数据与种子可逐位复现）/ Train the label and severity model.")
@click.option(
    "--base-model",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="本地Hugging Face模型目录，在其上微调 / Fine-tune a local Hugging Face checkpoint.",
)
@click.option("--seed", type=int, default=None, help="随机种子（默认取配置）/ Seed (default: config).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/model"),
    show_default=True,
    help="模型输出目录 / Where to write the model.",
)
@click.option(
    "--feedback",
    "feedback_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="额外的反馈JSONL（可多次）/ Extra labelled JSONL files (repeatable).",
)
@click.option("--no-feedback", is_flag=True, help=f"不读取 {DEFAULT_FEEDBACK_DIR}/ 下的反馈 / Skip exported feedback.")
@click.option("--no-ensemble", is_flag=True, help="不与TF-IDF基线集成 / Transformer only.")
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="classifier.yaml 路径 / Classifier settings file.",
)
def train(
    base_model: Path | None,
    seed: int | None,
    out: Path,
    feedback_files: tuple[Path, ...],
    no_feedback: bool,
    no_ensemble: bool,
    settings_path: Path | None,
) -> None:
    from wagewatch.classifier.corpus import TRAIN_DIR, load_training, training_files
    from wagewatch.classifier.settings import load_settings

    try:
        from wagewatch.classifier.training import train_model, weights_digest
    except ImportError as exc:  # the runtime install has no torch: say how to get the training extra
        raise click.ClickException(f"训练需要安装训练依赖（{exc.name}）：pip install 'wagewatch[train]'") from exc

    settings = load_settings(settings_path)
    feedback_dir = Path("/nonexistent") if no_feedback else DEFAULT_FEEDBACK_DIR
    try:
        files = training_files(TRAIN_DIR, feedback_dir, settings.train.corpus) + sorted(feedback_files)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    examples = load_training(files)
    click.echo(f"训练数据 {len(examples)} 条，来自: " + ", ".join(str(f) for f in files))
    report = train_model(
        examples,
        out,
        settings,
        seed=seed,
        base_model=base_model,
        progress=lambda line: click.echo(line),
        ensemble=not no_ensemble,
    )
    click.echo(f"模型已保存到 {report.directory}（{report.version}）")
    click.echo(
        f"训练 {report.train_examples} 条，验证 {report.validation_examples} 条；"
        f"温度 temperature {report.temperature:g}；验证集 ECE {report.ece_before:.3f} → {report.ece_after:.3f}；"
        f"验证集准确率 {report.validation_accuracy:.3f}；集成权重 {report.ensemble_weight:g}"
    )
    click.echo(f"权重 SHA-256: {report.weights_sha256}")
    if (DEFAULT_MODEL_DIR / "model.safetensors").exists() and out.resolve() != DEFAULT_MODEL_DIR.resolve():
        names = sorted({p.name for p in DEFAULT_MODEL_DIR.iterdir()} | {p.name for p in out.iterdir()})
        differing = [
            n
            for n in names
            if not (DEFAULT_MODEL_DIR / n).exists()
            or not (out / n).exists()
            or weights_digest(DEFAULT_MODEL_DIR / n) != weights_digest(out / n)
        ]
        click.echo(
            "与随附模型逐位一致 identical to the shipped model (all files)"
            if not differing
            else f"与随附模型不同 differs from the shipped model: {', '.join(differing)} "
            "(other data, settings, seed, feedback or CPU)"
        )


@click.command(help="在带标注的JSONL上评估模型 / Evaluate on labelled JSONL (default: the test split).")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="评估文件（可多次；默认测试集）/ JSONL files to score (default: corpus test split).",
)
@click.option(
    "--model",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="模型目录 / Model directory (default: configured or shipped).",
)
@click.option(
    "--component",
    type=click.Choice(["model", "transformer", "baseline"]),
    default="model",
    show_default=True,
    help="评估整体、仅Transformer或仅TF-IDF基线 / What to score.",
)
@click.option("--errors", "show_errors", type=int, default=0, help="列出前N条误判 / List N misclassified ids.")
@click.option("--json", "as_json", is_flag=True, help="以JSON输出 / Print JSON instead of text.")
@click.pass_obj
def evaluate(ctx, files: tuple[Path, ...], model: Path | None, component: str, show_errors: int, as_json: bool) -> None:
    from wagewatch.classifier.corpus import read_jsonl, test_files
    from wagewatch.classifier.evaluation import evaluate_files

    if files:
        named = {str(p): read_jsonl(p) for p in files}
    else:  # the test split is one set: every file under corpus/test/
        split = test_files()
        if not split:
            raise click.UsageError("找不到测试集 classifier/corpus/test/*.jsonl")
        named = {"+".join(p.name for p in split): [e for p in split for e in read_jsonl(p)]}
    reports = evaluate_files(_model_dir(ctx, model), component, named)
    from wagewatch.classifier.evaluation import render

    for name, report in reports.items():
        if as_json:
            click.echo(json.dumps({"file": name, "component": component, **report.summary()}, ensure_ascii=False))
            continue
        click.echo(render(report, f"{name} · {component}"))
        for error in report.errors[:show_errors]:
            click.echo(f"  误判 {error['id']}: 标注 {error['gold']} → 预测 {error['pred']} {error['probs']}")


@click.group(help="一线核查结论反馈 / Officers' verdicts as training data.")
def feedback() -> None:
    pass


@feedback.command("export", help="把台账中的核查结论导出为带标注的JSONL / Export ledger verdicts as labelled JSONL.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_FEEDBACK_DIR / "verdicts.jsonl",
    show_default=True,
)
@click.pass_obj
def feedback_export(ctx, out: Path) -> None:
    from wagewatch.classifier.feedback import export_verdicts

    written = export_verdicts(ctx.db, out)
    click.echo(f"已导出 {written} 条带核查结论的帖文到 {out}；`wagewatch train` 会自动读取 {DEFAULT_FEEDBACK_DIR}/")


COMMANDS = [train, evaluate, feedback]

if __name__ == "__main__":  # `python -m wagewatch.commands.model evaluate ...` without the full CLI
    click.Group(commands={c.name: c for c in COMMANDS})(prog_name="wagewatch", obj=None)
    sys.exit(0)
