"""The lines the Braket job container's launcher writes around the job script.

The Braket job images run ``braket_container.py`` through the SageMaker training toolkit
(``ENV SAGEMAKER_PROGRAM braket_container.py``). Before the script the toolkit logs "Invoking
user script" with the training environment as JSON (``"user_entry_point":
"braket_container.py"``), the environment variables and "Invoking script with the following
command:"; after it "Reporting training SUCCESS", or an ``ExecuteUserScriptError`` when the
script exits non-zero. Its log format is ``%(asctime)s %(name)-12s %(levelname)-8s
%(message)s``. The Braket SDK's integration tests look for these lines in the job's logs
(sources in ``docs/jobs.md``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from ._jobs_env import JobLayout

__all__ = [
    "CONTAINER_SCRIPT",
    "command_line",
    "failure_lines",
    "invocation_lines",
    "success_lines",
    "training_env",
]

#: The file name the job image gives its entry script.
CONTAINER_SCRIPT = "braket_container.py"
_LOGGER = "sagemaker-training-toolkit"
_HOST = "algo-1"


def _record(level: str, message: str, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f",{int(now * 1000) % 1000:03d}"
    return f"{stamp} {_LOGGER:<12} {level:<8} {message}".split("\n")


def command_line(python: str, hyperparameters: Mapping[str, str]) -> list[str]:
    """The launcher's command: the script plus each hyperparameter as ``--name value``."""
    args = [python, CONTAINER_SCRIPT]
    for name in sorted(hyperparameters):
        args += [f"--{name}", str(hyperparameters[name])]
    return args


def training_env(
    layout: JobLayout, job_name: str, hyperparameters: Mapping[str, str], channels: list[str]
) -> dict[str, Any]:
    """The toolkit's training environment for this run (the keys that mean something locally)."""
    return {
        "additional_framework_parameters": {},
        "channel_input_dirs": {name: str(layout.input_dir / name) for name in channels},
        "current_host": _HOST,
        "framework_module": None,
        "hosts": [_HOST],
        "hyperparameters": dict(hyperparameters),
        "input_config_dir": str(layout.hyperparameters_file.parent),
        "input_data_config": {
            name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
            for name in channels
        },
        "input_dir": str(layout.input_dir.parent),
        "is_master": True,
        "job_name": job_name,
        "log_level": 20,
        "master_hostname": _HOST,
        "model_dir": str(layout.results_dir),
        "module_dir": str(layout.container_dir),
        "module_name": CONTAINER_SCRIPT.removesuffix(".py"),
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "resource_config": {"current_host": _HOST, "hosts": [_HOST]},
        "user_entry_point": CONTAINER_SCRIPT,
    }


def invocation_lines(
    command: list[str], env: Mapping[str, Any], variables: Mapping[str, str]
) -> list[str]:
    """'Invoking user script' ... 'Invoking script with the following command:' (one entry per
    line, as the log stream gets them)."""
    shown = "\n".join(f"{key}={value}" for key, value in sorted(variables.items()))
    message = (
        "Invoking user script\n\n"
        f"Training Env:\n\n{json.dumps(env, indent=4, sort_keys=True)}\n\n"
        f"Environment variables:\n\n{shown}\n\n"
        f"Invoking script with the following command:\n\n{' '.join(command)}\n\n"
    )
    return _record("INFO", message)


def success_lines() -> list[str]:
    """After the script exited 0."""
    return _record("INFO", "Reporting training SUCCESS")


def failure_lines(command: list[str], returncode: int) -> list[str]:
    """After the script exited non-zero (the toolkit's ``ExecuteUserScriptError``)."""
    message = (
        f'ExecuteUserScriptError:\nExitCode {returncode}\nErrorMessage ""\n'
        f'Command "{" ".join(command)}"'
    )
    return _record("ERROR", message)
