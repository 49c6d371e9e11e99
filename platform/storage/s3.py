"""S3 storage on the `minio` SDK (MinIO in docker-compose, any S3 in production)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, BinaryIO, cast
from urllib.parse import urlparse

import urllib3
from minio import Minio
from minio.error import S3Error

from heldout.platform.config import Config
from heldout.platform.errors import ConfigError, NotFound, StorageUnavailable
from heldout.platform.storage import CHUNK, Storage, check_key, register

PART_SIZE = 16 * 1024 * 1024  # multipart chunk for streams of unknown length
_MISSING = {"NoSuchKey", "NoSuchObject", "NotFound"}


class _Body:
    """A file-like wrapper over a urllib3 response that returns the connection on close."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._response.read(None if size < 0 else size)
        return data

    def close(self) -> None:
        self._response.close()
        self._response.release_conn()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _client(endpoint: str, config: Config) -> Minio:
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parsed.netloc:
        raise ConfigError(f"HELDOUT_S3_ENDPOINT={endpoint!r} is not a URL like http://host:9000")
    # Few quick retries: an outage should surface as StorageUnavailable, not a long hang.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=120),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        maxsize=10,
    )
    return Minio(
        parsed.netloc,
        access_key=config["HELDOUT_S3_ACCESS_KEY"] or None,
        secret_key=config["HELDOUT_S3_SECRET_KEY"] or None,
        secure=parsed.scheme == "https",
        region=config["HELDOUT_S3_REGION"],
        http_client=http,
    )


class S3Storage(Storage):
    name = "s3"

    def __init__(self, client: Minio, bucket: str, public: Minio | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.public = public or client

    def _call(self, what: str, key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise NotFound(f"no stored file {key!r}") from None
            raise StorageUnavailable(
                f"S3 {what} {key!r} failed: {exc.code} {exc.message}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(
                f"cannot reach S3 at {self.client._base_url.host} for {what} {key!r}: "
                f"{type(exc).__name__}. Check HELDOUT_S3_ENDPOINT and that the server runs."
            ) from None

    def put(
        self,
        key: str,
        stream: BinaryIO,
        size: int = -1,
        content_type: str = "application/octet-stream",
    ) -> int:
        check_key(key)
        counter = _Counting(stream)
        self._call(
            "upload of",
            key,
            self.client.put_object,
            self.bucket,
            key,
            counter,
            size,
            content_type=content_type,
            part_size=PART_SIZE if size < 0 else 0,
        )
        return counter.count

    def open(self, key: str) -> BinaryIO:
        response = self._call(
            "download of", check_key(key), self.client.get_object, self.bucket, key
        )
        return cast(BinaryIO, _Body(response))

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        response = self._call(
            "download of",
            check_key(key),
            self.client.get_object,
            self.bucket,
            key,
            offset=start,
            length=length,
        )
        body = _Body(response)
        try:
            while chunk := body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    def size(self, key: str) -> int:
        stat = self._call("stat of", check_key(key), self.client.stat_object, self.bucket, key)
        return int(stat.size)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete of", check_key(key), self.client.remove_object, self.bucket, key)

    def list(self, prefix: str) -> list[str]:
        objects = self._call(
            "listing of",
            prefix or "/",
            lambda: list(self.client.list_objects(self.bucket, prefix=prefix, recursive=True)),
        )
        return sorted(obj.object_name for obj in objects)

    def check(self) -> None:
        exists = self._call("bucket check of", self.bucket, self.client.bucket_exists, self.bucket)
        if not exists:
            self._call("creation of bucket", self.bucket, self.client.make_bucket, self.bucket)

    def finish_parts(
        self, upload: str, key: str, content_type: str = "application/octet-stream"
    ) -> int:
        """Compose the parts server-side (S3 copies them; no byte passes through us)."""
        from minio.commonconfig import ComposeSource

        parts = self.list(f"{check_key(upload)}/")
        if not parts:
            raise NotFound(f"no upload {upload!r}")
        self._call(
            "compose of",
            check_key(key),
            self.client.compose_object,
            self.bucket,
            key,
            [ComposeSource(self.bucket, part) for part in parts],
            metadata={"Content-Type": content_type},
        )
        self.drop_parts(upload)
        return self.size(key)

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        # Signed for the endpoint the browser reaches, which may differ from ours.
        url: str = self.public.presigned_get_object(
            self.bucket, check_key(key), expires=timedelta(seconds=expires_s)
        )
        return url


class _Counting:
    """Counts bytes as minio reads them from a stream."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


@register("s3")
def _from_config(config: Config) -> Storage:
    bucket = urlparse(config.storage_url).netloc
    endpoint = config["HELDOUT_S3_ENDPOINT"]
    public = config["HELDOUT_S3_PUBLIC_ENDPOINT"]
    return S3Storage(_client(endpoint, config), bucket, _client(public, config) if public else None)
