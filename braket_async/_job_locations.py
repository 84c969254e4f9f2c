"""Where a hybrid job's pieces live: S3 URIs, its results archive, its CloudWatch Logs streams.

A leaf module (standard library only) shared by the client (:mod:`braket_async.jobs`) and the
local service (:mod:`braket_async.local`), so that both follow the same layout (see
``docs/jobs.md``) without the service importing the client's features.
"""

from __future__ import annotations

import re

__all__ = [
    "JOB_LOG_GROUP",
    "S3_URI",
    "job_log_stream_prefix",
    "job_results_location",
    "parse_s3_uri",
]

JOB_LOG_GROUP = "/aws/braket/jobs"
"""CloudWatch Logs group every hybrid job writes to."""
#: ``s3://bucket/key``: group 1 the bucket, group 2 the key (possibly empty).
S3_URI = re.compile(r"^[sS]3://([^/]+)/?(.*)$")
_HTTPS_S3_URI = re.compile(r"^https://([^./]+)\.[sS]3[.-][^/]*/?(.*)$")


def job_log_stream_prefix(job_name: str, job_arn: str) -> str:
    """The prefix of a job's log streams (the Braket SDK's rule).

    ARNs ending in a UUID log under ``{jobName}/{uuid}``, ARNs ending in the job name under
    ``{jobName}``.

    Args:
        job_name: The job's name.
        job_arn: The job's ARN.

    Returns:
        The prefix.
    """
    return job_name if job_arn.endswith(job_name) else f"{job_name}/{job_arn.split('/')[-1]}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` (or the virtual-hosted ``https://bucket.s3...`` form) ->
    ``(bucket, key)``; ValueError for anything else.

    Args:
        uri: The URI.

    Returns:
        The bucket and the key (possibly empty).

    Raises:
        ValueError: ``uri`` is not an S3 URI.
    """
    match = S3_URI.match(uri) or _HTTPS_S3_URI.match(uri)
    if match is None:
        raise ValueError(f"not an S3 URI: {uri!r} (expected s3://bucket/key)")
    return match.group(1), match.group(2)


def job_results_location(output_s3_path: str) -> tuple[str, str]:
    """``(bucket, key)`` of a job's results archive, ``{s3Path}/output/model.tar.gz`` -- where
    the service puts it and the Braket SDK reads it.

    Args:
        output_s3_path: The job's ``outputDataConfig.s3Path``.

    Returns:
        The bucket and key.

    Raises:
        ValueError: ``output_s3_path`` is not an S3 URI.
    """
    bucket, prefix = parse_s3_uri(output_s3_path)
    prefix = prefix.rstrip("/")
    return bucket, f"{prefix}/output/model.tar.gz" if prefix else "output/model.tar.gz"
