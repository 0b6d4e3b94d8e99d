"""The package's shape: one `wagewatch` namespace in the wheel, and a caption for every state."""

import subprocess
import sys
import zipfile
from pathlib import Path

from wagewatch.core import states

ROOT = Path(__file__).resolve().parent.parent


def test_every_state_has_a_chinese_caption():
    kinds = [v for v in vars(states).values() if isinstance(v, type) and issubclass(v, states.Captioned)]
    assert set(kinds) - {states.Captioned} == set(states.CAPTIONS)
    for kind in states.CAPTIONS:
        for member in kind:
            assert member.caption and not member.caption.isascii(), f"{kind.__name__}.{member.name}"


def test_the_wheel_installs_only_the_wagewatch_namespace(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
    )
    (wheel,) = tmp_path.glob("wagewatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"wagewatch", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "wagewatch/core/store/migrations/versions/0001_initial_initial_schema.py" in names
    assert "wagewatch/classifier/model/model.safetensors" in names
    assert not [n for n in names if n.startswith("wagewatch/index/testing/")]  # the test node stays out
