"""Hybrid jobs on the client: log streaming, results, and ``create_hybrid_job``.

:class:`Jobs` gives :class:`~braket_async.BraketSession`:

* ``stream_job_logs(job_arn, follow=True)`` -- an async iterator over the job's CloudWatch
  Logs lines (group ``/aws/braket/jobs``, streams named after the job), following them until
  the job is terminal and its logs are drained;
* ``get_job_result(job_arn)`` -- the dict the job saved (``save_job_result`` / results.json in
  ``braket.jobs_data.persisted_job_data`` format) from ``{s3Path}/output/model.tar.gz``;
* ``create_hybrid_job(source_module=..., device=...)`` -- packs a local script or folder,
  uploads it (and local input data) to S3, then calls the ``CreateJob`` operation, as the
  Braket SDK's ``AwsQuantumJob.create(source_module=...)`` does.

Event following and job waiters are in :mod:`braket_async.waiters`; where a job's logs and
results live (shared with the local service) in :mod:`braket_async._job_locations`.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import json
import os
import pickle
import re
import tarfile
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from . import errors
from ._aws_accessors import LogStreams, S3Objects
from ._base import Clock, Sleep
from ._job_locations import (
    JOB_LOG_GROUP,
    S3_URI,
    job_log_stream_prefix,
    job_results_location,
    parse_s3_uri,
)
from ._operations import Operations
from .errors import PickledResultError
from .models.enums import TERMINAL_JOB_STATUSES
from .polling import PollCadence, PollPolicy
from .telemetry import Telemetry
from .waiters import Waiters

__all__ = [
    "DEFAULT_INSTANCE_CONFIG",
    "DEFAULT_LOG_POLL",
    "JOB_LOG_GROUP",
    "Jobs",
    "LogLine",
    "PickledResultError",
    "decode_persisted_job_data",
    "job_log_stream_prefix",
    "job_results_location",
    "parse_s3_uri",
]

DEFAULT_LOG_POLL = PollPolicy(initial=0.5, multiplier=1.5, maximum=5.0, jitter=0.0)
"""Polling between log reads while following: quick at first, slower while nothing arrives."""
DEFAULT_INSTANCE_CONFIG: Mapping[str, Any] = {
    "instanceType": "ml.m5.large",
    "volumeSizeInGb": 30,
    "instanceCount": 1,
}
"""``instanceConfig`` when none is given (the Braket SDK's default)."""

_JOB_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,50}(?<!-)$")
_RESULTS_FILE = "results.json"


@attrs.frozen
class LogLine:
    """One line a hybrid job logged (a CloudWatch Logs event)."""

    #: The log stream, ``{jobName}[/{uuid}]/algo-{instance}-{epoch}``.
    stream_name: str
    #: When the line was logged (aware UTC).
    timestamp: datetime
    #: The text, without its newline.
    message: str
    #: When CloudWatch Logs ingested it, if it said.
    ingestion_time: datetime | None = None


def decode_persisted_job_data(
    document: Mapping[str, Any], *, allow_pickle: bool = False
) -> dict[str, Any]:
    """The data dictionary of a ``braket.jobs_data.persisted_job_data`` document.

    ``plaintext`` values are returned as they are; ``pickled_v4`` values (base64 pickles) only
    when ``allow_pickle`` -- otherwise :class:`PickledResultError`.

    Args:
        document: The parsed ``results.json`` document.
        allow_pickle: Whether to unpickle ``pickled_v4`` values (runs arbitrary code).

    Returns:
        The data dictionary.

    Raises:
        PickledResultError: The values are pickled and ``allow_pickle`` is false.
        ResponseError: The document has no data dictionary or an unknown ``dataFormat``.
    """
    data = document.get("dataDictionary")
    if not isinstance(data, dict):
        raise errors.ResponseError("results.json has no dataDictionary object")
    data_format = str(document.get("dataFormat", "plaintext")).lower()
    if data_format == "plaintext":
        return dict(data)
    if data_format == "pickled_v4":
        if not allow_pickle:
            raise PickledResultError(
                "the job saved its results pickled (pickled_v4); unpickling runs arbitrary "
                "code, so it is off: pass allow_pickle=True only if you trust the job"
            )
        return {
            key: pickle.loads(codecs.decode(value.encode(), "base64"))  # the caller opted in
            for key, value in data.items()
        }
    raise errors.ResponseError(f"results.json has an unknown dataFormat {data_format!r}")


