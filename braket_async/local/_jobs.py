"""Hybrid jobs as local processes: :class:`ProcessJobRunner` implements the job seam.

One job run, as the Braket service does it (events in this order)::

    STARTING_INSTANCE  "Provisioning job instance"   job dir + log stream created
    DOWNLOADING_DATA   "Downloading input data"      status RUNNING; script, channels,
                                                     checkpoints and hyperparameters.json
    RUNNING            "Job is in progress"          the entry point runs in a subprocess
    UPLOADING_RESULTS  "Uploading job output to S3"  results dir -> {s3Path}/output/model.tar.gz
    COMPLETED          "Job has completed"

or ``FAILED`` (failureReason ``AlgorithmError: <the script's exception>, exit code: N``),
``MAX_RUNTIME_EXCEEDED`` (status FAILED) when ``stoppingCondition.maxRuntimeInSeconds`` passes,
``CANCELLED`` when :meth:`ProcessJobRunner.cancel` stops it. The process runs in its own
process group, killed whole (SIGTERM, then SIGKILL after a grace period) on timeout, cancel
or service shutdown. stdout and stderr go line by line, shipped in batches, to CloudWatch Logs
group ``/aws/braket/jobs``, stream ``{jobName}/{uuid}/algo-1-{epoch}``. Checkpoints are
uploaded to ``checkpointConfig.s3Uri`` whatever the outcome, results only if the script saved
any or completed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

from .._base import Sleep
from ..jobs import JOB_LOG_GROUP, job_log_stream_prefix, job_results_location, parse_s3_uri
from . import _jobs_bootstrap
from ._jobs_env import JobEndpoints, JobLayout, build_environment
from ._jobs_logs import LogShipper
from ._jobs_s3 import (
    ChannelEmpty,
    download_channel,
    download_prefix,
    get_bytes,
    pack_directory,
    unpack_script,
    upload_directory,
)
from ._jobseam import JobControl, JobRunner, JobSpec
from ._s3 import ObjectStore

__all__ = ["JobEndpoints", "LocalEndpointsSource", "ProcessJobRunner", "process_job_runner_factory"]

_log = logging.getLogger(__name__)

_BOOTSTRAP = Path(_jobs_bootstrap.__file__)
_STDERR_TAIL = 20
_MAX_REASON = 1024


class LocalEndpointsSource(Protocol):
    """What the factory reads of ``LocalBraket`` (at each job start, so it may be created before
    the service has its ports)."""

    @property
    def endpoint_url(self) -> str: ...
    @property
    def s3_endpoint_url(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def credentials(self) -> tuple[str, str]: ...


class _JobFailure(Exception):
    """The job ends FAILED with this ``failureReason`` (service-side problems, bad inputs)."""


class _Outcome:
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMEOUT = "MAX_RUNTIME_EXCEEDED"
    CANCELLED = "CANCELLED"


class _Run:
    """The state of one running job that :meth:`ProcessJobRunner.cancel` acts on."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.finished = False


