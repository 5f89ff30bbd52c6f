"""A remote in S3-compatible storage (AWS S3, MinIO, Ceph, R2, moto), through boto3.

Imported only when an ``s3://`` remote is used, so ``workbench --help`` never loads boto3.
Credentials come from boto3's own chain and are never written anywhere by the workbench.

The commit of a push is ``PutObject`` with ``If-None-Match: *`` ("create only if absent"),
which AWS S3 has honoured since 2024 and MinIO, Ceph RGW, R2 and moto do too. A server that
ignores the header would let two pushes write the same version, so ``check_writable`` probes it
before every push and refuses such a server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import InputError, Unreachable, WorkbenchError
from .backends import CHUNK, Report
from .url import RemoteURL

__all__ = ["S3Backend"]

_MULTIPART = 64 << 20
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "Forbidden"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


class S3Backend:
    """A bucket and key prefix on an S3-compatible server."""

    def __init__(self, url: RemoteURL, endpoint_url: str | None) -> None:
        import boto3
        from botocore.config import Config

        assert url.bucket is not None
        self.url = url
        self.bucket = url.bucket
        self.prefix = f"{url.prefix}/" if url.prefix else ""
        self.endpoint_url = endpoint_url
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        with self._errors():
            self.client: Any = boto3.session.Session().client(
                "s3", endpoint_url=endpoint_url, config=config
            )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"{self.url}{where}"

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """boto3's exceptions as one clear line each."""
        import botocore.exceptions as bex

        try:
            yield
        except (bex.NoCredentialsError, bex.PartialCredentialsError) as exc:
            raise InputError(
                f"no AWS credentials for {self.describe()}: {exc}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            ) from None
        except (
            bex.EndpointConnectionError,
            bex.ConnectTimeoutError,
            bex.ReadTimeoutError,
            bex.ConnectionClosedError,
        ) as exc:
            raise Unreachable(
                f"cannot reach {self.describe()}: {_first_line(exc)}",
                hint="check the endpoint URL and the network, then try again",
            ) from None
        except bex.ClientError as exc:
            code = _code(exc)
            if code == "NoSuchBucket":
                raise InputError(
                    f"bucket {self.bucket!r} does not exist ({self.describe()})"
                ) from None
            if code in _DENIED:
                raise InputError(
                    f"access denied to {self.describe()} ({code})",
                    hint="check the AWS credentials and the bucket policy",
                ) from None
            message = exc.response.get("Error", {}).get("Message") or str(exc)
            where = f" for {key}" if key else ""
            raise WorkbenchError(
                f"S3 error{where} at {self.describe()}: {code}: {message}"
            ) from None
        except bex.BotoCoreError as exc:
            raise WorkbenchError(f"S3 error at {self.describe()}: {_first_line(exc)}") from None

    def _key(self, key: str) -> str:
        return self.prefix + key

    def get_bytes(self, key: str) -> bytes | None:
        import botocore.exceptions as bex

        with self._errors(key):
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except bex.ClientError as exc:
                if _code(exc) in _MISSING:
                    return None
                raise
            return answer["Body"].read()

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def create(self, key: str, data: bytes) -> bool:
        import botocore.exceptions as bex

        with self._errors(key):
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
                )
            except bex.ClientError as exc:
                if _code(exc) in _PRECONDITION:
                    return False
                raise
        return True

    def list(self, prefix: str) -> list[str]:
        start = self._key(prefix)
        keys = []
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                keys += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(keys)

    def upload(self, key: str, path: Path, report: Report) -> None:
        from boto3.s3.transfer import TransferConfig

        # One thread per object: the service runs several objects side by side, and a
        # callback that raises (Ctrl-C) stops this transfer; an unfinished multipart upload
        # is aborted by s3transfer and never becomes visible.
        config = TransferConfig(
            multipart_threshold=_MULTIPART, multipart_chunksize=_MULTIPART, use_threads=False
        )
        with self._errors(key):
            self.client.upload_file(
                str(path), self.bucket, self._key(key), Callback=report, Config=config
            )

    def download(self, key: str, dest: Path, report: Report) -> None:
        import botocore.exceptions as bex

        with self._errors(key):
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except bex.ClientError as exc:
                if _code(exc) in _MISSING:
                    raise WorkbenchError(
                        f"the remote {self.describe()} lacks {key} (damaged remote)"
                    ) from None
                raise
            body = answer["Body"]
            with open(dest, "wb") as out:
                for chunk in body.iter_chunks(CHUNK):
                    out.write(chunk)
                    report(len(chunk))

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def check_writable(self) -> None:
        probe = f"probes/{uuid.uuid4().hex}"
        if not self.create(probe, b"probe"):
            raise WorkbenchError(f"S3 probe {probe} exists already at {self.describe()}")
        try:
            honoured = not self.create(probe, b"probe again")
        finally:
            try:
                self.delete(probe)
            except WorkbenchError:
                pass  # a probe left behind is a few bytes; delete may not be allowed
        if not honoured:
            raise WorkbenchError(
                f"the S3 server at {self.describe()} ignores conditional writes "
                "(If-None-Match); two pushes there could overwrite each other",
                hint="use a server that supports them (AWS S3, MinIO, Ceph RGW, R2)",
            )


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
