"""A file store in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage...), for several nodes.

The client is boto3, the reference S3 client, maintained with the API itself; its calls
block, so they run on the store's own few threads and the event loop only awaits them
(an async client such as aiobotocore would bring aiohttp, a second HTTP stack, for the
same requests). One PUT of a whole object is atomic in S3: readers see the old object
or the new one, never a part, so nothing half-written is ever visible in the bucket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from chatserver.files.base import DEFAULT_CHUNK, FileMissing, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

T = TypeVar("T")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_READ_TRIES = 3


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _MISSING


class S3FileStore:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        prefix: str = "",
        threads: int = 8,
        create_bucket: bool = False,
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._create = create_bucket
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="s3")
        config = Config(
            region_name=region,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=threads,
        )
        self._client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=config,
        )

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key)

    async def start(self) -> None:
        def prepare() -> None:
            try:
                self._client.head_bucket(Bucket=self._bucket)
            except ClientError as error:
                if not (self._create and _missing(error)):
                    raise
                self._client.create_bucket(Bucket=self._bucket)

        await self._run(prepare)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._key(key)
        await self._run(
            lambda: self._client.put_object(
                Bucket=self._bucket, Key=name, Body=data, ContentType=content_type
            )
        )

    async def get(self, key: str) -> bytes:
        name = self._key(key)

        def read() -> bytes:
            try:
                answer = self._client.get_object(Bucket=self._bucket, Key=name)
            except ClientError as error:
                if _missing(error):
                    raise FileMissing(key) from None
                raise
            body = answer["Body"]
            try:
                return body.read()
            finally:
                body.close()

        # botocore checks the body against the object's checksum; a mismatch (a read
        # racing a write on a server weaker than S3's read-after-write) is read again.
        for _ in range(_READ_TRIES - 1):
            try:
                return await self._run(read)
            except FlexibleChecksumError:
                await asyncio.sleep(0.05)
        return await self._run(read)

    async def stream(self, key: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        name = self._key(key)

        def open_it() -> Any:
            try:
                return self._client.get_object(Bucket=self._bucket, Key=name)["Body"]
            except ClientError as error:
                if _missing(error):
                    raise FileMissing(key) from None
                raise

        body = await self._run(open_it)
        try:
            while True:
                chunk: bytes = await self._run(lambda: body.read(chunk_size))
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        name = self._key(key)

        def head() -> int | None:
            try:
                return int(self._client.head_object(Bucket=self._bucket, Key=name)["ContentLength"])
            except ClientError as error:
                if _missing(error):
                    return None
                raise

        return await self._run(head)

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def delete(self, key: str) -> None:
        name = self._key(key)
        await self._run(lambda: self._client.delete_object(Bucket=self._bucket, Key=name))

    async def keys(self, prefix: str = "") -> list[str]:
        start = self._prefix + prefix

        def listing() -> list[str]:
            found: list[str] = []
            pages = self._client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self._bucket, Prefix=start):
                found += [item["Key"][len(self._prefix) :] for item in page.get("Contents", [])]
            return sorted(found)

        return await self._run(listing)

    async def ping(self) -> bool:
        def head() -> bool:
            try:
                self._client.head_bucket(Bucket=self._bucket)
            except (ClientError, BotoCoreError):
                return False
            return True

        return await self._run(head)

    async def close(self) -> None:
        await self._run(self._client.close)
        self._pool.shutdown(wait=False, cancel_futures=True)
