"""Progress bars for long commands (reindex, index setup, classify): drawn only when a person watches a
terminal; in a pipe, a log or a test the output stays the command's result alone."""

from __future__ import annotations


class Bar:
    """A rich progress bar with one task per name (e.g. a kind of document); call it with (name, done, total)."""

    def __init__(self) -> None:
        from rich.console import Console  # on first use: every command imports this module at start-up
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done, total=total)
