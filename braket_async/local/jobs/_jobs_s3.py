"""S3 transfers of a job run: script, input channels, checkpoints, results archive.

Every function takes an aiobotocore S3 client; file-system work runs in threads so the event
loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "ChannelEmpty",
    "download_channel",
    "download_prefix",
    "get_bytes",
    "list_keys",
    "pack_directory",
    "unpack_script",
    "upload_directory",
]


class ChannelEmpty(Exception):
    """An input channel's S3 prefix matched no object."""


async def get_bytes(s3: Any, bucket: str, key: str) -> bytes:
    """The whole body of one object."""
    response = await s3.get_object(Bucket=bucket, Key=key)
    async with response["Body"] as body:
        data: bytes = await body.read()
    return data


async def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (all pages)."""
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", ()))
    return keys


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _is_directory(prefix: str, keys: list[str]) -> bool:
    return prefix.endswith("/") or all(key.startswith(f"{prefix}/") for key in keys)


def _safe_relative(key: str, top: str) -> PurePosixPath:
    relative = PurePosixPath(key).relative_to(top) if top not in ("", ".") else PurePosixPath(key)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"S3 key {key!r} would be written outside its folder")
    return relative


async def download_channel(s3: Any, bucket: str, prefix: str, dest: Path) -> int:
    """Download an input channel into ``dest``, as the Braket SDK's local jobs do.

    A prefix naming a folder (ends with ``/`` or every key lies under ``prefix/``) has that
    folder's contents copied into ``dest``; otherwise every matching object keeps its path
    relative to the prefix's parent. Returns the number of files; raises :class:`ChannelEmpty`
    when nothing matched.
    """
    keys = await list_keys(s3, bucket, prefix)
    top = prefix if _is_directory(prefix, keys) else str(PurePosixPath(prefix).parent)
    count = 0
    for key in keys:
        if key.endswith("/"):
            continue
        target = dest.joinpath(*_safe_relative(key, top).parts)
        await asyncio.to_thread(_write, target, await get_bytes(s3, bucket, key))
        count += 1
    if not count:
        raise ChannelEmpty(f"No S3 objects found under S3 URL s3://{bucket}/{prefix}")
    return count


async def download_prefix(s3: Any, bucket: str, prefix: str, dest: Path) -> int:
    """Download every object under ``prefix`` into ``dest`` (paths relative to the prefix)."""
    folder = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
    count = 0
    for key in await list_keys(s3, bucket, folder):
        if key.endswith("/"):
            continue
        target = dest.joinpath(*_safe_relative(key, folder.rstrip("/")).parts)
        await asyncio.to_thread(_write, target, await get_bytes(s3, bucket, key))
        count += 1
    return count


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def upload_directory(s3: Any, source: Path, bucket: str, prefix: str) -> int:
    """Upload every file under ``source`` to ``prefix/<relative path>``; returns the count."""
    prefix = prefix.rstrip("/")
    count = 0
    for path in await asyncio.to_thread(_files, source):
        relative = path.relative_to(source).as_posix()
        key = f"{prefix}/{relative}" if prefix else relative
        data = await asyncio.to_thread(path.read_bytes)
        await s3.put_object(Bucket=bucket, Key=key, Body=data)
        count += 1
    return count


def pack_directory(source: Path) -> bytes:
    """A gzip tarball of ``source``'s contents, members relative to it (blocking)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in _files(source):
            archive.add(path, arcname=path.relative_to(source).as_posix())
    return buffer.getvalue()


def unpack_script(archive: Path, compression_type: str, dest: Path) -> None:
    """Put the downloaded script into ``dest``: unpack a GZIP archive, copy a plain file
    (blocking)."""
    if compression_type.upper() == "GZIP":
        with tarfile.open(archive, mode="r:*") as tar:
            tar.extractall(dest, filter="data")
    else:
        shutil.copy(archive, dest / archive.name)
