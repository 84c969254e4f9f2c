"""ECR for Braket's job images: what the Braket SDK's job-image check asks, answered as ECR
answers it, to signed callers only."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from braket_async.local import LocalBraket
from braket_async.local.aws._ecr import BRAKET_REGISTRY, JobImages, python_version_of

from .._helpers import SignedHttp

TARGET = "AmazonEC2ContainerRegistry_V20150921."
AMZ_JSON = "application/x-amz-json-1.1"
PY = f"py{sys.version_info[0]}{sys.version_info[1]}"
REPOSITORIES = (
    "amazon-braket-base-jobs",
    "amazon-braket-pytorch-jobs",
    "amazon-braket-tensorflow-jobs",
    "amazon-braket-cudaq-jobs",
)


def _ecr(env: dict[str, str]) -> Any:
    return boto3.Session().client("ecr", region_name=env["AWS_REGION"])


async def test_batch_get_image_by_tag_then_by_digest(local_env: dict[str, str]) -> None:
    """The SDK's two calls (``AwsSession.get_full_image_tag``), through boto3 unmodified."""
    ecr = _ecr(local_env)
    for repository in REPOSITORIES:
        latest = await asyncio.to_thread(
            ecr.batch_get_image,
            registryId=BRAKET_REGISTRY,
            repositoryName=repository,
            imageIds=[{"imageTag": "latest"}],
        )
        assert latest["failures"] == []
        digest = latest["images"][0]["imageId"]["imageDigest"]
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
        same = await asyncio.to_thread(
            ecr.batch_get_image,
            registryId=BRAKET_REGISTRY,
            repositoryName=repository,
            imageIds=[{"imageDigest": digest}],
        )
        tags = [image["imageId"]["imageTag"] for image in same["images"]]
        assert tags[0] == "latest" and len(tags) == 2
        # the versioned tag names the Python of the interpreter that runs jobs
        assert re.fullmatch(rf"[0-9.]+-(cpu|gpu)-{PY}-(cu\d+-)?ubuntu22\.04", tags[1]), tags
        assert {image["imageId"]["imageDigest"] for image in same["images"]} == {digest}


async def test_sdk_reads_the_python_version_of_every_built_in_image(
    local_env: dict[str, str],
) -> None:
    def full_tags() -> dict[str, str]:
        from braket.aws import AwsSession
        from braket.jobs.image_uris import Framework, retrieve_image

        session = AwsSession()
        return {
            str(f): session.get_full_image_tag(retrieve_image(f, session.region)) for f in Framework
        }

    tags = await asyncio.to_thread(full_tags)
    assert set(tags) == {"BASE", "PL_TENSORFLOW", "PL_PYTORCH", "CUDAQ"}
    assert all(f"-{PY}-" in tag for tag in tags.values()), tags
    assert tags["BASE"] == f"1.0-cpu-{PY}-ubuntu22.04"


