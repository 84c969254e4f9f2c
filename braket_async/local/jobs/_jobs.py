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
``CANCELLED`` when :meth:`ProcessJobRunner.cancel` stops it.

The entry point runs under ``braket_container.py`` (``_jobs_bootstrap``), a supervisor in its
own session that owns the job's whole process tree (child subreaper): it ends every
descendant, detached ones included, when the entry point returns, on SIGTERM (timeout, cancel,
service shutdown) and when the service dies (its lifeline pipe closes). The job ends when the
supervisor exits; output still held by a stray process is drained for ``drain_timeout`` s at
most. stdout and stderr go line by line, shipped in batches, to CloudWatch Logs group
``/aws/braket/jobs``, stream ``{jobName}/{uuid}/algo-1-{epoch}``, between the lines the job
image's launcher writes (``_jobs_container``). Checkpoints are uploaded to
``checkpointConfig.s3Uri`` whatever the outcome, results only if the script saved any or
completed. How process trees and directories are owned: ``docs/jobs.md``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

from ..._base import AsyncContext, Sleep
from ..._job_locations import (
    JOB_LOG_GROUP,
    job_log_stream_prefix,
    job_results_location,
    parse_s3_uri,
)
from ..aws._s3 import ObjectStore
from . import _jobs_bootstrap
from ._jobs_bootstrap import (
    CODE_DIR_ENV,
    JOB_MARKER_ENV,
    LIFELINE_ENV,
    PARENT_PID_ENV,
    STOP_GRACE_ENV,
)
from ._jobs_container import (
    CONTAINER_SCRIPT,
    command_line,
    failure_lines,
    invocation_lines,
    success_lines,
    training_env,
)
from ._jobs_env import JobEndpoints, JobLayout, build_environment
from ._jobs_logs import LogShipper
from ._jobs_procs import Owner, kill_marked
from ._jobs_s3 import (
    ChannelEmpty,
    download_channel,
    download_prefix,
    get_bytes,
    pack_directory,
    unpack_script,
    upload_directory,
)
from ._jobs_workdirs import (
    default_work_root,
    make_job_dir,
    prepare_root,
    remove_owned,
    remove_stale,
)
from ._jobseam import JobControl, JobRunner, JobSpec

__all__ = ["JobEndpoints", "LocalEndpointsSource", "ProcessJobRunner", "process_job_runner_factory"]

_log = logging.getLogger(__name__)

