"""Every Python block of README.md and docs/*.md runs as it is written, or says it is a fragment.

The blocks are read by ``_examples.py`` (a CommonMark parser, no copies of the code): programs
run as ``python block.py`` against the session's local service (its environment, as
``braket-async local env`` gives it); test files run with the documents' modules under a fresh
``pytest`` in an empty directory (no conftest, no configuration), with the plugin as installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from pathlib import Path

import pytest
from _common import raw_client
from _examples import ROOT, Example, examples

from braket_async.local import CONFLICTING_VARIABLES, LocalBraket

EXAMPLES = list(examples())
PROGRAMS = [e for e in EXAMPLES if e.kind == "program"]
TEST_DOCUMENTS = sorted({e.document for e in EXAMPLES if e.kind == "test"})
#: The bucket the documents' programs name (a placeholder for the reader's own).
DOCS_BUCKET = "amazon-braket-my-bucket"
_PLACEHOLDER = re.compile(r"^\s*\.\.\.\s*(#.*)?$", re.M)


def test_every_block_is_a_complete_program_or_marked_as_a_fragment() -> None:
    assert EXAMPLES, "no Python blocks found"
    problems = []
    for example in EXAMPLES:
        if example.is_fragment:
            continue
        try:
            compile(example.code, example.id, "exec")
        except SyntaxError as exc:
            problems.append(f"{example.id}: {exc.msg} at block line {exc.lineno}")
            continue
        if _PLACEHOLDER.search(example.code):
            problems.append(f"{example.id}: a '...' placeholder")
    assert not problems, (
        "blocks that are neither complete programs nor marked '# fragment' on their first "
        "line:\n" + "\n".join(problems)
    )


def _environment(local: LocalBraket) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFLICTING_VARIABLES}
    env.update(local.environ())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
                 "PYTEST_CURRENT_TEST"):  # fmt: skip
        env.pop(name, None)
    return env


async def _run(*argv: str, cwd: Path, env: dict[str, str], limit: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def _ensure_bucket(local: LocalBraket, bucket: str) -> None:
    async with raw_client("s3", local.s3_endpoint_url, credentials=local.credentials) as s3:
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            await s3.create_bucket(Bucket=bucket)


@pytest.mark.parametrize("example", PROGRAMS, ids=lambda e: e.id)
async def test_program_runs_against_the_local_service(
    example: Example, braket_local: LocalBraket, tmp_path: Path
) -> None:
    await _ensure_bucket(braket_local, DOCS_BUCKET)
    script = tmp_path / "example.py"
    script.write_text(example.code, encoding="utf-8")
    code, output = await _run(
        sys.executable, str(script), cwd=tmp_path, env=_environment(braket_local), limit=240
    )
    assert code == 0, f"{example.id} failed:\n{output}"


@pytest.mark.parametrize("document", TEST_DOCUMENTS)
async def test_test_files_pass_with_the_plugin_and_no_configuration(
    document: str, braket_local: LocalBraket, tmp_path: Path
) -> None:
    written = []
    for example in EXAMPLES:
        if example.document != document or example.kind not in ("test", "module"):
            continue
        name = example.file_name or f"test_{Path(document).stem.lower()}_{example.line}.py"
        (tmp_path / name).write_text(example.code, encoding="utf-8")
        written.append(name)
    env = _environment(braket_local)
    code, output = await _run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
        str(tmp_path), *sorted(n for n in written if n.startswith("test_")),
        cwd=tmp_path, env=env, limit=300,
    )  # fmt: skip
    assert code == 0, f"{document}'s test files failed:\n{output}"
    tests = sum(len(re.findall(r"^(?:async\s+)?def\s+test_", (tmp_path / n).read_text(), re.M))
                for n in written)  # fmt: skip
    assert f"{tests} passed" in output, output
