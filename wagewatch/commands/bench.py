"""`wagewatch bench NAME [ARGS]`: the one front door to the benchmarks in wagewatch/bench/.

Every module there with a `main()` is a subcommand, found when the command runs (a benchmark module
added later appears without touching this file); its own argument parser takes the rest of the command
line, so `wagewatch bench classify --help` shows that benchmark's options. Benchmarks print figures; they
assert nothing.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import sys
from pathlib import Path

import click

from wagewatch import bench as bench_package
from wagewatch.context import AppContext


def _modules() -> dict[str, Path]:
    """Benchmark module name → file, for the modules that define `main`."""
    found = {}
    for info in pkgutil.iter_modules(bench_package.__path__):
        path = Path(bench_package.__path__[0]) / f"{info.name}.py"
        if path.exists() and _defines_main(path):
            found[info.name] = path
    return found


def _defines_main(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def _summary(path: Path) -> str:
    """The module docstring's first line, read without importing the module (some import torch)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if doc else ""


class BenchGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_modules())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        path = _modules().get(name)
        if path is None:
            return None

        @click.pass_obj
        def command(app: AppContext | None) -> None:
            arguments = click.get_current_context().args
            if app is not None and app.config_dir:  # benchmarks that read the config find the same one
                os.environ["WAGEWATCH_CONFIG_DIR"] = str(app.config_dir)
            module = importlib.import_module(f"{bench_package.__name__}.{name}")
            saved = sys.argv  # each benchmark parses sys.argv itself, like `python -m wagewatch.bench.NAME`
            sys.argv = [f"wagewatch bench {name}", *arguments]
            try:
                module.main()
            finally:
                sys.argv = saved

        return click.command(
            name=name,
            help=f"{_summary(path)}（其余参数交给该基准，--help 查看）",
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
            add_help_option=False,
        )(command)


@click.group(
    cls=BenchGroup,
    help="基准测试（打印数字，不做断言）/ Benchmarks: each prints its figures. `wagewatch bench NAME --help`.",
)
def bench() -> None:
    """The group itself does nothing: every subcommand is a module of wagewatch/bench/."""


COMMANDS = [bench]
