"""``python -m braket_async.local serve``: run the local Braket service until SIGINT/SIGTERM.

When ready it prints one JSON line to stdout:
``{"endpoint_url": ..., "s3_endpoint_url": ..., "events_endpoint_url": ..., "default_bucket": ...,
"region": ..., "access_key_id": ..., "control_token": ...}`` (``events_endpoint_url``: the
EventBridge and SQS endpoint the state-change events go to, null when none are published; see
docs/events.md). Requests must be SigV4-signed with the
service's credentials (``--access-key-id`` / ``--secret-access-key``, else
``$BRAKET_ASYNC_LOCAL_ACCESS_KEY_ID`` / ``$BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY``, else
``testing`` / ``testing``); ``/_local/*`` needs ``Authorization: Bearer <control_token>``.
After the ready line, the environment for AWS clients (``LocalBraket.environ()``) is printed
on stderr as shell lines to ``eval`` (``braket-async local env --from FILE`` prints them from a
saved ready line). A ``--host`` that is not loopback prints a warning on stderr: the service
runs hybrid-job code as the user who started it.

Fault injection from the command line: ``--latency SECONDS``, ``--fault-internal-error P``,
``--fault-throttle P`` and ``--fault-drop P`` set the spec of every operation;
``--fault OPERATION:kind=value,...`` (repeatable) gives one operation its own spec, starting
from those flags, e.g. ``--fault CreateQuantumTask:drop_after_effect=0.1,latency=0``. Kinds
are :class:`FaultSpec`'s fields (``drop`` is short for ``drop_connection``). Faults and
quotas can also be changed while it runs: ``PUT /_local/faults``, ``PUT /_local/quotas``.

Hybrid-job scripts run with this interpreter, or with ``--job-python PATH`` (e.g. a venv's
``bin/python`` that has the Braket SDK); a ``--job-python`` that cannot import ``braket.jobs``
is refused at start, and without it a warning on stderr says when this interpreter cannot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import attrs

from ._environ import format_exports
from ._service import DEFAULT_BUCKET, LocalBraket
from .guards._guard import is_loopback
from .jobs._jobs_python import JobPythonError, check_job_python, has_braket_jobs
from .simulation._limits import (
    DEFAULT_TASK_MEMORY_LIMIT,
    DEFAULT_TASK_TIME_LIMIT,
    DEFAULT_WORKERS_MEMORY_LIMIT,
)
from .state._faults import MAX_LATENCY, SPEC_FIELDS, FaultConfig, FaultSpec
from .state._quotas import Quotas
from .tasks._qpu_queue import QpuQueue

__all__ = [
    "ACCESS_KEY_ENV",
    "SECRET_KEY_ENV",
    "build_parser",
    "environ_lines",
    "fault_config",
    "main",
    "parse_fault_option",
    "serve",
]

#: Environment variables giving the service's credentials (the flags win).
ACCESS_KEY_ENV = "BRAKET_ASYNC_LOCAL_ACCESS_KEY_ID"
SECRET_KEY_ENV = "BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY"

#: The ``serve`` options (dests) that :func:`fault_config` reads.
_FAULT_OPTIONS = frozenset(
    ("latency", "fault_internal_error", "fault_throttle", "fault_drop", "fault", "fault_seed")
)
#: Short names accepted in ``--fault`` besides the :class:`FaultSpec` field names.
_KIND_ALIASES = {"drop": "drop_connection"}


def _float_in(low: float, high: float) -> Any:
    # argparse prefixes these messages with "argument --flag: ".
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}], got {text}")
        return value

    return parse


def _limit(unit: float, *, integer: bool = False) -> Any:
    # A limit in the flag's unit; 0 means none (None).
    def parse(text: str) -> float | int | None:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(f"must be >= 0 (0: no limit), got {text}")
        if value == 0:
            return None
        return max(1, int(value * unit)) if integer else value * unit

    return parse


def _memory_limit(
    parser: argparse.ArgumentParser, flag: str, default: int, whose: str, which: str
) -> None:
    """A memory limit given in MiB (the service takes bytes), 0 for no limit."""
    shown = default >> 20
    parser.add_argument(
        flag,
        type=_limit(float(1 << 20), integer=True),
        default=default,
        metavar="MIB",
        help=f"MiB of memory {whose} may use, 0 for no limit (default {which}{shown})",
    )


def parse_fault_option(text: str) -> tuple[str, dict[str, float]]:
    """Parse ``OPERATION:kind=value,...`` (one ``--fault``) into ``(operation, fields)``.

    Raises ``argparse.ArgumentTypeError`` naming the part that is wrong (argparse prefixes
    its message with "argument --fault: ").
    """
    from .api._model import service_model

    operation, sep, rest = text.partition(":")
    operation = operation.strip()
    if not sep or not rest.strip():
        raise argparse.ArgumentTypeError(
            f"expected OPERATION:kind=value[,kind=value...], got {text!r}"
        )
    if operation not in service_model().operation_names:
        raise argparse.ArgumentTypeError(f"{operation!r} is not a Braket operation name")
    fields: dict[str, float] = {}
    for item in rest.split(","):
        key, eq, raw = item.partition("=")
        kind = key.strip().replace("-", "_")
        kind = _KIND_ALIASES.get(kind, kind)
        if not eq or kind not in SPEC_FIELDS:
            raise argparse.ArgumentTypeError(
                f"{operation}: {item.strip()!r} must be kind=value with kind one of "
                f"{', '.join(SPEC_FIELDS)}"
            )
        try:
            fields[kind] = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{operation}: {kind} must be a number, got {raw.strip()!r}"
            ) from None
    return operation, fields


def fault_config(
    *,
    latency: float = 0.0,
    fault_internal_error: float = 0.0,
    fault_throttle: float = 0.0,
    fault_drop: float = 0.0,
    fault: Sequence[tuple[str, dict[str, float]]] = (),
    fault_seed: int | None = None,
) -> FaultConfig | None:
    """The :class:`FaultConfig` the command-line fault options describe (``None``: none).

    Each ``fault`` entry (from :func:`parse_fault_option`) starts from the default spec and
    replaces the fields it names. ``ValueError`` when a resulting spec is invalid.
    """
    default = FaultSpec(
        internal_error=fault_internal_error,
        throttle=fault_throttle,
        drop_connection=fault_drop,
        latency=latency,
    )
    per_operation: dict[str, FaultSpec] = {}
    for operation, fields in fault:
        try:
            per_operation[operation] = attrs.evolve(per_operation.get(operation, default), **fields)
        except ValueError as exc:
            raise ValueError(f"--fault {operation}: {exc}") from None
    if not default.active and not per_operation:
        return None
    return FaultConfig(default=default, per_operation=per_operation, seed=fault_seed)


def build_parser(prog: str = "python -m braket_async.local") -> argparse.ArgumentParser:
    """The command-line parser (``serve`` subcommand)."""
    parser = argparse.ArgumentParser(prog=prog, description="The local Amazon Braket service.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the service until interrupted")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    s.add_argument("--region", default="us-east-1")
    s.add_argument("--account-id", default="123456789012")
    s.add_argument(
        "--s3-endpoint-url",
        default=None,
        help="S3 endpoint for results (default: start an embedded moto server)",
    )
    s.add_argument(
        "--events-endpoint-url",
        default=None,
        help="EventBridge endpoint for the state-change events (default: the embedded moto "
        "server; none when --s3-endpoint-url is given without this)",
    )
    s.add_argument(
        "--no-events",
        dest="events",
        action="store_false",
        help="publish no state-change events",
    )
    s.add_argument(
        "--queue-delay", type=float, default=0.0, help="seconds a task stays QUEUED at least"
    )
    s.add_argument(
        "--run-delay", type=float, default=0.0, help="seconds a task stays RUNNING at least"
    )
    s.add_argument(
        "--quota-scale",
        type=float,
        default=1.0,
        help="multiply the AWS default request-rate quotas",
    )
    s.add_argument("--no-quotas", action="store_true", help="disable every quota")
    s.add_argument("--workers", type=int, default=None, help="simulator worker processes")
    s.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help="worker processes allowed while long tasks hold every worker (default workers+2)",
    )
    s.add_argument(
        "--task-time-limit",
        type=_limit(1.0),
        default=DEFAULT_TASK_TIME_LIMIT,
        metavar="SECONDS",
        help=f"seconds a task may simulate, 0 for no limit (default {DEFAULT_TASK_TIME_LIMIT:g})",
    )
    _memory_limit(s, "--task-memory-limit", DEFAULT_TASK_MEMORY_LIMIT, "a task's worker", "")
    _memory_limit(
        s,
        "--workers-memory-limit",
        DEFAULT_WORKERS_MEMORY_LIMIT,
        "all simulator workers together",
        "half the machine's: ",
    )
    s.add_argument(
        "--synthetic",
        action="store_true",
        help="complete tasks at once with all-zero results of the right shape, unsimulated "
        "(SyntheticExecutor: for load runs where results do not matter)",
    )
    s.add_argument("--default-bucket", default=DEFAULT_BUCKET)
    s.add_argument(
        "--job-python",
        default=None,
        metavar="PATH",
        help="the Python that runs hybrid-job scripts (default: this one); it must have the "
        "Braket SDK (braket.jobs), checked at start",
    )
    s.add_argument(
        "--access-key-id",
        default=None,
        help=f"access key id requests must be signed with (default ${ACCESS_KEY_ENV}, "
        "else testing)",
    )
    s.add_argument(
        "--secret-access-key",
        default=None,
        help=f"secret access key requests must be signed with (default ${SECRET_KEY_ENV}, "
        "else testing)",
    )
    q = s.add_argument_group("emulated QPUs (docs/devices.md)")
    q.add_argument(
        "--no-noise",
        dest="noise",
        action="store_false",
        help="run QPU tasks without their device's noise model",
    )
    q.add_argument(
        "--qpu-time-scale",
        type=float,
        default=None,
        help="queue QPU tasks (one at a time per QPU, inside its execution windows) on a clock "
        "this many times faster than real time (default: no queue, they run at once)",
    )
    q.add_argument(
        "--qpu-backlog",
        type=float,
        default=0.0,
        help="with --qpu-time-scale: simulated seconds of other users' work ahead (default 0)",
    )
    f = s.add_argument_group("fault injection (every operation unless --fault says otherwise)")
    f.add_argument(
        "--latency",
        type=_float_in(0.0, MAX_LATENCY),
        default=0.0,
        metavar="SECONDS",
        help=f"seconds added to every call (at most {MAX_LATENCY:g})",
    )
    for flag, what in (
        ("--fault-internal-error", "500 InternalServiceException"),
        ("--fault-throttle", "429 ThrottlingException"),
        ("--fault-drop", "connection dropped before the call takes effect"),
    ):
        f.add_argument(
            flag,
            type=_float_in(0.0, 1.0),
            default=0.0,
            metavar="P",
            help=f"probability of {what}",
        )
    f.add_argument(
        "--fault",
        type=parse_fault_option,
        action="append",
        default=[],
        metavar="OPERATION:kind=value,...",
        help="one operation's own faults, e.g. CreateQuantumTask:drop_after_effect=0.1 "
        f"(kinds: {', '.join(SPEC_FIELDS)}; drop = drop_connection); repeatable",
    )
    f.add_argument(
        "--fault-seed", type=int, default=None, metavar="N", help="seed of the fault draws"
    )
    return parser


def _qpu_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with ``qpu_time_scale`` / ``qpu_backlog`` (the command-line options) turned
    into ``qpu_queue=QpuQueue(...)`` for :class:`LocalBraket`."""
    out = dict(kwargs)
    time_scale = out.pop("qpu_time_scale", None)
    backlog = out.pop("qpu_backlog", 0.0)
    if time_scale is not None:
        out.setdefault("qpu_queue", QpuQueue(time_scale=time_scale, backlog=backlog))
    elif backlog:
        raise ValueError("--qpu-backlog needs --qpu-time-scale")
    return out


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    s3_endpoint_url: str | None = None,
    queue_delay: float = 0.0,
    run_delay: float = 0.0,
    quota_scale: float = 1.0,
    no_quotas: bool = False,
    workers: int | None = None,
    default_bucket: str = DEFAULT_BUCKET,
    faults: FaultConfig | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    synthetic: bool = False,
    job_python: str | None = None,
    stop: asyncio.Event | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    environ_to: TextIO | None = None,
    **local_kwargs: Any,
) -> None:
    """Run the service until ``stop`` is set or SIGINT/SIGTERM arrives.

    Prints the ready line (JSON) to ``out`` (stdout by default), and to ``err`` (stderr by
    default) a warning when ``host`` is not loopback; then, to ``environ_to`` if given (the
    command line gives stderr), the ``environ()`` shell lines (:func:`environ_lines`).
    ``access_key_id`` /
    ``secret_access_key`` default to ``$BRAKET_ASYNC_LOCAL_ACCESS_KEY_ID`` /
    ``$BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY``, else ``testing``. The command-line fault
    options (``latency``, ``fault_internal_error``, ``fault_throttle``, ``fault_drop``,
    ``fault``, ``fault_seed``: see :func:`fault_config`) are accepted as keywords; ``faults``
    gives a whole :class:`FaultConfig` instead (not both). Other keyword arguments go to
    :class:`LocalBraket` (e.g. ``job_runner_factory``). ``synthetic`` runs tasks on
    :class:`~._synthetic.SyntheticExecutor` (all-zero results, nothing simulated).
    ``job_python`` is the interpreter of hybrid-job scripts (default: this one); one that
    cannot import ``braket.jobs`` raises :class:`~._jobs_python.JobPythonError` before the
    service starts.
    """
    local_kwargs = _qpu_options(local_kwargs)
    options = {k: local_kwargs.pop(k) for k in _FAULT_OPTIONS if k in local_kwargs}
    from_options = fault_config(**options)
    if faults is not None and from_options is not None:
        raise ValueError("give faults or the fault options (latency, fault_*), not both")
    faults = faults if faults is not None else from_options
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or not supported on this platform
    quotas = Quotas.off() if no_quotas else Quotas.aws_defaults(scale=quota_scale)
    credentials = (
        access_key_id or os.environ.get(ACCESS_KEY_ENV) or "testing",
        secret_access_key or os.environ.get(SECRET_KEY_ENV) or "testing",
    )
    if not is_loopback(host):
        (err or sys.stderr).write(
            f"warning: the local Braket service listens on {host}, not loopback: anyone who "
            "can reach it and knows its credentials can run code as this user (hybrid jobs). "
            "Use --host 127.0.0.1 unless you mean it, and set --access-key-id / "
            "--secret-access-key.\n"
        )
        (err or sys.stderr).flush()
    await _choose_job_python(job_python, local_kwargs, err or sys.stderr)
    if synthetic:
        from .simulation._synthetic import SyntheticExecutor

        local_kwargs.setdefault("executor", SyntheticExecutor())
    try:
        async with LocalBraket(
            host=host,
            port=port,
            region=region,
            account_id=account_id,
            s3_endpoint_url=s3_endpoint_url,
            queue_delay=queue_delay,
            run_delay=run_delay,
            quotas=quotas,
            workers=workers,
            default_bucket=default_bucket,
            faults=faults,
            credentials=credentials,
            **local_kwargs,
        ) as local:
            line = {
                "endpoint_url": local.endpoint_url,
                "s3_endpoint_url": local.s3_endpoint_url,
                "events_endpoint_url": local.events_endpoint_url,
                "default_bucket": local.default_bucket,
                "region": local.region,
                "access_key_id": local.credentials[0],
                "control_token": local.control_token,
            }
            stream = out or sys.stdout
            stream.write(json.dumps(line) + "\n")
            stream.flush()
            if environ_to is not None:
                environ_to.write(environ_lines(local, secret_given=credentials[1] != "testing"))
                environ_to.flush()
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _choose_job_python(
    job_python: str | None, local_kwargs: dict[str, Any], err: TextIO
) -> None:
    """Run job scripts with ``job_python`` (checked first), or warn when the default
    interpreter (this one) cannot run Braket SDK jobs."""
    runner_given = "job_runner" in local_kwargs or "job_runner_factory" in local_kwargs
    if job_python is None:
        if not runner_given and not await asyncio.to_thread(has_braket_jobs):
            err.write(
                f"warning: this Python ({sys.executable}) cannot import braket.jobs: hybrid "
                "jobs that use the Braket SDK will fail; give --job-python PATH (a Python "
                "with amazon-braket-sdk) or install the SDK here\n"
            )
            err.flush()
        return
    if runner_given:
        raise ValueError("give job_python or a job runner (job_runner[_factory]), not both")
    checked = await asyncio.to_thread(check_job_python, job_python)
    from .jobs._jobs import process_job_runner_factory

    local_kwargs["job_runner_factory"] = functools.partial(
        process_job_runner_factory, python=checked.executable
    )