def _read_results(archive: bytes) -> dict[str, Any] | None:
    # blocking (gzip + JSON): runs in a thread
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.lstrip("./") == _RESULTS_FILE:
                handle = tar.extractfile(member)
                if handle is None:
                    return None
                document: dict[str, Any] = json.loads(handle.read())
                return document
    return None


def _millis(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


class Jobs:
    """Hybrid-job features of :class:`~braket_async.BraketSession`.

    ``operations`` sends GetJob / CreateJob, ``waiters`` wait for a job
    (``create_hybrid_job(wait=True)``), ``s3`` reads results and uploads code and data,
    ``logs`` reads the job's CloudWatch Logs streams; ``sleep`` and ``clock`` pace log
    following, ``telemetry`` times the uploads.

    Args:
        operations: The session's operations.
        waiters: The session's waiters.
        s3: Reads results and uploads code and data.
        logs: Reads the jobs' CloudWatch Logs streams.
        sleep: The sleep of log following.
        clock: The monotonic clock of log following.
        telemetry: Where the upload spans go.
    """

    def __init__(
        self,
        operations: Operations,
        *,
        waiters: Waiters,
        s3: S3Objects,
        logs: LogStreams,
        sleep: Sleep,
        clock: Clock,
        telemetry: Telemetry,
    ) -> None:
        self._operations = operations
        self._waiters = waiters
        self._s3 = s3
        self._logs = logs
        self._sleep = sleep
        self._clock = clock
        self._telemetry = telemetry

    async def stream_job_logs(
        self,
        job_arn: str,
        *,
        follow: bool = True,
        poll: PollPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> AsyncIterator[LogLine]:
        """The job's log lines, oldest first, each once.

        With ``follow`` (default) it keeps reading until the job is terminal and every line
        logged before that has been yielded; without, it yields what is there now and ends.
        Between reads it waits per ``poll`` (:data:`DEFAULT_LOG_POLL`), starting over at the
        short delay whenever new lines arrived. Transient errors of GetJob are absorbed within
        ``poll.budget``. ``sleep`` and ``clock`` default to the session's.

        Args:
            job_arn: The job's ARN.
            follow: Whether to keep reading until the job is terminal.
            poll: The delays between reads (default: :data:`DEFAULT_LOG_POLL`).
            sleep: The sleep between reads (default: the session's).
            clock: The monotonic clock (default: the session's).

        Yields:
            Each log line, once.
        """
        get_job = self._operations.get_job
        cadence = PollCadence(
            poll or DEFAULT_LOG_POLL, sleep=sleep or self._sleep, clock=clock or self._clock
        )
        job = await get_job(job_arn)
        prefix = job_log_stream_prefix(job.job_name, job.job_arn)
        tokens: dict[str, str | None] = {}
        last_round = not follow or job.status in TERMINAL_JOB_STATUSES
        while True:
            lines = await cadence.retry(lambda: _read_new_lines(self._logs, prefix, tokens))
            for line in lines:
                yield line
            if last_round:
                return
            if lines:
                cadence.progressed()
            await cadence.next_poll()
            job = await cadence.retry(lambda: get_job(job_arn))
            # the service ships a job's logs before it turns terminal: one more read drains them
            last_round = job.status in TERMINAL_JOB_STATUSES

    async def get_job_result(self, job_arn: str, *, allow_pickle: bool = False) -> dict[str, Any]:
        """The results the job saved (its ``results.json`` data dictionary).

        Raises :class:`~braket_async.errors.ResultNotAvailable` while the job is not terminal
        or when it saved none, :class:`PickledResultError` for pickled results without
        ``allow_pickle``.

        Args:
            job_arn: The job's ARN.
            allow_pickle: Whether to unpickle ``pickled_v4`` results (runs arbitrary code).

        Returns:
            The job's data dictionary.

        Raises:
            ResultNotAvailable: The job is not terminal, or saved no results.
            PickledResultError: The results are pickled and ``allow_pickle`` is false.
            ResponseError: The results archive cannot be read.
        """
        job = await self._operations.get_job(job_arn)
        status = str(job.status)
        if job.status not in TERMINAL_JOB_STATUSES:
            raise errors.ResultNotAvailable(
                f"job {job_arn} is {status}: its results exist once it is COMPLETED, FAILED or "
                "CANCELLED (await wait_for_job first)"
            )
        try:
            bucket, key = job_results_location(job.output_data_config.s3_path)
        except ValueError as exc:
            raise errors.ResponseError(f"job {job_arn}: outputDataConfig.s3Path: {exc}") from exc

        def missing(_code: str) -> errors.ResultNotAvailable:
            return errors.ResultNotAvailable(
                f"job {job_arn} ({status}) saved no results: nothing at s3://{bucket}/{key}"
            )

        archive = await self._s3.get(bucket, key, missing=missing)
        try:
            document = await asyncio.to_thread(_read_results, archive)
        except (tarfile.TarError, OSError, ValueError) as exc:  # gzip, tar and JSON errors
            raise errors.ResponseError(
                f"job {job_arn}: s3://{bucket}/{key} is not a readable results archive: {exc}"
            ) from exc
        if document is None:
            raise errors.ResultNotAvailable(
                f"job {job_arn} ({status}) saved no results: s3://{bucket}/{key} has no "
                f"{_RESULTS_FILE}"
            )
        return await asyncio.to_thread(
            decode_persisted_job_data, document, allow_pickle=allow_pickle
        )

    async def create_hybrid_job(
        self,
        *,
        device: str,
        source_module: str | os.PathLike[str],
        entry_point: str | None = None,
        job_name: str | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        input_data: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]] | None = None,
        role_arn: str | None = None,
        s3_bucket: str | None = None,
        code_location: str | None = None,
        output_s3_path: str | None = None,
        checkpoint_s3_uri: str | None = None,
        instance_config: Mapping[str, Any] | None = None,
        max_runtime_in_seconds: int | None = None,
        container_image: str | None = None,
        tags: Mapping[str, str] | None = None,
        wait: bool = False,
        poll: PollPolicy | None = None,
    ) -> str:
        """Upload a local script or folder (and local input data) to S3, then create the job.

        Like the Braket SDK's ``AwsQuantumJob.create(source_module=...)``: ``source_module`` is
        a ``.py`` file, a folder (a package), or an ``s3://`` URI of a ``.tar.gz`` (then
        ``entry_point`` is required); it is packed as ``source.tar.gz`` under
        ``code_location`` (default ``s3://{s3_bucket}/jobs/{job_name}/{timestamp}/script``).
        ``entry_point`` is ``module`` or ``module:function`` (default: the source's name).
        ``input_data`` is one location (channel ``input``) or ``{channel: location}``; local
        files and folders are uploaded. Results go to ``output_s3_path`` (default
        ``.../data``), checkpoints to ``checkpoint_s3_uri`` (default ``.../checkpoints``).
        ``s3_bucket`` defaults to ``$AMZN_BRAKET_OUT_S3_BUCKET``, ``role_arn`` to
        ``$BRAKET_JOBS_ROLE_ARN``. Hyperparameter values are sent as strings. With ``wait``
        it returns once the job is terminal, polling per ``poll`` and raising as
        ``wait_for_job`` does. Returns the job ARN.

        Args:
            device: The device ARN the job uses.
            source_module: A ``.py`` file, a folder, or an ``s3://`` URI of a ``.tar.gz``.
            entry_point: ``module`` or ``module:function`` (default: the source's name).
            job_name: The job's name (default: ``braket-job-default-{millis}``).
            hyperparameters: Sent as strings.
            input_data: One location (channel ``input``) or ``{channel: location}``.
            role_arn: The job's IAM role (default: ``$BRAKET_JOBS_ROLE_ARN``).
            s3_bucket: The bucket of the default locations (default:
                ``$AMZN_BRAKET_OUT_S3_BUCKET``).
            code_location: Where the packed source goes.
            output_s3_path: Where results go.
            checkpoint_s3_uri: Where checkpoints go.
            instance_config: The ``instanceConfig`` (default: :data:`DEFAULT_INSTANCE_CONFIG`).
            max_runtime_in_seconds: The job's stopping condition.
            container_image: The container image URI.
            tags: The job's tags.
            wait: Whether to return only once the job is terminal.
            poll: The delays between status calls with ``wait``.

        Returns:
            The job's ARN.

        Raises:
            ParameterError: A parameter breaks its rule (name, device, role or bucket missing).
            JobFailed: With ``wait``, the job ended FAILED.
            JobCancelled: With ``wait``, the job ended CANCELLED.
        """
        name = job_name or f"braket-job-default-{_now_millis()}"
        if not _JOB_NAME.fullmatch(name):
            raise errors.ParameterError(
                "job_name",
                "1 to 50 letters, digits and hyphens, not starting or ending with a hyphen; "
                f"got {name!r}",
            )
        if not device:
            raise errors.ParameterError("device", "a device ARN is required")
        role = role_arn or os.environ.get("BRAKET_JOBS_ROLE_ARN")
        if not role:
            raise errors.ParameterError(
                "role_arn", "required: pass role_arn or set BRAKET_JOBS_ROLE_ARN"
            )
        bucket = s3_bucket or os.environ.get("AMZN_BRAKET_OUT_S3_BUCKET")
        if not bucket:
            raise errors.ParameterError(
                "s3_bucket", "required: pass s3_bucket or set AMZN_BRAKET_OUT_S3_BUCKET"
            )
        base = f"s3://{bucket}/jobs/{name}/{_now_millis()}"
        with self._telemetry.span("braket_async.job.upload", {"job_name": name}):
            script_uri, entry = await self._upload_source(
                source_module, entry_point, code_location or f"{base}/script"
            )
            channels = await self._upload_input_data(input_data, f"{base}/data")

        algorithm: dict[str, Any] = {
            "scriptModeConfig": {
                "entryPoint": entry,
                "s3Uri": script_uri,
                "compressionType": "GZIP",
            },
        }
        if container_image:
            algorithm["containerImage"] = {"uri": container_image}
        job_arn = await self._operations.create_job(
            job_name=name,
            role_arn=role,
            algorithm_specification=algorithm,
            device_config={"device": device},
            instance_config=dict(instance_config or DEFAULT_INSTANCE_CONFIG),
            output_data_config={"s3Path": output_s3_path or f"{base}/data"},
            checkpoint_config={"s3Uri": checkpoint_s3_uri or f"{base}/checkpoints"},
            hyper_parameters={str(k): str(v) for k, v in (hyperparameters or {}).items()},
            input_data_config=channels or None,
            stopping_condition=(
                None
                if max_runtime_in_seconds is None
                else {"maxRuntimeInSeconds": max_runtime_in_seconds}
            ),
            tags=tags,
        )
        if wait:
            await self._waiters.wait_for_job(job_arn, poll=poll)
        return job_arn

    async def _upload_source(
        self, source_module: str | os.PathLike[str], entry_point: str | None, code_location: str
    ) -> tuple[str, str]:
        """Upload the packed source; returns its S3 URI and the entry point."""
        if isinstance(source_module, str) and S3_URI.match(source_module):
            if not entry_point:
                raise errors.ParameterError(
                    "entry_point", "required when source_module is an S3 URI"
                )
            if not source_module.lower().endswith(".tar.gz"):
                raise errors.ParameterError(
                    "source_module", f"an S3 source must be a .tar.gz, got {source_module!r}"
                )
            _check_entry_syntax(entry_point)
            return source_module, entry_point
        source = Path(source_module)
        try:
            source = await asyncio.to_thread(source.resolve, True)
        except OSError:
            raise errors.ParameterError(
                "source_module", f"no such file or folder: {str(source_module)!r}"
            ) from None
        entry = entry_point or source.stem
        await asyncio.to_thread(_check_entry_point, source, entry)
        archive = await asyncio.to_thread(_pack_source, source)
        uri = f"{code_location.rstrip('/')}/source.tar.gz"
        await self._put(uri, archive)
        return uri, entry

    async def _upload_input_data(
        self,
        input_data: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]] | None,
        data_prefix: str,
    ) -> list[dict[str, Any]]:
        """The ``inputDataConfig`` channels, local files and folders uploaded first."""
        if input_data is None:
            return []
        locations = dict(input_data) if isinstance(input_data, Mapping) else {"input": input_data}
        channels = []
        for channel, location in locations.items():
            if isinstance(location, str) and S3_URI.match(location):
                uri = location
            else:
                path = Path(location)
                files = await asyncio.to_thread(_local_files, path)
                if not files:
                    raise errors.ParameterError(
                        f"input_data[{channel!r}]", f"no file at {str(location)!r}"
                    )
                for file, key in files:
                    body = await asyncio.to_thread(file.read_bytes)
                    await self._put(f"{data_prefix}/{channel}/{key}", body)
                uri = f"{data_prefix}/{channel}/{path.name}"
            channels.append(
                {"channelName": channel, "dataSource": {"s3DataSource": {"s3Uri": uri}}}
            )
        return channels

    async def _put(self, uri: str, body: bytes) -> None:
        match = S3_URI.match(uri)
        if match is None:
            raise errors.ParameterError("code_location", f"must be an s3:// URI, got {uri!r}")
        await self._s3.put(match.group(1), match.group(2), body)


