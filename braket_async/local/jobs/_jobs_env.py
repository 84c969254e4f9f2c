"""A hybrid job's local layout and container environment (pure functions, no I/O).

The real job container mounts ``/opt/braket``; locally every job gets a fresh directory with
the same shape::

    {root}/code/                 the script, or the unpacked source archive (working directory)
    {root}/original/             the downloaded script object as it was in S3
    {root}/input/config/hyperparameters.json
    {root}/input/data/{channel}/ one folder per input channel
    {root}/model/                AMZN_BRAKET_JOB_RESULTS_DIR, packed into model.tar.gz
    {root}/checkpoints/          AMZN_BRAKET_CHECKPOINT_DIR, synced with checkpointConfig.s3Uri
    {root}/failure               the bootstrap's failure line
    {root}/container/            braket_container.py, the job's supervisor (the image's script)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..._job_locations import parse_s3_uri
from ._jobs_bootstrap import FAILURE_FILE_ENV

__all__ = ["JobEndpoints", "JobLayout", "build_environment"]


@attrs.frozen
class JobEndpoints:
    """Where the job's AWS clients reach the local service, and with which credentials."""

    braket_endpoint_url: str
    s3_endpoint_url: str
    region: str = "us-east-1"
    aws_access_key_id: str = "testing"
    aws_secret_access_key: str = "testing"


@attrs.frozen
class JobLayout:
    """The directories of one job run (see the module docstring)."""

    root: Path

    @property
    def code_dir(self) -> Path:
        return self.root / "code"

    @property
    def original_dir(self) -> Path:
        return self.root / "original"

    @property
    def hyperparameters_file(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def input_dir(self) -> Path:
        return self.root / "input" / "data"

    @property
    def results_dir(self) -> Path:
        return self.root / "model"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def failure_file(self) -> Path:
        return self.root / "failure"

    @property
    def container_dir(self) -> Path:
        return self.root / "container"

    def create(self) -> None:
        """Make every directory (blocking: call it off the event loop)."""
        for path in (
            self.code_dir,
            self.original_dir,
            self.hyperparameters_file.parent,
            self.input_dir,
            self.results_dir,
            self.checkpoint_dir,
            self.container_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


def _inherited(environ: Mapping[str, str]) -> dict[str, str]:
    # The parent's AWS and Braket settings must not leak into the job: it talks to the local
    # service only, with the job's own settings.
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(("AWS_", "AMZN_BRAKET_", "BRAKET_"))
    }


def build_environment(
    *,
    job_name: str,
    job_token: str,
    request: Mapping[str, Any],
    layout: JobLayout,
    endpoints: JobEndpoints,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The job process's environment: the container's ``AMZN_BRAKET_*`` variables plus endpoint
    variables so boto3, the Braket SDK and braket_async in the job reach the local service.

    ``request`` is the CreateJob body (wire camelCase).
    """
    script = request["algorithmSpecification"]["scriptModeConfig"]
    out_bucket, out_prefix = parse_s3_uri(request["outputDataConfig"]["s3Path"])
    out_prefix = out_prefix.rstrip("/")
    env = _inherited(os.environ if environ is None else environ)
    env.update(
        {
            "AMZN_BRAKET_JOB_NAME": job_name,
            "AMZN_BRAKET_JOB_TOKEN": job_token,
            "AMZN_BRAKET_DEVICE_ARN": request["deviceConfig"]["device"],
            "AMZN_BRAKET_HP_FILE": str(layout.hyperparameters_file),
            "AMZN_BRAKET_INPUT_DIR": str(layout.input_dir),
            "AMZN_BRAKET_JOB_RESULTS_DIR": str(layout.results_dir),
            "AMZN_BRAKET_CHECKPOINT_DIR": str(layout.checkpoint_dir),
            "AMZN_BRAKET_OUT_S3_BUCKET": out_bucket,
            "AMZN_BRAKET_TASK_RESULTS_S3_URI": f"s3://{out_bucket}/jobs/{job_name}/tasks",
            "AMZN_BRAKET_JOB_RESULTS_S3_PATH": f"{out_prefix}/output" if out_prefix else "output",
            "AMZN_BRAKET_SCRIPT_S3_URI": script["s3Uri"],
            "AMZN_BRAKET_SCRIPT_ENTRY_POINT": script["entryPoint"],
            "AMZN_BRAKET_SCRIPT_COMPRESSION_TYPE": script.get("compressionType", "NONE"),
            FAILURE_FILE_ENV: str(layout.failure_file),
            "AWS_DEFAULT_REGION": endpoints.region,
            "AWS_REGION": endpoints.region,
            "AWS_ACCESS_KEY_ID": endpoints.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": endpoints.aws_secret_access_key,
            "AWS_ENDPOINT_URL_BRAKET": endpoints.braket_endpoint_url,
            "AWS_ENDPOINT_URL_S3": endpoints.s3_endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoints.s3_endpoint_url,
            "AWS_ENDPOINT_URL_STS": endpoints.s3_endpoint_url,
            "AWS_ENDPOINT_URL_IAM": endpoints.s3_endpoint_url,
            # logs must reach CloudWatch as they are printed, not when a buffer fills
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
