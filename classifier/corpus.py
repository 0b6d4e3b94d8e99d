"""Reading labelled JSONL (the corpus, officers' feedback, evaluation files) and carving the validation split.

All training inputs go through here so that one place decides what is read and in which order: the
order is part of what makes `wagewatch train` reproducible.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wagewatch.classifier.labels import LABELS

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
TRAIN_DIR = CORPUS_DIR / "train"
TEST_DIR = CORPUS_DIR / "test"
FEEDBACK_DIR = CORPUS_DIR / "feedback"


def _number(value: Any) -> float | None:
    """Numbers as written by hand: null, "" and non-numeric strings mean "not stated"."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Example:
    """One labelled text; fields other than text/label may be missing (None) in feedback or outside files."""

    id: str
    text: str
    label: str
    severity: int | None = None
    city: str | None = None
    amount_yuan: float | None = None
    workers: int | None = None
    has_city: bool = True  # False where the file does not annotate the place at all
    style: str | None = None  # corpus v2: weibo, tieba, news, longform... (CORPUS_SPEC)
    company: str | None = None  # the employer named in the text, verbatim; None: the text names none
    project: str | None = None
    resolution: str | None = None  # real: unresolved | handling | resolved
    pretext: str | None = None  # false: project_payment, materials, loan...
    has_names: bool = False  # whether the file annotates company/project at all

    @classmethod
    def from_record(cls, record: dict[str, Any], line_no: int, source: str) -> Example:
        label = record.get("label")
        if label not in LABELS:
            raise ValueError(f"{source}:{line_no}: label must be one of {LABELS}, got {label!r}")
        text = record.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{source}:{line_no}: text missing")
        severity = _number(record.get("severity"))
        # real_dev.jsonl names the routing city `route_city`; the corpus calls it `city`
        if "route_city" in record:
            city, has_city = record.get("route_city"), True
        else:
            city, has_city = record.get("city"), "city" in record
        return cls(
            id=str(record.get("id") or f"{Path(source).stem}-{line_no}"),
            text=text,
            label=label,
            severity=int(severity) if severity is not None else None,
            city=city or None,
            amount_yuan=_number(record.get("amount_yuan")),
            workers=int(n) if (n := _number(record.get("workers"))) is not None else None,
            has_city=has_city,
            style=record.get("style") or None,
            company=record.get("company") or None,
            project=record.get("project") or None,
            resolution=record.get("resolution") or None,
            pretext=record.get("pretext") or None,
            has_names="company" in record,
        )


def read_jsonl(path: str | Path) -> list[Example]:
    """Examples of one JSONL file; blank lines are skipped, malformed ones raise with the line number."""
    path = Path(path)
    examples = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc
            examples.append(Example.from_record(record, n, str(path)))
    return examples


def test_files(test_dir: Path = TEST_DIR) -> list[Path]:
    """The held-out test split: every file under corpus/test/ (test.jsonl, test_v2.jsonl), sorted."""
    return sorted(test_dir.glob("*.jsonl"))


def training_files(
    train_dir: Path = TRAIN_DIR, feedback_dir: Path = FEEDBACK_DIR, patterns: list[str] | None = None
) -> list[Path]:
    """The corpus training files matching `patterns` (default: all) and any exported feedback files, in a
    fixed (sorted) order; a pattern that matches nothing is an error, not a silently smaller corpus."""
    files: set[Path] = set()
    for pattern in patterns or ["*.jsonl"]:
        matched = set(train_dir.glob(pattern))
        if not matched:
            raise FileNotFoundError(f"no corpus file in {train_dir} matches {pattern!r} (classifier.yaml train.corpus)")
        files |= matched
    found = sorted(files)
    if feedback_dir.is_dir():
        found += sorted(feedback_dir.glob("*.jsonl"))
    return found


def load_training(files: list[Path]) -> list[Example]:
    """All examples of `files`; a text seen twice keeps its last label (later feedback overrides)."""
    by_text: dict[str, Example] = {}
    for path in files:
        for example in read_jsonl(path):
            by_text.pop(example.text, None)
            by_text[example.text] = example
    return list(by_text.values())


def split_validation(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A stratified split (per label) of `fraction` for calibration, reproducible from `seed`."""
    rng = random.Random(seed)
    train, valid = [], []
    for label in LABELS:
        group = sorted((e for e in examples if e.label == label), key=lambda e: e.id)
        rng.shuffle(group)
        cut = round(len(group) * fraction)
        valid += group[:cut]
        train += group[cut:]
    return train, valid
