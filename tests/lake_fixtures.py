"""Real parts for the DuckLake tests, loopback only: Debian's PostgreSQL started in a temporary
folder on a free port (initdb + pg_ctl, as the postgres user when we are root: PostgreSQL
refuses to run as root), and moto's S3 server on 127.0.0.1. Without the PostgreSQL binaries the
tests skip with the reason (the Makefile's system-deps target installs them as root).

Use from a test module:  from tests.lake_fixtures import pg, s3, lake_url  (module-scoped)
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET = "lake"


def pg_bin() -> Path | None:
    """The folder of initdb/pg_ctl: Debian's /usr/lib/postgresql/<v>/bin, or pg_ctl's on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    ctl = shutil.which("pg_ctl")
    return Path(ctl).parent if ctl and (Path(ctl).parent / "initdb").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A running PostgreSQL on 127.0.0.1:`port`, trust authentication, superuser `postgres`."""

    def __init__(self, bindir: Path, folder: Path, port: int, as_user: list[str]):
        self.bindir, self.folder, self.port, self.as_user = bindir, folder, port, as_user

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, str(self.bindir / tool), *args], capture_output=True,
                              text=True, timeout=120, check=check)

    def createdb(self, name: str | None = None) -> str:
        name = name or "lake_" + uuid.uuid4().hex[:8]
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return name

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user=postgres"

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop", check=False)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w",
                 "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")


def start_postgres() -> Postgres:
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: `make system-deps` installs postgresql as root")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="newsflow-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    pg = Postgres(bindir, folder, free_port(), as_user)
    r = pg.run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", check=False)
    if r.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {r.stderr.strip()[-300:]}")
    pg.start()
    return pg


@pytest.fixture(scope="module")
def pg():
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1 (port 0), the bucket, and the AWS_* environment pointing at
    it (set in os.environ for in-process reads, and given whole for subprocesses)."""
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {**AWS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import boto3
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield {"endpoint": env["AWS_ENDPOINT_URL"], "env": {**os.environ, **env}, "client": client}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def lake_url(pg: Postgres, prefix: str | None = None, dbname: str | None = None) -> str:
    """A fresh lake: its own PostgreSQL database and its own prefix in the bucket."""
    dbname = dbname or pg.createdb()
    return f"ducklake:postgres:{pg.conninfo(dbname)}?data_path=s3://{BUCKET}/{prefix or dbname}/"