def environ_lines(local: LocalBraket, *, secret_given: bool) -> str:
    """``local.environ()`` as commented shell lines for a human on stderr. A secret that is
    not the public default is not printed (logs keep stderr): its line says where it is."""
    env = local.environ()
    tail = ""
    if secret_given:
        del env["AWS_SECRET_ACCESS_KEY"]
        tail = "# export AWS_SECRET_ACCESS_KEY=<the secret access key the service was given>\n"
    return (
        "# AWS clients (boto3, the Braket SDK, the AWS CLI) use this service with:\n"
        + format_exports(env)
        + tail
    )


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Entry point of ``python -m braket_async.local`` (and ``braket-async local``); returns the
    exit code."""
    parser = build_parser() if prog is None else build_parser(prog=prog)
    args = parser.parse_args(argv)
    kwargs = {k: v for k, v in vars(args).items() if k != "command"}
    try:  # checked here too, so that a bad combination is a usage error, not a traceback
        fault_config(**{k: v for k, v in kwargs.items() if k in _FAULT_OPTIONS})
    except ValueError as exc:
        parser.error(str(exc))
    # SIGINT is handled inside serve(); this covers Ctrl-C before its handler is installed.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(serve(**kwargs, environ_to=sys.stderr))
        except JobPythonError as exc:
            parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