async def _read_new_lines(
    logs: LogStreams, prefix: str, tokens: dict[str, str | None]
) -> list[LogLine]:
    """Every event logged since the last call, over all the job's streams, in time order.

    ``tokens`` maps each stream seen so far to its ``nextForwardToken``.
    """
    for name in await logs.names(JOB_LOG_GROUP, prefix):
        tokens.setdefault(name, None)
    lines: list[LogLine] = []
    for stream, token in tokens.items():
        while True:
            events, next_token = await logs.events(JOB_LOG_GROUP, stream, token)
            lines.extend(
                LogLine(
                    stream_name=stream,
                    timestamp=_millis(event["timestamp"]) or datetime.now(UTC),
                    message=event["message"],
                    ingestion_time=_millis(event.get("ingestionTime")),
                )
                for event in events
            )
            # CloudWatch answers the same token again once a stream is drained
            done = not events or next_token is None or next_token == token
            token = next_token if next_token is not None else token
            if done:
                break
        tokens[stream] = token
    lines.sort(key=lambda line: line.timestamp)  # stable: one stream keeps its order
    return lines


def _now_millis() -> str:
    return str(int(time.time() * 1000))


def _pack_source(source: Path) -> bytes:
    """``source.tar.gz`` of a file or folder, the source at the archive's root under its own
    name (as the Braket SDK packs it). Blocking: runs in a thread."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", dereference=True) as tar:
        tar.add(source, arcname=source.name)
    return buffer.getvalue()


def _check_entry_syntax(entry_point: str) -> list[str]:
    """The module path of ``module`` / ``module:function``, or ParameterError."""
    module, sep, function = entry_point.partition(":")
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts) or (sep and not function.isidentifier()):
        raise errors.ParameterError(
            "entry_point", f"must be 'module' or 'module:function', got {entry_point!r}"
        )
    return parts


def _check_entry_point(source: Path, entry_point: str) -> None:
    """Raise unless ``entry_point``'s module is inside the packed ``source``. Blocking."""
    parts = _check_entry_syntax(entry_point)
    module = ".".join(parts)
    base = source.parent.joinpath(*parts)
    candidates = [base.with_suffix(".py"), base / "__init__.py", base / "__main__.py"]
    inside = source if source.is_dir() else source.with_suffix("")
    if not any(c.is_file() and (c == source or c.is_relative_to(inside)) for c in candidates):
        raise errors.ParameterError(
            "entry_point", f"module {module!r} is not in source_module {str(source)!r}"
        )


def _local_files(path: Path) -> list[tuple[Path, str]]:
    """``(file, relative key)`` pairs to upload for a local input path. Blocking."""
    if path.is_file():
        return [(path, path.name)]
    return [
        (file, f"{path.name}/{file.relative_to(path).as_posix()}")
        for file in sorted(path.rglob("*"))
        if file.is_file()
    ]
