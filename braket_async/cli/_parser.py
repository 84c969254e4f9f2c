"""The ``braket-async`` command line: argparse only, so the parser itself needs no extras."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..models.devices import SV1_ARN
from . import _demo, _devices, _events, _jobs, _local, _tasks

__all__ = ["GLOBAL_DEFAULTS", "GLOBAL_OPTIONS_EPILOG", "build_parser", "fill_global_defaults"]


#: Global options: accepted before or after the sub-command (``--json`` anywhere).
GLOBAL_DEFAULTS: dict[str, Any] = {
    "endpoint_url": None,
    "s3_endpoint_url": None,
    "logs_endpoint_url": None,
    "sqs_endpoint_url": None,
    "events_endpoint_url": None,
    "region": None,
    "profile": None,
    "local": False,
    "json": False,
    "debug": False,
}


#: (flags, argparse keywords, help) of each global option.
_GLOBAL_OPTIONS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("--endpoint-url", {"metavar": "URL"}, "Braket endpoint (default: AWS)"),
    ("--s3-endpoint-url", {"metavar": "URL"}, "S3 endpoint for results (default: AWS)"),
    ("--logs-endpoint-url", {"metavar": "URL"}, "CloudWatch Logs endpoint (default: AWS)"),
    ("--sqs-endpoint-url", {"metavar": "URL"}, "SQS endpoint for event queues (default: AWS)"),
    ("--events-endpoint-url", {"metavar": "URL"}, "EventBridge endpoint (default: AWS)"),
    ("--region", {"metavar": "NAME"}, "AWS region (default: from the profile)"),
    ("--profile", {"metavar": "NAME"}, "AWS profile"),
    (
        "--local",
        {"action": "store_true"},
        "start an embedded local Braket service for this command",
    ),
    ("--json", {"action": "store_true"}, "print JSON on stdout, for scripts"),
    ("--debug", {"action": "store_true"}, "show tracebacks on errors"),
)
#: What a sub-command's help says instead of listing the global options again.
GLOBAL_OPTIONS_EPILOG = (
    "Global options (--region, --profile, --endpoint-url, --local, --json, --debug, ...) "
    "go before or after the command: see `braket-async --help`."
)


def _global_options(*, hidden: bool) -> argparse.ArgumentParser:
    """The global options as a parent parser; ``hidden``: accepted but not in the help (a
    sub-command's help points to ``braket-async --help`` instead of repeating them)."""
    # SUPPRESS keeps a sub-command's absent option from overwriting the one given before it.
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parent if hidden else parent.add_argument_group("global options")
    for flag, keywords, text in _GLOBAL_OPTIONS:
        group.add_argument(flag, help=argparse.SUPPRESS if hidden else text, **keywords)
    return parent


def fill_global_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Give every global option its default when it was not given anywhere."""
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each leaf sets ``handler`` (and ``needs_session``)."""
    common = _global_options(hidden=True)
    parser = argparse.ArgumentParser(
        prog="braket-async",
        description="Amazon Braket from the terminal: devices, tasks, jobs, a local service.",
        parents=[_global_options(hidden=False)],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def leaf(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        text: str,
        handler: Callable[..., Any],
        *,
        needs_session: bool = True,
    ) -> argparse.ArgumentParser:
        command = group.add_parser(
            name, help=text, description=text, parents=[common], epilog=GLOBAL_OPTIONS_EPILOG
        )
        command.set_defaults(handler=handler, needs_session=needs_session)
        return command

    devices = leaf(commands, "devices", "list devices as a table", _devices.list_devices)
    devices.add_argument("--arn", action="append", metavar="ARN", help="only these devices")

    _add_task_commands(commands, leaf)
    _add_job_commands(commands, leaf)
    _add_event_commands(commands, leaf)

    local = commands.add_parser("local", help="the local Braket service")
    local_commands = local.add_subparsers(dest="local_command", metavar="COMMAND", required=True)
    serve = local_commands.add_parser(
        "serve",
        help="run the local Braket service until Ctrl-C",
        description="Run the local Braket service until Ctrl-C; the options are those of "
        "`python -m braket_async.local serve` (see --help there).",
        add_help=False,
    )
    # main() hands every token after "local serve" to the service's own parser.
    serve.set_defaults(sync_handler=_local.serve)
    env = leaf(
        local_commands,
        "env",
        "print the environment that points AWS clients at a running local service: "
        "`export` lines to eval, or --json",
        _local.env,
        needs_session=False,
    )
    env.add_argument(
        "--from",
        dest="ready",
        required=True,
        metavar="READY",
        help="the service's JSON ready line: a file `local serve > FILE` wrote, - for stdin, "
        "or the JSON itself",
    )
    env.add_argument(
        "--secret-access-key",
        default=None,
        metavar="SECRET",
        help="the service's secret (default $BRAKET_ASYNC_LOCAL_SECRET_ACCESS_KEY, else "
        "testing when the access key id is testing)",
    )

    demo = leaf(
        commands,
        "demo",
        "run hundreds of circuits on an embedded local service",
        _demo.run,
        needs_session=False,
    )
    demo.add_argument("--tasks", type=_positive, default=300, metavar="N", help="default 300")
    demo.add_argument("--shots", type=_positive, default=100, metavar="N", help="default 100")
    demo.add_argument("--qubits", type=_qubits, default=4, metavar="N", help="default 4")
    demo.add_argument("--seed", type=int, default=7, help="random-circuit seed (default 7)")
    return parser


def _add_task_commands(commands: Any, leaf: Any) -> None:
    task = commands.add_parser("task", help="submit and follow quantum tasks")
    sub = task.add_subparsers(dest="task_command", metavar="COMMAND", required=True)

    submit = leaf(sub, "submit", "submit OpenQASM 3 programs as quantum tasks", _tasks.submit)
    submit.add_argument("files", nargs="+", metavar="FILE.qasm")
    submit.add_argument("--count", type=_positive, default=1, metavar="N", help="copies of each")
    submit.add_argument("--shots", type=_non_negative, default=100, metavar="N")
    submit.add_argument("--device", default=SV1_ARN, metavar="ARN", help="default: SV1")
    submit.add_argument("--bucket", metavar="NAME", help="results bucket ($BRAKET_ASYNC_BUCKET)")
    submit.add_argument("--prefix", default="braket-async", metavar="KEY", help="results prefix")
    submit.add_argument("--wait", action="store_true", help="follow the tasks to the end")
    submit.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="with --wait")

    status = leaf(sub, "status", "show quantum tasks", _tasks.status)
    status.add_argument("arns", nargs="+", metavar="ARN")

    wait = leaf(sub, "wait", "wait until quantum tasks finish", _tasks.wait)
    wait.add_argument("arns", nargs="+", metavar="ARN")
    wait.add_argument("--timeout", type=_seconds, metavar="SECONDS")

    result = leaf(sub, "result", "show a completed task's measurement histogram", _tasks.result)
    result.add_argument("arn", metavar="ARN")
    result.add_argument("--top", type=_positive, default=16, metavar="N", help="outcomes shown")

    cancel = leaf(sub, "cancel", "cancel quantum tasks", _tasks.cancel)
    cancel.add_argument("arns", nargs="+", metavar="ARN")

    tasks = commands.add_parser("tasks", help="search quantum tasks")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", metavar="COMMAND", required=True)
    search = leaf(tasks_sub, "search", "search quantum tasks (newest first)", _tasks.search)
    search.add_argument(
        "--status", action="append", metavar="STATUS", help="repeat for several (e.g. COMPLETED)"
    )
    search.add_argument("--device", metavar="ARN")
    search.add_argument("--job", metavar="ARN", help="tasks created by this hybrid job")
    search.add_argument(
        "--since", type=_seconds, metavar="SECONDS", help="created in the last SECONDS"
    )
    search.add_argument("--limit", type=_positive, default=50, metavar="N", help="default 50")


def _add_job_commands(commands: Any, leaf: Any) -> None:
    job = commands.add_parser("job", help="hybrid jobs")
    sub = job.add_subparsers(dest="job_command", metavar="COMMAND", required=True)

    create = leaf(
        sub, "create", "upload a script or directory and start a hybrid job", _jobs.create
    )
    create.add_argument("source", metavar="PATH", help="a .py file or a directory")
    create.add_argument(
        "--entry-point",
        metavar="MODULE[:FUNCTION]",
        help="default: the file's module name (required for a directory)",
    )
    create.add_argument("--device", default=SV1_ARN, metavar="ARN", help="default: SV1")
    create.add_argument("--name", metavar="NAME", help="job name (default: generated)")
    create.add_argument(
        "--hp", action="append", default=[], metavar="KEY=VALUE", help="hyperparameter"
    )
    create.add_argument("--role", metavar="ARN", help="IAM role ($BRAKET_JOBS_ROLE_ARN)")
    create.add_argument("--bucket", metavar="NAME", help="S3 bucket ($BRAKET_ASYNC_BUCKET)")
    create.add_argument("--max-runtime", type=_positive, metavar="SECONDS")
    create.add_argument("--wait", action="store_true", help="follow the job's events to the end")
    create.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="with --wait")

    status = leaf(sub, "status", "show a hybrid job", _jobs.status)
    status.add_argument("arn", metavar="ARN")

    watch = leaf(sub, "watch", "print a job's events as they happen, until it ends", _jobs.watch)
    watch.add_argument("arn", metavar="ARN")
    watch.add_argument("--timeout", type=_seconds, metavar="SECONDS")

    logs = leaf(sub, "logs", "print a job's logs (following them while it runs)", _jobs.logs)
    logs.add_argument("arn", metavar="ARN")
    logs.add_argument("--no-follow", dest="follow", action="store_false", help="print and exit")

    result = leaf(sub, "result", "print a completed job's saved results", _jobs.result)
    result.add_argument("arn", metavar="ARN")

    cancel = leaf(sub, "cancel", "cancel a hybrid job", _jobs.cancel)
    cancel.add_argument("arn", metavar="ARN")


def _add_event_commands(commands: Any, leaf: Any) -> None:
    events = commands.add_parser("events", help="Braket state-change events via EventBridge + SQS")
    sub = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)

    setup = leaf(
        sub,
        "setup",
        "create the EventBridge rule, the SQS queue and its policy (safe to run again)",
        _events.setup,
    )
    setup.add_argument(
        "--queue", default="braket-async-events", metavar="NAME", help="default braket-async-events"
    )
    setup.add_argument("--rule", metavar="NAME", help="rule name (default: the queue's name)")

    tail = leaf(
        sub, "tail", "print events as they arrive (and delete them from the queue)", _events.tail
    )
    where = tail.add_mutually_exclusive_group()
    where.add_argument(
        "--queue", default="braket-async-events", metavar="NAME", help="default braket-async-events"
    )
    where.add_argument("--queue-url", metavar="URL", help="the queue's URL instead of its name")
    tail.add_argument("--count", type=_positive, metavar="N", help="stop after N events")
    tail.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="stop after SECONDS")


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _qubits(text: str) -> int:
    value = _integer(text)
    if not 2 <= value <= 20:
        raise argparse.ArgumentTypeError(f"must be between 2 and 20, got {value}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {value}")
    return value