_BOOTSTRAP = Path(_jobs_bootstrap.__file__)
_STDERR_TAIL = 20
_MAX_REASON = 1024
_SUPERVISOR_MARGIN = 1.0  # s the supervisor may take beyond its grace to end its tree
# not shown in the launcher's "Environment variables" log section
_HIDDEN_VARIABLES = frozenset({"AMZN_BRAKET_JOB_TOKEN"})


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
    directories (``{temp dir}/braket-async-jobs-{uid}`` by default); each is deleted after its
    run and at :meth:`close` unless ``keep_work_dirs``. ``python`` runs the job's supervisor
    (this interpreter by default). ``stop_grace`` is the time between SIGTERM and SIGKILL when
    a job's processes are stopped; ``drain_timeout`` how long output still held by a stray
    process is waited for once the supervisor has exited.

    :meth:`start` cleans what a killed service left (directories and processes whose owner
    process is gone); :meth:`close` kills any process still carrying this runner's marker.
    """

    def __init__(
        self,
        endpoints: JobEndpoints | Callable[[], JobEndpoints],
        *,
        work_root: str | os.PathLike[str] | None = None,
        keep_work_dirs: bool = False,
        python: str = sys.executable,
        log_flush_interval: float = 0.25,
        stop_grace: float = 1.0,
        drain_timeout: float = 1.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._endpoints = endpoints
        self.work_root = default_work_root() if work_root is None else Path(work_root)
        self._keep = keep_work_dirs
        self._python = python
        self._log_flush_interval = log_flush_interval
        self._stop_grace = stop_grace
        self._drain_timeout = drain_timeout
        self._sleep = sleep
        self._runs: dict[str, _Run] = {}
        self._owner = Owner()

    @property
    def python(self) -> str:
        """The interpreter that runs the jobs (the local ECR tags job images with its
        version)."""
        return self._python

    @property
    def owner(self) -> str:
        """This runner's owner id (``_jobs_procs``): in its directories' names and its
        processes' ``AMZN_BRAKET_LOCAL_JOB`` marker."""
        return self._owner.id

    def _resolve_endpoints(self) -> JobEndpoints:
        return self._endpoints() if callable(self._endpoints) else self._endpoints

    async def start(self) -> None:
        """Clean what a killed service left: processes and work directories whose owner
        process is gone."""
        await asyncio.to_thread(self._clean_stale)

    def _clean_stale(self) -> None:
        killed = kill_marked(only_dead_owners=True)
        prepare_root(self.work_root)
        removed = [] if self._keep else remove_stale(self.work_root)
        if killed or removed:
            _log.info(
                "removed %d stale job directories and %d stray job processes",
                len(removed),
                len(killed),
            )

    async def close(self) -> None:
        """Kill every process of this runner's jobs still alive and remove their
        directories (after the scheduler has stopped the jobs)."""
        await asyncio.to_thread(self._clean_own)

    def _clean_own(self) -> None:
        kill_marked(self.owner)
        if not self._keep:
            remove_owned(self.work_root, self.owner)

    def _new_job_dir(self, job_name: str) -> Path:
        prepare_root(self.work_root)
        return make_job_dir(self.work_root, self.owner, job_name)

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
            root = await asyncio.to_thread(self._new_job_dir, job.job_name)
            layout = JobLayout(root)
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
            outcome, reason = await self._execute(layout, env, shipper, run, request)
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
                max_runtime = request["stoppingCondition"]["maxRuntimeInSeconds"]
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
        request: Any,
    ) -> tuple[str, str]:
        """Run the job's supervisor; returns the outcome and, for FAILED, the failure reason."""
        max_runtime = request.get("stoppingCondition", {}).get("maxRuntimeInSeconds")
        hyperparameters = dict(request.get("hyperParameters") or {})
        channels = [c["channelName"] for c in request.get("inputDataConfig") or ()]
        command = command_line(self._python, hyperparameters)
        marker = self._owner.marker(uuid.uuid4().hex)
        visible = {
            key: value
            for key, value in env.items()
            if key.startswith("AMZN_BRAKET_")
            and not key.startswith("AMZN_BRAKET_LOCAL_")
            and key not in _HIDDEN_VARIABLES
        }
        env = {
            **env,
            CODE_DIR_ENV: str(layout.code_dir),
            PARENT_PID_ENV: str(os.getpid()),
            LIFELINE_ENV: "1",
            STOP_GRACE_ENV: str(self._stop_grace),
            JOB_MARKER_ENV: marker,
        }
        await asyncio.to_thread(
            shutil.copyfile, _BOOTSTRAP, layout.container_dir / CONTAINER_SCRIPT
        )
        for line in invocation_lines(
            command,
            training_env(layout, env["AMZN_BRAKET_JOB_NAME"], hyperparameters, channels),
            visible,
        ):
            shipper.add(line)

        stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        async with _JobProcess(command, env, layout.container_dir) as job_process:
            process = job_process.process
            pumps = [
                asyncio.create_task(_pump(job_process.stdout, shipper, None)),
                asyncio.create_task(_pump(job_process.stderr, shipper, stderr_tail)),
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
            finally:
                cancel_wait.cancel()
                # also when the runner itself is cancelled (service shutdown)
                await self._stop(process)
                with contextlib.suppress(asyncio.CancelledError):
                    await exited
                # strays (the supervisor killed before it ended its tree) carry the marker
                await asyncio.to_thread(kill_marked, marker)
                # output still held by a stray is not waited for: a bounded drain
                await asyncio.wait(pumps, timeout=self._drain_timeout)
                job_process.close_output()
                await asyncio.gather(*pumps, return_exceptions=True)
        returncode = process.returncode
        assert returncode is not None  # waited for above
        if outcome != _Outcome.FAILED:
            return outcome, ""
        if returncode == 0:
            for line in success_lines():
                shipper.add(line)
            return _Outcome.COMPLETED, ""
        for line in failure_lines(command, returncode):
            shipper.add(line)
        return _Outcome.FAILED, await _failure_reason(layout, stderr_tail, returncode)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """Ask the supervisor to end its tree (SIGTERM, grace, SIGKILL); kill it if it does not
        finish within its grace and a margin."""
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.shield(
                asyncio.wait_for(process.wait(), self._stop_grace + _SUPERVISOR_MARGIN)
            )
        except TimeoutError:
            _killpg(process.pid, signal.SIGKILL)
            await asyncio.shield(process.wait())


class _JobProcess(AsyncContext):
    """The supervisor process with its three pipes: the lifeline on its stdin (only this
    service holds the write end, so the supervisor sees end of file when the service dies, even
    by SIGKILL) and stdout/stderr, read through transports this runner can close whoever else
    still holds the write ends."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self._command, self._env, self._cwd = command, env, cwd
        self._lifeline = -1
        self._transports: list[asyncio.ReadTransport] = []
        self.stdout = asyncio.StreamReader()
        self.stderr = asyncio.StreamReader()
        self.process: asyncio.subprocess.Process

    async def _enter(self) -> None:
        loop = asyncio.get_running_loop()
        lifeline_r, self._lifeline = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            for fd, reader in ((out_r, self.stdout), (err_r, self.stderr)):
                transport, _ = await loop.connect_read_pipe(
                    functools.partial(asyncio.StreamReaderProtocol, reader),
                    os.fdopen(fd, "rb", buffering=0),
                )
                self._transports.append(transport)
            self.process = await asyncio.create_subprocess_exec(
                *self._command,
                env=self._env,
                cwd=str(self._cwd),
                stdin=lifeline_r,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,  # its own session and process group
            )
        except BaseException:
            self._close_lifeline()
            self.close_output()
            raise
        finally:
            for fd in (lifeline_r, out_w, err_w):
                os.close(fd)

    def _close_lifeline(self) -> None:
        fd, self._lifeline = self._lifeline, -1
        if fd >= 0:
            os.close(fd)

    def close_output(self) -> None:
        """Stop reading stdout/stderr (the readers get end of file)."""
        for transport in self._transports:
            transport.close()

    async def _exit(self) -> None:
        self._close_lifeline()
        self.close_output()


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


def process_job_runner_factory(local: LocalEndpointsSource, **options: Any) -> ProcessJobRunner:
    """``LocalBraket(job_runner_factory=...)`` hook: a :class:`ProcessJobRunner` whose jobs
    reach ``local``'s endpoints (read when each job starts). ``options`` go to
    :class:`ProcessJobRunner` (bind them with ``functools.partial``)."""

    def endpoints() -> JobEndpoints:
        return JobEndpoints(
            braket_endpoint_url=local.endpoint_url,
            s3_endpoint_url=local.s3_endpoint_url,
            region=local.region,
            aws_access_key_id=local.credentials[0],
            aws_secret_access_key=local.credentials[1],
        )

    return ProcessJobRunner(endpoints, **options)
