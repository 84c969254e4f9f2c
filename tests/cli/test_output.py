"""What the command prints: JSON only on stdout with --json, plain progress off a terminal."""

from __future__ import annotations

import io
import json

from braket_async.cli._output import Output


def make(json_mode: bool = False) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(json_mode=json_mode, stdout=stdout, stderr=stderr), stdout, stderr


def test_json_mode_keeps_stdout_parseable_and_messages_on_stderr() -> None:
    out, stdout, stderr = make(json_mode=True)
    out.info("starting")
    out.json({"a": 1})
    out.error("bad [thing]")
    assert json.loads(stdout.getvalue()) == {"a": 1}
    assert "starting" in stderr.getvalue() and "error: bad [thing]" in stderr.getvalue()


def test_progress_off_a_terminal_prints_a_line_per_tenth() -> None:
    out, stdout, stderr = make()
    with out.progress(100, fields=("submitted", "completed")) as bar:
        for i in range(1, 101):
            bar.update(submitted=i, completed=max(0, i - 5))
        bar.update(submitted=100, completed=100)
    lines = stderr.getvalue().splitlines()
    assert lines[-1] == "submitted 100/100, completed 100/100"
    assert 10 <= len(lines) <= 11
    assert stdout.getvalue() == ""


def test_progress_is_silent_for_scripts() -> None:
    out, _, stderr = make(json_mode=True)
    with out.progress(10, fields=("done",)) as bar:
        bar.update(done=10)
    assert stderr.getvalue() == ""


def test_tables_and_histograms_do_not_fold_long_values() -> None:
    out, stdout, _ = make()
    arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/" + "f" * 36
    out.table(["ARN", "status"], [(arn, "COMPLETED")])
    out.histogram({"000": 52, "111": 48}, title="GHZ")
    text = stdout.getvalue()
    assert arn in text and "COMPLETED" in text
    assert "000" in text and "52.0%" in text and "█" in text


def narrow(width: int) -> tuple[Output, io.StringIO]:
    out, stdout, _ = make()
    out.console.width = width  # a narrow terminal
    return out, stdout


def test_arns_are_never_wrapped_in_titles_or_cells_even_on_a_narrow_console() -> None:
    job = "arn:aws:braket:us-east-1:123456789012:job/" + "7c1a9a5e-1d3f-4a8e-9a3e-0c7e2f0a5b11"
    device = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
    for width in (40, 80, 200):
        out, stdout = narrow(width)
        out.table(
            ["field", "value"],
            [("status", "FAILED"), ("device", device), ("failure reason", "x " * 120)],
            title=job,
        )
        text = stdout.getvalue()
        assert job in text.splitlines()[0]  # the title, on one line
        assert any(device in line for line in text.splitlines())
        assert "x x" in text  # the long prose still folds
        assert out.console.width == width  # widened for the table only
