"""Everything the command prints: tables, JSON, histograms, messages and progress.

Data goes to stdout (as JSON with ``--json``, so scripts can parse it); messages, progress and
errors go to stderr. On a terminal progress is a live rich display; elsewhere (CI, pipes) it is
a plain line at each tenth of the way, so logs stay readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ._histogram import histogram_rows

__all__ = ["Output", "ProgressDisplay"]

# Wide enough that ARNs are never folded when the output is not a terminal.
_PIPE_WIDTH = 200
# The widest a table is measured at (a console is widened to fit its ARNs, up to this).
_MAX_WIDTH = 1000


class Output:
    """The command's printer; ``json_mode`` sends data to stdout as JSON only."""

    def __init__(self, *, json_mode: bool, stdout: TextIO, stderr: TextIO) -> None:
        self.json_mode = json_mode
        self._stdout = stdout
        self.console = _console(stdout)
        self.err_console = _console(stderr)

    def json(self, data: Any) -> None:
        """Print ``data`` as indented JSON on stdout."""
        self._stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")
        self._stdout.flush()

    def json_line(self, data: Any) -> None:
        """Print ``data`` as one line of JSON (JSON Lines, for streams of records)."""
        self._stdout.write(json.dumps(data, default=str) + "\n")
        self._stdout.flush()

    def raw(self, text: str) -> None:
        """Print ``text`` as is (no markup, no wrapping): log lines, ARNs for pipes."""
        self._stdout.write(text + "\n")
        self._stdout.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        title: str | None = None,
    ) -> None:
        """Print rows under ``columns`` as a table (human output only).

        ARNs are never wrapped: a column holding one is as wide as its longest, the title is
        printed on its own line, and a console narrower than the table is widened for it.
        """
        cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
        if title is not None:
            self.console.print(escape(title), style="italic", soft_wrap=True)
        table = Table(header_style="bold")
        for index, column in enumerate(columns):
            arns = [len(row[index]) for row in cells if row[index].startswith("arn:")]
            if arns:
                table.add_column(column, no_wrap=True, min_width=max(arns))
            else:
                table.add_column(column, overflow="fold")
        for row in cells:
            table.add_row(*(escape(cell) for cell in row))
        self._print_unwrapped(table)

    def _print_unwrapped(self, table: Table) -> None:
        console = self.console
        needed = Measurement.get(console, console.options.update_width(_MAX_WIDTH), table)
        width = console.width
        try:
            console.width = max(width, needed.minimum)
            console.print(table, crop=False)
        finally:
            console.width = width

    def histogram(self, counts: Mapping[str, int], *, top: int = 16, title: str) -> None:
        """Print measurement counts as bars, most frequent first."""
        rows, hidden = histogram_rows(counts, top=top)
        table = Table(title=title, title_justify="left", header_style="bold", box=None)
        table.add_column("outcome", style="cyan", no_wrap=True)
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        table.add_column("", style="green", no_wrap=True)
        for row in rows:
            table.add_row(row.outcome, str(row.count), f"{row.fraction:6.1%}", row.bar)
        self.console.print(table)
        if hidden:
            self.console.print(f"… and {hidden} more outcomes")

    def line(self, text: str = "") -> None:
        """Print a line of human output on stdout (rich markup allowed)."""
        self.console.print(text, highlight=False, soft_wrap=True)

    def info(self, text: str) -> None:
        """Print a message on stderr."""
        self.err_console.print(text, highlight=False, soft_wrap=True)

    def error(self, text: str) -> None:
        """Print an error on stderr."""
        self.err_console.print(
            f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True
        )

    def progress(self, total: int, *, fields: Sequence[str]) -> ProgressDisplay:
        """A progress display of ``fields`` (each counting up to ``total``)."""
        # JSON output is for scripts: keep stderr quiet unless a person is watching.
        quiet = self.json_mode and not self.err_console.is_terminal
        return ProgressDisplay(self.err_console, total, fields=fields, quiet=quiet)


class ProgressDisplay:
    """Counters (e.g. submitted / completed) out of a total, live or as plain lines."""

    def __init__(
        self, console: Console, total: int, *, fields: Sequence[str], quiet: bool = False
    ) -> None:
        self._console = console
        self._total = total
        self._fields = tuple(fields)
        self._counts = dict.fromkeys(self._fields, 0)
        self._quiet = quiet
        self._live = console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._ids: dict[str, TaskID] = {}
        self._printed_step = -1
        self._extra = ""

    def __enter__(self) -> ProgressDisplay:
        if self._live:
            self._progress = Progress(
                TextColumn("{task.description:>10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                console=self._console,
            )
            for field in self._fields:
                self._ids[field] = self._progress.add_task(field, total=self._total, extra="")
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif not self._quiet and exc_type is None and self._printed_step < 10:
            self._print_line()

    def update(self, extra: str = "", **counts: int) -> None:
        """Set counters by name (unknown names ignored); ``extra`` is a short status note."""
        for name, value in counts.items():
            if name in self._counts:
                self._counts[name] = value
        self._extra = extra
        if self._progress is not None:
            for name, task_id in self._ids.items():
                self._progress.update(task_id, completed=self._counts[name], extra=extra)
            return
        if self._quiet or not self._fields or self._total <= 0:
            return
        # One plain line per tenth of the last field (the one that finishes last).
        step = min(10, self._counts[self._fields[-1]] * 10 // self._total)
        if step > self._printed_step:
            self._printed_step = step
            self._print_line()

    def _print_line(self) -> None:
        parts = [f"{name} {self._counts[name]}/{self._total}" for name in self._fields]
        note = f" ({self._extra})" if self._extra else ""
        self._console.print(", ".join(parts) + note, highlight=False)


def _console(stream: TextIO) -> Console:
    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, width=_PIPE_WIDTH)
    return console
