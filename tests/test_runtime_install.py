"""The runtime install (no extras) resolves to a small, torch-free set of packages; the image runs it.

The dependency closure is walked through the installed packages' own metadata, the way pip resolves it,
so a new dependency that drags torch or the CUDA libraries back in fails here, not on an office's server.
"""

from __future__ import annotations

import re
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement

from tests.conftest import REPO

HEAVY = re.compile(r"^(torch|transformers|triton|nvidia-.*|cuda-.*|scikit-learn)$")


def _closure(root: str) -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(root)]
    environment = {**default_environment(), "extra": ""}
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue  # extras and other platforms
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in found:
            continue
        found[name] = metadata.distribution(requirement.name)
        todo += [Requirement(r) for r in found[name].requires or []]
    return found


def test_runtime_dependencies_have_no_torch_and_fit_800_mb() -> None:
    closure = _closure("wagewatch")
    heavy = sorted(name for name in closure if HEAVY.match(name))
    assert heavy == [], f"the runtime install pulls in {heavy}"
    size = sum(f.size or 0 for dist in closure.values() for f in dist.files or [])
    assert size < 800 * 2**20, f"runtime packages take {size / 2**20:.0f} MB"
    assert {"onnxruntime", "tokenizers", "scrapy", "sqlalchemy"} <= set(closure)


def test_training_extra_brings_torch() -> None:
    extras = [Requirement(r) for r in metadata.distribution("wagewatch").requires or []]
    train = {r.name for r in extras if r.marker is not None and r.marker.evaluate({"extra": "train"})}
    assert {"torch", "transformers", "onnx", "scikit-learn"} <= train


def test_image_is_runtime_only_multi_stage_and_unprivileged() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+\S+", dockerfile, flags=re.M)
    assert len(stages) >= 2
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER\s+(?!root\b|0\b)\S+", final, flags=re.M)
    assert all("train" not in line for line in re.findall(r"^RUN .*pip install.*$", dockerfile, flags=re.M))
    for layer in ("core", "crawlers", "classifier", "alerts", "index", "wagewatch"):
        assert f"COPY {layer} {layer}" in dockerfile
