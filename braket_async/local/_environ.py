"""The environment that points any AWS client at a local Braket service.

botocore (hence boto3, aiobotocore, the AWS CLI and the Braket SDK) reads a per-service
endpoint from ``AWS_ENDPOINT_URL_<ID>``, where ``<ID>`` is the client's hyphenated service id
with ``-`` turned into ``_`` and upper-cased (``logs`` -> ``CLOUDWATCH_LOGS``, ``events`` ->
``EVENTBRIDGE``; botocore ``configprovider._get_snake_case_service_id``). Braket goes to the
Braket port; every other service goes to the AWS port (the embedded moto server dispatches on
the credential scope of each signed request). ECR (the job images) and the SDK's price list
(``BRAKET_PRICE_OFFERS_URL``) are on the Braket port. See ``docs/testing.md``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from .aws._price_list import PRICE_LIST_PATH

__all__ = [
    "AWS_PORT_SERVICES",
    "CONFLICTING_VARIABLES",
    "ECR_VARIABLE",
    "JOBS_ROLE_NAME",
    "PRICE_LIST_VARIABLE",
    "environ_for",
    "environ_from_ready_line",
    "format_exports",
    "prepare_sdk_defaults",
    "sdk_default_bucket",
]

#: botocore client name -> its endpoint variable, for the services served on the AWS port:
#: what the Braket SDK calls (S3 for sources and results, STS for the account of its default
#: bucket, IAM for the default jobs role, CloudWatch Logs for job logs and metrics) and the
#: services of the event features (EventBridge, SQS), plus CloudWatch metrics.
AWS_PORT_SERVICES: Mapping[str, str] = {
    "s3": "AWS_ENDPOINT_URL_S3",
    "sts": "AWS_ENDPOINT_URL_STS",
    "iam": "AWS_ENDPOINT_URL_IAM",
    "logs": "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "cloudwatch": "AWS_ENDPOINT_URL_CLOUDWATCH",
    "events": "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "sqs": "AWS_ENDPOINT_URL_SQS",
}
BRAKET_VARIABLE = "AWS_ENDPOINT_URL_BRAKET"
#: Served on the Braket port too: ECR for the SDK's job-image check (``_ecr``) and the price
#: list the SDK's cost ``Tracker`` downloads (``_price_list``; not a botocore variable).
ECR_VARIABLE = "AWS_ENDPOINT_URL_ECR"
PRICE_LIST_VARIABLE = "BRAKET_PRICE_OFFERS_URL"

CONFLICTING_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "BRAKET_JOBS_ROLE_ARN",
)
"""Variables that would take the clients elsewhere or sign with something else: unset them
together with applying :func:`environ_for` (a profile that does not exist makes
``boto3.Session()`` fail; a session token would be sent with the local credentials)."""

#: The role the Braket console creates; the SDK's ``AwsSession.get_default_jobs_role`` takes
#: the first role under ``/service-role/`` whose name starts with it.
JOBS_ROLE_NAME = "AmazonBraketJobsExecutionRole"
_JOBS_ROLE_PATH = "/service-role/"
_JOBS_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "braket.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def environ_for(
    *,
    endpoint_url: str,
    aws_endpoint_url: str,
    region: str,
    credentials: tuple[str, str],
) -> dict[str, str]:
    """Every variable an AWS client needs to use the service (see the module docstring)."""
    env = {
        BRAKET_VARIABLE: endpoint_url,
        ECR_VARIABLE: endpoint_url,
        PRICE_LIST_VARIABLE: endpoint_url + PRICE_LIST_PATH,
    }
    env.update({name: aws_endpoint_url for name in AWS_PORT_SERVICES.values()})
    env.update(
        {
            "AWS_ACCESS_KEY_ID": credentials[0],
            "AWS_SECRET_ACCESS_KEY": credentials[1],
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            # no instance-metadata probes (seconds of timeouts off EC2)
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def environ_from_ready_line(info: Mapping[str, Any], secret_access_key: str) -> dict[str, str]:
    """:func:`environ_for` from the JSON ready line of ``serve`` (``endpoint_url``,
    ``s3_endpoint_url``, ``region``, ``access_key_id``). ``ValueError`` names a missing or
    wrong field."""
    fields = {}
    for name in ("endpoint_url", "s3_endpoint_url", "region", "access_key_id"):
        value = info.get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"ready line: {name!r} must be a non-empty string, got {value!r}")
        fields[name] = value
    return environ_for(
        endpoint_url=fields["endpoint_url"],
        aws_endpoint_url=fields["s3_endpoint_url"],
        region=fields["region"],
        credentials=(fields["access_key_id"], secret_access_key),
    )


def format_exports(env: Mapping[str, str], *, as_json: bool = False) -> str:
    """POSIX-shell ``unset`` + ``export`` lines (``eval "$(...)"``), or a JSON object."""
    if as_json:
        return json.dumps(dict(env), indent=2, sort_keys=True) + "\n"
    lines = [f"unset {' '.join(CONFLICTING_VARIABLES)}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def sdk_default_bucket(region: str, account_id: str) -> str:
    """The SDK's default bucket name (``AwsSession.default_bucket``)."""
    return f"amazon-braket-{region}-{account_id}"


async def prepare_sdk_defaults(
    endpoint_url: str, region: str, credentials: tuple[str, str]
) -> tuple[str, str]:
    """Create what the SDK's ``AwsQuantumJob.create`` looks up on the AWS port: the default
    jobs role (IAM) and the default bucket ``amazon-braket-{region}-{account}`` (account from
    STS, as the SDK asks). Existing ones are kept. Returns ``(role ARN, bucket)``."""
    session = get_session()
    kwargs: dict[str, Any] = {
        "region_name": region,
        "endpoint_url": endpoint_url,
        "aws_access_key_id": credentials[0],
        "aws_secret_access_key": credentials[1],
    }
    async with session.create_client("sts", **kwargs) as sts:
        account = (await sts.get_caller_identity())["Account"]
    async with session.create_client("iam", **kwargs) as iam:
        try:
            role = await iam.create_role(
                Path=_JOBS_ROLE_PATH,
                RoleName=JOBS_ROLE_NAME,
                AssumeRolePolicyDocument=json.dumps(_JOBS_TRUST_POLICY),
                Description="default Amazon Braket jobs role of the local service",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
                raise
            role = await iam.get_role(RoleName=JOBS_ROLE_NAME)
    return str(role["Role"]["Arn"]), sdk_default_bucket(region, str(account))
