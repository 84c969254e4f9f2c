"""``serve --job-python PATH``: the interpreter of hybrid-job scripts, checked at start, and
jobs really run with it. Two throwaway venvs (``--without-pip``): one without the Braket SDK,
one that sees this venv's packages through a ``.pth`` file (so it has the SDK but is a
different ``sys.executable``)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import sysconfig
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _common import raw_client

from braket_async.cli import main as cli_main
from braket_async.local import LocalBraket, SyntheticExecutor
from braket_async.local import __main__ as local_main
from braket_async.local.__main__ import serve
from braket_async.local._jobs_python import JobPythonError, check_job_python

from ._helpers import TERMINAL, job_request, wait_until

WHOAMI_JOB = """\
import json, os, pathlib, sys
import braket.jobs  # what an SDK job imports first

def main():
    doc = {"braketSchemaHeader": {"name": "braket.jobs_data.persisted_job_data",
                                  "version": "1"},
           "dataDictionary": {"executable": sys.executable}, "dataFormat": "plaintext"}
    out = pathlib.Path(os.environ["AMZN_BRAKET_JOB_RESULTS_DIR"], "results.json")
    out.write_text(json.dumps(doc))
"""


def _venv(root: Path, *, with_this_venvs_packages: bool) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    if with_this_venvs_packages:
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        Path(site, "this_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def pythons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("job-pythons")
    yield {
        "without_sdk": _venv(root / "no-sdk", with_this_venvs_packages=False),
        "with_sdk": _venv(root / "sdk", with_this_venvs_packages=True),
    }


def test_a_python_with_the_sdk_passes_the_check(pythons: dict[str, Path]) -> None:
    checked = check_job_python(str(pythons["with_sdk"]))
    assert checked.executable == str(pythons["with_sdk"])
    assert checked.version == f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("without_sdk", "cannot import braket.jobs (ModuleNotFoundError: No module named "),
        ("/nonexistent/bin/python", "no such file"),
        ("/bin/false", "does not run as Python"),
    ],
)
def test_what_is_wrong_with_a_job_python_is_named(
    pythons: dict[str, Path], which: str, message: str
) -> None:
    path = str(pythons.get(which, which))
    with pytest.raises(JobPythonError, match=r"--job-python .*") as info:
        check_job_python(path)
    assert message in str(info.value)


def test_serve_refuses_a_job_python_without_the_sdk_at_start(
    pythons: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = str(pythons["without_sdk"])
    # python -m braket_async.local serve: a usage error (exit 2) before anything starts
    with pytest.raises(SystemExit) as info:
        local_main.main(["serve", "--port", "0", "--job-python", bad])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: --job-python {bad}: cannot import braket.jobs" in err
    assert "pip install amazon-braket-sdk" in err
    # and the same through the braket-async command line
    out, err_stream = io.StringIO(), io.StringIO()
    code = cli_main(
        ["local", "serve", "--port", "0", "--job-python", bad], stdout=out, stderr=err_stream
    )
    assert code == 2
    assert "cannot import braket.jobs" in capsys.readouterr().err + err_stream.getvalue()
    assert out.getvalue() == ""  # no ready line: the service never started


async def _serve_until_ready(**kwargs: Any) -> tuple[asyncio.Task[None], asyncio.Event, Any]:
    stop, out = asyncio.Event(), io.StringIO()
    server = asyncio.create_task(serve(stop=stop, out=out, **kwargs))
    for _ in range(6000):
        if out.getvalue() or server.done():
            break
        await asyncio.sleep(0.02)
    if server.done():
        await server  # raises why it stopped
    return server, stop, json.loads(out.getvalue())


async def test_jobs_run_with_the_job_python(
    pythons: dict[str, Path], local_braket: LocalBraket
) -> None:
    server, stop, ready = await _serve_until_ready(
        job_python=str(pythons["with_sdk"]),
        s3_endpoint_url=local_braket.s3_endpoint_url,
        executor=SyntheticExecutor(),
        no_quotas=True,
    )
    try:
        bucket = ready["default_bucket"]
        name = f"whoami-{uuid.uuid4().hex[:8]}"
        await local_braket.objects.put_bytes(bucket, f"{name}/whoami_job.py", WHOAMI_JOB.encode())
        request = job_request(
            name,
            algorithmSpecification={
                "scriptModeConfig": {
                    "entryPoint": "whoami_job:main",
                    "s3Uri": f"s3://{bucket}/{name}/whoami_job.py",
                    "compressionType": "NONE",
                }
            },
            outputDataConfig={"s3Path": f"s3://{bucket}/{name}/data"},
        )

        async with raw_client("braket", ready["endpoint_url"]) as raw:
            arn = (await raw.create_job(**request))["jobArn"]
            job = await wait_until(
                lambda: raw.get_job(jobArn=arn), lambda j: j["status"] in TERMINAL, attempts=6000
            )
        assert job["status"] == "COMPLETED", job.get("failureReason")
        archive = await local_braket.objects.get_bytes(bucket, f"{name}/data/output/model.tar.gz")
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            member = tar.extractfile("results.json")
            assert member is not None
            saved = json.loads(member.read())
        assert saved["dataDictionary"]["executable"] == str(pythons["with_sdk"])
    finally:
        stop.set()
        await server


async def test_serve_warns_when_its_own_python_cannot_run_sdk_jobs(
    local_braket: LocalBraket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_main, "has_braket_jobs", lambda: False)
    err = io.StringIO()
    server, stop, _ready = await _serve_until_ready(
        err=err, s3_endpoint_url=local_braket.s3_endpoint_url, executor=SyntheticExecutor()
    )
    stop.set()
    await server
    assert "cannot import braket.jobs" in err.getvalue()
    assert "--job-python PATH" in err.getvalue()
