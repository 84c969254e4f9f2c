"""ECR for Braket's built-in job images: ``BatchGetImage`` and ``DescribeImages``.

The Braket SDK checks a hybrid job's image before it creates the job (``@hybrid_job`` and
``AwsQuantumJob.create`` without ``image_uri``): ``AwsSession.get_full_image_tag`` calls
``BatchGetImage`` for the image's ``latest`` tag, then again for that digest, and reads the
Python version from the tag that carries one (``-py312-``), which must match the caller's.
The repositories are the SDK's ``braket/jobs/image_uri_config/*.json``: registry
``292282985366``, ``amazon-braket-{base,pytorch,tensorflow,cudaq}-jobs``.

Here each repository holds one image with two tags, ``latest`` and a versioned tag in the real
naming (``1.0-cpu-py312-ubuntu22.04`` for the base image), whose Python version is that of the
interpreter that runs the service's jobs (asked once, on the first request). Jobs run on that
interpreter whatever image they name.

Served on the Braket port (``AWS_ENDPOINT_URL_ECR`` names it): ``POST /`` with
``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`` (AWS JSON 1.1), SigV4-signed
for the service ``ecr`` with the service's credentials, no web browsers; anything else is
refused as ECR refuses it (4xx, ``__type`` + ``message``). See ``docs/jobs.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
from aiohttp import web

from .._errors import RequestTooLarge, Serialization
from ..guards._body import parse_json_object, read_body
from ..guards._guard import AUTH_ERRORS, bound_host, browser_refusal
from ..guards._sigv4 import AuthFailure, Received, SigV4Verifier, header_lookup

__all__ = [
    "BRAKET_REGISTRY",
    "ECR_TARGET_PREFIX",
    "EcrService",
    "JobImages",
    "python_version_of",
]

#: The account whose registry holds Braket's job images (the SDK's image_uri_config).
BRAKET_REGISTRY = "292282985366"
ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
_PUSHED_AT = datetime(2026, 11, 1, tzinfo=UTC).timestamp()

#: repository -> versioned tag, ``{py}`` the interpreter's ``{major}{minor}``. The shapes are
#: those of Braket's published tags (``1.0-cpu-py39-ubuntu22.04``,
#: ``1.9.1-gpu-py38-cu111-ubuntu20.04``): framework version, cpu/gpu, Python, CUDA, OS.
_REPOSITORIES = {
    "amazon-braket-base-jobs": "1.0-cpu-py{py}-ubuntu22.04",
    "amazon-braket-pytorch-jobs": "2.4.0-gpu-py{py}-cu124-ubuntu22.04",
    "amazon-braket-tensorflow-jobs": "2.16.1-gpu-py{py}-cu123-ubuntu22.04",
    "amazon-braket-cudaq-jobs": "0.9.1-gpu-py{py}-cu12-ubuntu22.04",
}


class _EcrError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


async def python_version_of(python: str) -> tuple[int, int]:
    """``(major, minor)`` of the interpreter ``python`` (this one: no subprocess)."""
    if python == sys.executable:
        return sys.version_info[0], sys.version_info[1]
    proc = await asyncio.create_subprocess_exec(
        python,
        "-c",
        "import sys; print(*sys.version_info[:2])",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    major, minor = out.split()
    return int(major), int(minor)


@attrs.frozen
class _Image:
    repository: str
    tags: tuple[str, ...]
    digest: str
    manifest: str


class JobImages:
    """The job images, tagged for the Python of ``python()`` (the job interpreter's path,
    read on the first request)."""

    def __init__(self, python: Callable[[], str]) -> None:
        self._python = python
        self._images: dict[str, _Image] | None = None
        self._lock = asyncio.Lock()

    async def images(self) -> dict[str, _Image]:
        """repository name -> its image."""
        async with self._lock:
            if self._images is None:
                major, minor = await python_version_of(self._python())
                self._images = {
                    name: _image(name, tag.format(py=f"{major}{minor}"))
                    for name, tag in _REPOSITORIES.items()
                }
            return self._images


def _image(repository: str, tag: str) -> _Image:
    config = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": _MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 0,
                "digest": f"sha256:{config}",
            },
            "layers": [],
        },
        separators=(",", ":"),
    )
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    return _Image(repository, ("latest", tag), digest, manifest)


def _string(params: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _EcrError(
                "InvalidParameterException",
                f"1 validation error detected: Value null at '{name}' failed to satisfy "
                "constraint: Member must not be null",
            )
        return None
    if not isinstance(value, str) or not value or len(value) > 256:
        raise _EcrError(
            "InvalidParameterException",
            f"Invalid parameter at '{name}' failed to satisfy constraint: 'must be a string "
            "of 1 to 256 characters'",
        )
    return value


def _image_ids(params: dict[str, Any], *, required: bool) -> list[dict[str, str]] | None:
    ids = params.get("imageIds")
    if ids is None and not required:
        return None
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise _EcrError(
            "InvalidParameterException",
            "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have "
            "length between 1 and 100'",
        )
    checked = []
    for entry in ids:
        if (
            not isinstance(entry, dict)
            or set(entry) - {"imageDigest", "imageTag"}
            or not all(isinstance(v, str) for v in entry.values())
        ):
            raise _EcrError(
                "InvalidParameterException",
                "Invalid parameter at 'imageIds': each entry is an object with the strings "
                "imageDigest and/or imageTag",
            )
        checked.append({k: str(v) for k, v in entry.items()})
    return checked


class EcrService:
    """The ECR answers of the local service (see the module docstring)."""

    def __init__(self, images: JobImages, verifier: SigV4Verifier, account_id: str) -> None:
        self._images = images
        self._verifier = verifier
        self._account_id = account_id

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one ECR request (an aiohttp handler)."""
        try:
            refusal = browser_refusal(request.headers.get, bound_host(request))
            if refusal is not None:
                raise _EcrError("AccessDeniedException", refusal, 403)
            params = await self._authenticated_params(request)
            target = request.headers.get("X-Amz-Target", "")
            operation = target.removeprefix(ECR_TARGET_PREFIX)
            if operation == "BatchGetImage":
                result = await self._batch_get_image(params)
            elif operation == "DescribeImages":
                result = await self._describe_images(params)
            else:
                raise _EcrError(
                    "UnknownOperationException",
                    f"The local service's ECR answers BatchGetImage and DescribeImages only, "
                    f"not {operation[:100]!r}",
                )
        except _EcrError as err:
            return _answer({"__type": err.code, "message": err.message}, err.status, err.code)
        return _answer(result, 200, None)

    async def _authenticated_params(self, request: web.Request) -> dict[str, Any]:
        path, _, query = request.raw_path.partition("?")
        received = Received(
            method=request.method,
            path=path,
            query=query,
            header_values=header_lookup(request.headers.items()),
        )
        try:
            signed = self._verifier.check(received)
            try:
                body = await read_body(request)
            except RequestTooLarge as err:
                raise _EcrError(err.code, err.message, err.status) from None
            self._verifier.verify(received, signed, body)
        except AuthFailure as failure:
            error = AUTH_ERRORS[failure.kind]
            raise _EcrError(error.code, failure.message, error.status) from None
        try:
            return parse_json_object(body or b"{}")
        except Serialization as err:  # (depth-bounded: every byte from the network is hostile)
            raise _EcrError(err.code, err.message) from None

    async def _repository(self, params: dict[str, Any]) -> tuple[str, _Image]:
        registry = _string(params, "registryId", required=False) or self._account_id
        name = _string(params, "repositoryName", required=True)
        assert name is not None
        images = await self._images.images()
        if registry != BRAKET_REGISTRY or name not in images:
            raise _EcrError(
                "RepositoryNotFoundException",
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{registry}'",
            )
        return registry, images[name]

    async def _batch_get_image(self, params: dict[str, Any]) -> dict[str, Any]:
        ids = _image_ids(params, required=True)
        assert ids is not None
        registry, image = await self._repository(params)
        found: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for image_id in ids:
            tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
            if tag is None and digest is None:
                failures.append(_failure(image_id, "MissingDigestAndTag"))
            elif (tag is not None and tag not in image.tags) or (
                digest is not None and digest != image.digest
            ):
                code = "ImageTagDoesNotMatchDigest" if tag and digest else "ImageNotFound"
                failures.append(_failure(image_id, code))
            else:
                # By digest alone: the image once per tag, as ECR answers it.
                for each in (tag,) if tag is not None else image.tags:
                    found.append(
                        {
                            "registryId": registry,
                            "repositoryName": image.repository,
                            "imageId": {"imageDigest": image.digest, "imageTag": each},
                            "imageManifest": image.manifest,
                            "imageManifestMediaType": _MANIFEST_TYPE,
                        }
                    )
        return {"images": found, "failures": failures}

    async def _describe_images(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("nextToken") is not None:
            raise _EcrError("InvalidParameterException", "Invalid parameter at 'nextToken'")
        ids = _image_ids(params, required=False)
        registry, image = await self._repository(params)
        for image_id in ids or ():
            tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
            if (
                (tag is None and digest is None)
                or (tag is not None and tag not in image.tags)
                or (digest is not None and digest != image.digest)
            ):
                shown = ", ".join(f"{k}={v}" for k, v in sorted(image_id.items()))
                raise _EcrError(
                    "ImageNotFoundException",
                    f"The image with imageId {{{shown}}} does not exist within the repository "
                    f"with name '{image.repository}' in the registry with id '{registry}'",
                )
        detail = {
            "registryId": registry,
            "repositoryName": image.repository,
            "imageDigest": image.digest,
            "imageTags": list(image.tags),
            "imageSizeInBytes": len(image.manifest),
            "imagePushedAt": _PUSHED_AT,
            "imageManifestMediaType": _MANIFEST_TYPE,
            "artifactMediaType": "application/vnd.docker.container.image.v1+json",
        }
        return {"imageDetails": [detail]}


def _failure(image_id: dict[str, str], code: str) -> dict[str, Any]:
    reasons = {
        "MissingDigestAndTag": "Missing image digest and tag",
        "ImageNotFound": "Requested image not found",
        "ImageTagDoesNotMatchDigest": "Image tag does not match the digest",
    }
    return {"imageId": image_id, "failureCode": code, "failureReason": reasons[code]}


def _answer(doc: dict[str, Any], status: int, error: str | None) -> web.Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if error is not None:
        headers["x-amzn-ErrorType"] = error
    return web.Response(
        body=json.dumps(doc).encode(),
        status=status,
        content_type="application/x-amz-json-1.1",
        headers=headers,
    )
