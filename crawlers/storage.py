"""Where the WARC archive lives: a local folder, or S3-compatible object storage.

The warehouse names every raw page by its place in the archive, relative to the root
(`gxzf/<run_id>.warc.gz` at an offset; crawlers/archive.py: location), so the same rows read
from either kind of store:

- `LocalStore(root)`: the archive folder (the default, as before).
- `S3Store("s3://bucket/prefix", spool)`: `s3://bucket/prefix/<source>/<run_id>.warc.gz`. Crawls
  write into the local `spool` folder as they always do (resume, state and stats files, logs
  stay there); a finished run's WARC file is uploaded when its crawl is recorded, checked by
  size, and only then removed locally. An upload that fails raises ArchiveUploadFailed and
  keeps the local file, which the next crawl, ingest or process uploads again (`publish_pending`):
  nothing is lost. Reads take a file still in the spool first, else the object: one GET for a
  whole file, or a ranged GET (`bytes=offset-`) per record when only a few are wanted.

The S3 endpoint and credentials come from the standard AWS settings (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, ~/.aws/...), read by boto3.
A store is described by `spec()` (two strings), so a worker process can open the same one.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO, Iterator

from crawlers.errors import ArchiveMissing, ArchiveUnavailable, ArchiveUploadFailed

SUFFIX = ".warc.gz"
# a ranged GET costs a round trip: worth it while the records wanted are few for the file's
# size (a whole-file GET streams ~256 KiB in the time one request takes on a LAN)
RANGE_COST_BYTES = 256 * 1024


def is_remote(url: str | os.PathLike | None) -> bool:
    return isinstance(url, str) and url.startswith("s3://")


def open_store(url: str | os.PathLike, spool: str | os.PathLike | None = None) -> "LocalStore | S3Store":
    """The store an archive setting names: `s3://bucket/prefix` (crawls write into `spool`
    first), or a local folder."""
    if is_remote(url):
        if spool is None:
            raise ArchiveUnavailable(f"{url}: an S3 archive needs a local spool folder for the crawls")
        return S3Store(str(url), spool)
    if isinstance(url, str) and "://" in url:
        raise ArchiveUnavailable(f"archive {url!r}: only local folders and s3://bucket/prefix are supported")
    return LocalStore(url)


def from_spec(spec: tuple[str, str]) -> "LocalStore | S3Store":
    url, spool = spec
    return open_store(url, spool)


def finished_files(folder: Path) -> list[Path]:
    """WARC files of finished runs under a local archive folder: those with a stats file beside
    them (a run without one is still crawling, or was killed and will be resumed)."""
    out = []
    for p in sorted(Path(folder).rglob("*" + SUFFIX)):
        if p.with_name(p.name[:-len(SUFFIX)] + ".stats.json").exists():
            out.append(p)
    return out


class LocalStore:
    """The archive as a local folder (the default)."""

    remote = False

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.local = self.root
        self.url = str(root)

    def spec(self) -> tuple[str, str]:
        return (str(self.root), str(self.root))

    def path(self, loc: str) -> Path:
        from crawlers.archive import resolve
        return resolve(loc, self.root)

    def locations(self) -> list[str]:
        from crawlers.archive import archive_files, location
        return [location(p, self.root) for p in archive_files(self.root)]

    def exists(self, loc: str) -> bool:
        return self.path(loc).exists()

    def size(self, loc: str) -> int | None:
        p = self.path(loc)
        return p.stat().st_size if p.exists() else None

    @contextlib.contextmanager
    def open(self, loc: str, offset: int = 0) -> Iterator[BinaryIO]:
        p = self.path(loc)
        try:
            fh = open(p, "rb")
        except FileNotFoundError as exc:
            raise ArchiveMissing(f"{loc}: archive file missing under {self.root}") from exc
        with fh:
            if offset:
                fh.seek(offset)
            yield fh

    def ranged(self, loc: str, wanted: int) -> bool:
        """Whether reading `wanted` records one by one beats reading the whole file: never for a
        local file (a sequential read is what reading them all costs anyway)."""
        return False

    def publish(self, loc: str) -> bool:
        return False

    def publish_pending(self, progress=None) -> list[str]:
        return []

    def describe(self, loc: str) -> str:
        return str(self.path(loc))


class S3Store:
    """The archive on S3-compatible object storage, with a local spool for crawls in progress."""

    remote = True

    def __init__(self, url: str, spool: str | os.PathLike):
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ArchiveUnavailable(f"archive {url!r}: no bucket (want s3://bucket/prefix)")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.local = Path(spool)
        self._client = None

    def spec(self) -> tuple[str, str]:
        return (self.url, str(self.local))

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config
            cfg = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
            self._client = boto3.session.Session().client("s3", config=cfg)
        return self._client

    def key(self, loc: str) -> str:
        loc = loc.lstrip("/")
        return f"{self.prefix}/{loc}" if self.prefix else loc

    def _spooled(self, loc: str) -> Path | None:
        """The local copy of a location still in the spool (not uploaded yet), if any."""
        p = Path(loc)
        if p.is_absolute():
            return p if p.exists() else None
        p = self.local / loc
        return p if p.exists() else None

    def _error(self, what: str, exc: Exception) -> ArchiveUnavailable:
        return ArchiveUnavailable(f"cannot {what} in the archive {self.url}: {_reason(exc)}")

    def locations(self) -> list[str]:
        """Every WARC file: the objects under the prefix, and finished runs still in the spool."""
        found = set()
        start = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for obj in page.get("Contents", ()):
                    if obj["Key"].endswith(SUFFIX):
                        found.add(obj["Key"][len(start):])
        except Exception as exc:
            raise self._error("list the WARC files", exc) from exc
        found.update(p.relative_to(self.local).as_posix() for p in finished_files(self.local))
        return sorted(found)

    def size(self, loc: str) -> int | None:
        local = self._spooled(loc)
        if local is not None:
            return local.stat().st_size
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key(loc))["ContentLength"])
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise self._error(f"look up {loc}", exc) from exc

    def exists(self, loc: str) -> bool:
        return self.size(loc) is not None

    @contextlib.contextmanager
    def open(self, loc: str, offset: int = 0) -> Iterator[BinaryIO]:
        """The file from `offset` on, as a stream (a ranged GET when offset > 0)."""
        local = self._spooled(loc)
        if local is not None:
            with open(local, "rb") as fh:
                fh.seek(offset)
                yield fh
            return
        args = {"Bucket": self.bucket, "Key": self.key(loc)}
        if offset:
            args["Range"] = f"bytes={offset}-"
        try:
            body = self.client.get_object(**args)["Body"]
        except Exception as exc:
            if _status(exc) in (404, 416):
                raise ArchiveMissing(f"{loc}: not in the archive {self.url}") from exc
            raise self._error(f"read {loc}", exc) from exc
        try:
            yield _Stream(body, self, loc)
        finally:
            body.close()

    def ranged(self, loc: str, wanted: int) -> bool:
        size = self.size(loc)
        return self._spooled(loc) is None and size is not None and wanted * RANGE_COST_BYTES < size

    def publish(self, loc: str) -> bool:
        """Upload a finished run's WARC file from the spool, check it, then remove the local
        copy; False when there is no local copy (uploaded already). ArchiveUploadFailed keeps it."""
        path = self.local / loc
        if not path.exists():
            return False
        key = self.key(loc)
        size = path.stat().st_size
        try:
            self.client.upload_file(str(path), self.bucket, key)
            stored = int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except Exception as exc:
            raise ArchiveUploadFailed(
                f"cannot upload {path} to s3://{self.bucket}/{key}: {_reason(exc)}; the local copy is kept "
                "and the next crawl, ingest or process uploads it again") from exc
        if stored != size:
            raise ArchiveUploadFailed(f"upload of {path} to s3://{self.bucket}/{key} stored {stored} of {size} "
                                      "bytes; the local copy is kept and is uploaded again next time")
        path.unlink()
        return True

    def publish_pending(self, progress=None) -> list[str]:
        """Upload every finished run's WARC file still in the spool (an upload that failed
        before); the locations uploaded."""
        done = []
        for p in finished_files(self.local):
            loc = p.relative_to(self.local).as_posix()
            if self.publish(loc):
                done.append(loc)
                if progress:
                    progress(f"uploaded {loc} to {self.url}")
        return done

    def describe(self, loc: str) -> str:
        local = self._spooled(loc)
        return str(local) if local is not None else f"s3://{self.bucket}/{self.key(loc)}"


class _Stream:
    """A GET's body as a file for warcio, with errors mid-read named (a store gone mid-file)."""

    def __init__(self, body, store: S3Store, loc: str):
        self._body, self._store, self._loc = body, store, loc

    def read(self, n: int = -1) -> bytes:
        try:
            return self._body.read(None if n is None or n < 0 else n)
        except Exception as exc:
            raise self._store._error(f"read {self._loc}", exc) from exc

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._body.close()


def _status(exc: Exception) -> int | None:
    resp = getattr(exc, "response", None) or {}
    code = (resp.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code is None and (resp.get("Error") or {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
        return 404
    return code


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