async def test_describe_images(local_env: dict[str, str]) -> None:
    ecr = _ecr(local_env)
    answer = await asyncio.to_thread(
        ecr.describe_images,
        registryId=BRAKET_REGISTRY,
        repositoryName="amazon-braket-base-jobs",
        imageIds=[{"imageTag": "latest"}],
    )
    (detail,) = answer["imageDetails"]
    assert detail["imageTags"] == ["latest", f"1.0-cpu-{PY}-ubuntu22.04"]
    assert detail["repositoryName"] == "amazon-braket-base-jobs"
    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(
            ecr.describe_images,
            registryId=BRAKET_REGISTRY,
            repositoryName="amazon-braket-base-jobs",
            imageIds=[{"imageTag": "no-such-tag"}],
        )
    assert raised.value.response["Error"]["Code"] == "ImageNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("registry", "repository"),
    [
        (BRAKET_REGISTRY, "amazon-braket-nosuch-jobs"),
        ("123456789012", "amazon-braket-base-jobs"),  # the caller's own registry has none
    ],
)
async def test_unknown_repository_is_repository_not_found(
    local_env: dict[str, str], registry: str, repository: str
) -> None:
    ecr = _ecr(local_env)
    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(
            ecr.batch_get_image,
            registryId=registry,
            repositoryName=repository,
            imageIds=[{"imageTag": "latest"}],
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "RepositoryNotFoundException"
    assert repository in error["Message"] and registry in error["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


async def test_unknown_images_are_failures(local_env: dict[str, str]) -> None:
    ecr = _ecr(local_env)
    answer = await asyncio.to_thread(
        ecr.batch_get_image,
        registryId=BRAKET_REGISTRY,
        repositoryName="amazon-braket-base-jobs",
        imageIds=[{"imageTag": "nope"}, {"imageDigest": "sha256:" + "0" * 64}],
    )
    assert answer["images"] == []
    assert [f["failureCode"] for f in answer["failures"]] == ["ImageNotFound", "ImageNotFound"]


async def _post(http: SignedHttp, local: LocalBraket, body: bytes, **options: Any) -> Any:
    headers = {"X-Amz-Target": TARGET + "BatchGetImage", **options.pop("headers", {})}
    async with http.request(
        "POST", local.endpoint_url + "/", data=body, content_type=AMZ_JSON, headers=headers,
        **options,
    ) as response:  # fmt: skip
        return response.status, response.headers.get("x-amzn-ErrorType"), await response.json(
            content_type=None
        )


BODY = (
    b'{"registryId":"292282985366","repositoryName":"amazon-braket-base-jobs",'
    b'"imageIds":[{"imageTag":"latest"}]}'
)


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"sign": False}, "MissingAuthenticationTokenException"),
        ({"credentials": ("testing", "wrong")}, "InvalidSignatureException"),
        ({"credentials": ("someone-else", "testing")}, "UnrecognizedClientException"),
        ({"service": "braket"}, "InvalidSignatureException"),  # scoped to another service
        ({"headers": {"Origin": "https://example.com"}}, "AccessDeniedException"),
    ],
)
async def test_ecr_refuses_unsigned_and_foreign_callers(
    local_braket: LocalBraket, http: SignedHttp, options: dict[str, Any], code: str
) -> None:
    if "service" not in options and options.get("sign", True):
        options.setdefault("service", "ecr")
    status, error, body = await _post(http, local_braket, BODY, **options)
    assert (status, error, body["__type"]) == (403, code, code)
    assert "images" not in body


async def test_signed_request_and_bad_bodies(local_braket: LocalBraket, http: SignedHttp) -> None:
    status, _, body = await _post(http, local_braket, BODY, service="ecr")
    assert status == 200 and body["images"][0]["imageId"]["imageTag"] == "latest"
    for bad, code in (
        (b"[1]", "SerializationException"),
        (b"{nope", "SerializationException"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "SerializationException"),  # deeper than 64
        (b'{"repositoryName": 3, "imageIds": [{"imageTag": "x"}]}', "InvalidParameterException"),
        (b'{"repositoryName": "amazon-braket-base-jobs"}', "InvalidParameterException"),
        (
            b'{"registryId":"292282985366","repositoryName":"amazon-braket-base-jobs",'
            b'"imageIds":[{"imageTag":1}]}',
            "InvalidParameterException",
        ),
    ):
        status, error, body = await _post(http, local_braket, bad, service="ecr")
        assert (status, error, body["__type"]) == (400, code, code), bad
    async with http.request(
        "POST",
        local_braket.endpoint_url + "/",
        data=b"{}",
        content_type=AMZ_JSON,
        headers={"X-Amz-Target": TARGET + "DeleteRepository"},
        service="ecr",
    ) as response:
        assert response.status == 400
        assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"


async def test_images_follow_the_job_interpreter(tmp_path: Path) -> None:
    """Tagged with the version of the interpreter that runs jobs, asked once."""
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3 9\n")
    fake.chmod(0o755)
    assert await python_version_of(str(fake)) == (3, 9)
    assert await python_version_of(sys.executable) == sys.version_info[:2]
    asked: list[int] = []

    def python() -> str:
        asked.append(1)
        return str(fake)

    images = JobImages(python)
    first = await images.images()
    assert first["amazon-braket-base-jobs"].tags == ("latest", "1.0-cpu-py39-ubuntu22.04")
    assert await images.images() is first and len(asked) == 1