class ProcessJobRunner(JobRunner):
    """Runs each job's script as a local Python subprocess with the job container's environment.

    ``endpoints`` (or a callable returning them, read when each job starts) say where the
    job's clients reach Braket, S3, CloudWatch Logs and STS. ``work_root`` holds the job
    directories (a temp dir by default); they are deleted after the run unless
    ``keep_work_dirs``. ``python`` runs the bootstrap (this interpreter by default).
    """

    def __init__(
        self,
        endpoints: JobEndpoints | Callable[[], JobEndpoints],
        *,
        work_root: str | os.PathLike[str] | None = None,
        keep_work_dirs: bool = False,
        python: str = sys.executable,
        log_flush_interval: float = 0.25,
        stop_grace: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._endpoints = endpoints
        self._work_root = None if work_root is None else Path(work_root)
        self._keep = keep_work_dirs
        self._python = python
        self._log_flush_interval = log_flush_interval
        self._stop_grace = stop_grace
        self._sleep = sleep
        self._runs: dict[str, _Run] = {}

    def _resolve_endpoints(self) -> JobEndpoints:
        return self._endpoints() if callable(self._endpoints) else self._endpoints

    async def cancel(self, job_arn: str) -> None:
        """Stop the job now: before its process starts it never starts; a running process
        group is stopped. ``run`` then ends with CANCELLED."""
        run = self._runs.get(job_arn)
        if run is not None:
            run.cancelled.set()

    async def run(self, job: JobSpec, control: JobControl) -> None:
        """Run ``job`` to a terminal status, emitting its events through ``control``."""
        run = _Run()
        if control.cancel_requested:
            run.cancelled.set()
        self._runs[job.job_arn] = run
        try:
            await self._run(job, control, run)
        except Exception as exc:
            # a fault of the local service itself: the job still ends, FAILED, and says why
            _log.exception("job %s failed in the local service", job.job_arn)
            if not run.finished:
                _finish_failed(run, control, f"InternalServerError: {type(exc).__name__}: {exc}")
        finally:
            del self._runs[job.job_arn]

    def _cancelled(self, run: _Run, control: JobControl) -> bool:
        return run.cancelled.is_set() or control.cancel_requested

    async def _run(self, job: JobSpec, control: JobControl, run: _Run) -> None:
        request = job.request
        endpoints = self._resolve_endpoints()
        async with AsyncExitStack() as stack:
            store = await stack.enter_async_context(
                ObjectStore(
                    endpoints.s3_endpoint_url,
                    endpoints.region,
                    aws_access_key_id=endpoints.aws_access_key_id,
                    aws_secret_access_key=endpoints.aws_secret_access_key,
                )
            )
            s3, logs = store.s3, await store.logs_client()
            root = await asyncio.to_thread(
                tempfile.mkdtemp,
                prefix=f"braket-job-{job.job_name}-",
                dir=None if self._work_root is None else str(self._work_root),
            )
            layout = JobLayout(Path(root))
            if not self._keep:
                stack.push_async_callback(asyncio.to_thread, shutil.rmtree, root, True)

            message = "Provisioning job instance"
            image = request["algorithmSpecification"].get("containerImage")
            if image:
                message += (
                    f" (local service: no container was started for {image['uri']}; "
                    "the entry point runs as a local Python process)"
                )
            control.emit("STARTING_INSTANCE", message)
            await asyncio.to_thread(layout.create)
            stream = f"{job_log_stream_prefix(job.job_name, job.job_arn)}/algo-1-{int(time.time())}"
            shipper = LogShipper(
                logs,
                group=JOB_LOG_GROUP,
                stream=stream,
                flush_interval=self._log_flush_interval,
                sleep=self._sleep,
            )
            await shipper.start()
            stack.push_async_callback(shipper.close)
            if self._cancelled(run, control):
                _finish_cancelled(run, control)
                return

            control.set_status("RUNNING")
            control.emit("DOWNLOADING_DATA", "Downloading input data")
            try:
                await self._download(s3, request, layout)
            except _JobFailure as failure:
                shipper.add(str(failure))
                await shipper.close()
                _finish_failed(run, control, str(failure))
                return
            if self._cancelled(run, control):
                _finish_cancelled(run, control)
                return

            control.emit("RUNNING", "Job is in progress")
            env = build_environment(
                job_name=job.job_name,
                job_token=job.job_token,
                request=request,
                layout=layout,
                endpoints=endpoints,
            )
            max_runtime = request.get("stoppingCondition", {}).get("maxRuntimeInSeconds")
            outcome, reason = await self._execute(layout, env, shipper, run, max_runtime)
            await shipper.close()

            checkpoint = request.get("checkpointConfig")
            if checkpoint and checkpoint.get("s3Uri"):
                bucket, prefix = parse_s3_uri(checkpoint["s3Uri"])
                await self._best_effort(
                    upload_directory(s3, layout.checkpoint_dir, bucket, prefix), "checkpoints"
                )
            if outcome == _Outcome.COMPLETED:
                control.emit("UPLOADING_RESULTS", "Uploading job output to S3")
                try:
                    await self._upload_results(s3, request, layout)
                except Exception as exc:
                    _finish_failed(run, control, f"InternalServerError: {exc}")
                    return
                run.finished = True
                control.emit("COMPLETED", "Job has completed")
                control.set_status("COMPLETED")
                return
            # keep what a stopped or failed script saved, as the service does
            if await asyncio.to_thread(any, layout.results_dir.iterdir()):
                await self._best_effort(self._upload_results(s3, request, layout), "results")
            if outcome == _Outcome.CANCELLED:
                _finish_cancelled(run, control)
            elif outcome == _Outcome.TIMEOUT:
                reason = f"Job exceeded its maximum runtime of {max_runtime} seconds"
                run.finished = True
                control.emit("MAX_RUNTIME_EXCEEDED", reason)
                control.set_status("FAILED", failure_reason=reason)
            else:
                _finish_failed(run, control, reason)

    @staticmethod
    async def _best_effort(work: Any, what: str) -> None:
        try:
            await work
        except Exception:
            _log.warning("could not upload the job's %s", what, exc_info=True)

    async def _download(self, s3: Any, request: Any, layout: JobLayout) -> None:
        script = request["algorithmSpecification"].get("scriptModeConfig")
        if not script:
            raise _JobFailure(
                "ClientError: the local service runs script-mode jobs only: "
                "algorithmSpecification.scriptModeConfig is required"
            )
        try:
            bucket, key = parse_s3_uri(script["s3Uri"])
            data = await get_bytes(s3, bucket, key)
        except Exception as exc:
            raise _JobFailure(
                f"ClientError: Unable to download code from {script['s3Uri']}: {exc}"
            ) from exc
        original = layout.original_dir / (Path(key).name or "script")
        await asyncio.to_thread(original.write_bytes, data)
        compression = script.get("compressionType", "NONE")
        try:
            await asyncio.to_thread(unpack_script, original, compression, layout.code_dir)
        except Exception as exc:
            raise _JobFailure(
                f"ClientError: Got an exception while trying to unpack archive "
                f"{script['s3Uri']} of type {compression}: {exc}"
            ) from exc

        hyperparameters = dict(request.get("hyperParameters") or {})
        await asyncio.to_thread(
            layout.hyperparameters_file.write_text, json.dumps(hyperparameters), "utf-8"
        )
        for channel in request.get("inputDataConfig") or ():
            uri = channel["dataSource"]["s3DataSource"]["s3Uri"]
            dest = layout.input_dir / channel["channelName"]
            try:
                bucket, prefix = parse_s3_uri(uri)
                await download_channel(s3, bucket, prefix, dest)
            except ChannelEmpty as exc:
                raise _JobFailure(f"ClientError: {exc}") from exc
            except Exception as exc:
                raise _JobFailure(
                    f"ClientError: Unable to download input channel "
                    f"{channel['channelName']!r} from {uri}: {exc}"
                ) from exc
        checkpoint = request.get("checkpointConfig")
        if checkpoint and checkpoint.get("s3Uri"):
            # checkpoints already there (e.g. copied from another job) are the starting point
            bucket, prefix = parse_s3_uri(checkpoint["s3Uri"])
            with contextlib.suppress(Exception):
                await download_prefix(s3, bucket, prefix, layout.checkpoint_dir)

    async def _upload_results(self, s3: Any, request: Any, layout: JobLayout) -> None:
        bucket, key = job_results_location(request["outputDataConfig"]["s3Path"])
        archive = await asyncio.to_thread(pack_directory, layout.results_dir)
        await s3.put_object(Bucket=bucket, Key=key, Body=archive)

    async def _execute(
        self,
        layout: JobLayout,
        env: dict[str, str],
        shipper: LogShipper,
        run: _Run,
        max_runtime: int | None,
    ) -> tuple[str, str]:
        """Run the bootstrap; returns the outcome and, for FAILED, the failure reason."""
        process = await asyncio.create_subprocess_exec(
            self._python,
            str(_BOOTSTRAP),
            str(layout.code_dir),
            env=env,
            cwd=str(layout.code_dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: stopped whole
        )
        stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            asyncio.create_task(_pump(process.stdout, shipper, None)),
            asyncio.create_task(_pump(process.stderr, shipper, stderr_tail)),
        ]
        exited = asyncio.create_task(process.wait())
        cancel_wait = asyncio.create_task(run.cancelled.wait())
        outcome = _Outcome.FAILED
        try:
            done, _ = await asyncio.wait(
                {exited, cancel_wait},
                timeout=max_runtime,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if exited not in done:
                outcome = _Outcome.CANCELLED if cancel_wait in done else _Outcome.TIMEOUT
                await self._stop(process)
        finally:
            cancel_wait.cancel()
            if process.returncode is None:  # the runner itself was cancelled (shutdown)
                _killpg(process.pid, signal.SIGKILL)
                await asyncio.shield(process.wait())
            # whatever the script left running in its group dies with the instance
            _killpg(process.pid, signal.SIGKILL)
            await asyncio.gather(*pumps, return_exceptions=True)
            with contextlib.suppress(asyncio.CancelledError):
                await exited
        returncode = process.returncode
        assert returncode is not None  # waited for above
        if outcome != _Outcome.FAILED:
            return outcome, ""
        if returncode == 0:
            return _Outcome.COMPLETED, ""
        return _Outcome.FAILED, await _failure_reason(layout, stderr_tail, returncode)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        _killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self._stop_grace)
        except TimeoutError:
            _killpg(process.pid, signal.SIGKILL)
            await process.wait()


def _finish_cancelled(run: _Run, control: JobControl) -> None:
    run.finished = True
    control.emit("CANCELLED", "Job was cancelled")
    control.set_status("CANCELLED")


def _finish_failed(run: _Run, control: JobControl, reason: str) -> None:
    run.finished = True
    reason = reason[:_MAX_REASON]
    control.emit("FAILED", reason)
    control.set_status("FAILED", failure_reason=reason)


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _pump(
    stream: asyncio.StreamReader, shipper: LogShipper, tail: collections.deque[str] | None
) -> None:
    # chunks, not readline: a line longer than the reader's limit must not break the job
    partial = b""
    while chunk := await stream.read(65536):
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        for raw in lines:
            _ship(raw, shipper, tail)
    if partial:
        _ship(partial, shipper, tail)


def _ship(raw: bytes, shipper: LogShipper, tail: collections.deque[str] | None) -> None:
    line = raw.decode("utf-8", "replace").rstrip("\r")
    shipper.add(line)
    if tail is not None and line.strip():
        tail.append(line)


async def _failure_reason(
    layout: JobLayout, stderr_tail: collections.deque[str], returncode: int
) -> str:
    def read_failure() -> str:
        try:
            return layout.failure_file.read_text("utf-8").strip()
        except FileNotFoundError:
            return ""

    text = await asyncio.to_thread(read_failure)
    if not text and stderr_tail:
        text = stderr_tail[-1].strip()
    if returncode < 0:
        detail = f"killed by signal {-returncode}"
        text = f"{text}, {detail}" if text else detail
        return f"AlgorithmError: {text}"[:_MAX_REASON]
    if not text:
        text = "The job script exited with an error"
    return f"AlgorithmError: {text}, exit code: {returncode}"[:_MAX_REASON]


def process_job_runner_factory(local: LocalEndpointsSource) -> ProcessJobRunner:
    """``LocalBraket(job_runner_factory=...)`` hook: a :class:`ProcessJobRunner` whose jobs
    reach ``local``'s endpoints (read when each job starts)."""

    def endpoints() -> JobEndpoints:
        return JobEndpoints(
            braket_endpoint_url=local.endpoint_url,
            s3_endpoint_url=local.s3_endpoint_url,
            region=local.region,
            aws_access_key_id=local.credentials[0],
            aws_secret_access_key=local.credentials[1],
        )

    return ProcessJobRunner(endpoints)
