"""docs/configuration.md documents every setting the config models accept, and nothing they do not."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from wagewatch.classifier.settings import ClassifierSettings
from wagewatch.core.config import CitiesFile, Policy, Settings, SourcesFile, WebhooksFile

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
FILES = {
    "settings.yaml": Settings,
    "sources.yaml": SourcesFile,
    "cities.yaml": CitiesFile,
    "policy.yaml": Policy,
    "webhooks.yaml": WebhooksFile,
    "classifier.yaml": ClassifierSettings,
}


def _model_in(annotation: typing.Any) -> tuple[str, type[BaseModel]] | None:
    """("", M) for M or M | None; ("[]", M) for list[M]; (".<name>", M) for dict[str, M]."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    if origin in (typing.Union, types.UnionType):
        found = [m for m in map(_model_in, args) if m]
        return found[0] if found else None
    if origin is list and args:
        inner = _model_in(args[0])
        return ("[]" + inner[0], inner[1]) if inner else None
    if origin is dict and len(args) == 2:
        inner = _model_in(args[1])
        return (".<name>" + inner[0], inner[1]) if inner else None
    return None


def setting_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if nested:
            keys += setting_keys(nested[1], f"{prefix}{name}{nested[0]}.")
        else:
            keys.append(prefix + name)
    return keys


def documented_keys() -> dict[str, set[str]]:
    """The `key` in the first column of each table row, per `## file.yaml` section."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## `?([a-z]+\.yaml)`?", line)
        if heading:
            current = sections.setdefault(heading[1], set())
        row = re.match(r"^\| `([^`]+)` \|", line)
        if row and current is not None:
            current.add(row[1])
    return sections


@pytest.mark.parametrize("file", FILES)
def test_every_setting_is_documented_and_every_documented_setting_exists(file):
    expected = set(setting_keys(FILES[file]))
    documented = documented_keys().get(file, set())
    missing, stale = sorted(expected - documented), sorted(documented - expected)
    assert not missing, f"{file}: settings without a row in docs/{DOC.name}: {missing}"
    assert not stale, f"{file}: docs/{DOC.name} documents settings that do not exist: {stale}"
