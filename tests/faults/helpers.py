"""Shared pieces of the fault suite: the exactly-once ledger, running the CLI, disk limits,
local registries pointing at servers the tests start on 127.0.0.1."""
from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = Path(__file__).with_name("registry.toml")
NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))


def record(request, **figures) -> None:
    """Note what a fault test measured (articles lost, duplicated, crashes ...) for
    docs/reliability.md: appended to $NEWSFLOW_FAULT_LEDGER when `python -m bench.reliability`
    runs the suite; a no-op otherwise."""
    path = os.environ.get("NEWSFLOW_FAULT_LEDGER")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": request.node.nodeid, **figures}, ensure_ascii=False) + "\n")


def ledger(db, expected_urls) -> dict:
    """Every expected article exactly once: lost, duplicated and unexpected counts."""
    import warehouse
    urls = [r[0] for r in warehouse.query(db, "select url from articles")[1]]
    ids = [r[0] for r in warehouse.query(db, "select id from articles")[1]]
    expected = set(expected_urls)
    return {"lost": len(expected - set(urls)), "duplicated": len(urls) - len(set(urls)) + len(ids) - len(set(ids)),
            "unexpected": len(set(urls) - expected), "articles": len(urls)}


def consistent(db) -> dict:
    """Cross-table invariants after a crash: every article tagged (tags go in the same
    transaction), no tags, postings or search docs for articles that are not there."""
    import warehouse

    def one(sql):
        return warehouse.query(db, sql)[1][0][0]
    return {
        "untagged": one("select count(*) from articles a anti join article_tag_state s on s.article_id = a.id"),
        "orphan_tags": one("select count(*) from article_tags t anti join articles a on a.id = t.article_id"),
        "orphan_postings": one("select count(*) from search_postings p anti join articles a on a.id = p.article_id"),
        "orphan_docs": one("select count(*) from search_docs d anti join articles a on a.id = d.article_id"),
        "dup_rejected": one("select count(*) - count(distinct (url, reason)) from rejected"),
    }


def unindexed(db) -> int:
    import warehouse
    return warehouse.query(db, "select count(*) from articles a anti join search_docs d on d.article_id = a.id")[1][0][0]


def env(tmp_path) -> dict:
    return {**os.environ, "PREFECT_HOME": seeded_home(tmp_path / "prefect-home"), "PYTHONPATH": str(ROOT)}


def seeded_home(path) -> str:
    """A fresh Prefect home at `path` whose database is already migrated: a copy of one template
    made once per machine and Prefect version. A process starting Prefect's temporary server on
    an empty home runs every migration first, ~8 CPU s of a ~26 s mirror ingest; the suite does
    that dozens of times. What the home holds besides stays the test's own."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "prefect.db").exists():
        shutil.copyfile(_template_db(), path / "prefect.db")
    return str(path)


def _template_db() -> Path:
    import fcntl
    import tempfile

    import prefect
    home = Path(tempfile.gettempdir()) / f"newsflow-tests-prefect-{prefect.__version__}-{os.getuid()}"
    db = home / "prefect.db"
    if db.exists():
        return db
    home.mkdir(exist_ok=True)
    with open(home / ".lock", "w") as lock:     # xdist workers start at once: one builds it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not db.exists():
            build = Path(tempfile.mkdtemp(dir=home))
            subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"], check=True,
                           capture_output=True, timeout=300,
                           env={**os.environ, "PREFECT_HOME": str(build), "PREFECT_API_URL": ""})
            os.replace(build / "prefect.db", db)
            shutil.rmtree(build, ignore_errors=True)
    return db


def run(*args, tmp_path, timeout=300, check=None, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([NEWSFLOW, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=kw.pop("env", None) or env(tmp_path), cwd=kw.pop("cwd", ROOT), **kw)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


def fsize_limit(limit: int):
    """preexec_fn: no file this process (or its children) writes may grow past `limit` bytes;
    SIGXFSZ ignored, so writes fail with EFBIG as on a full disk (no privileges needed)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def local_registry(tmp_path: Path, base: str, name: str = "gxzf") -> Path:
    """The bundled registry with one source pointed at a server of ours on 127.0.0.1 (a
    'live' crawl, polite but with no delay): the CLI then runs as in production, no --mirror."""
    from crawlers.registry import DEFAULT_REGISTRY
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    old_base, old_domains = 'base_url = "http://www.gxzf.gov.cn"', 'allowed_domains = ["www.gxzf.gov.cn"]'
    assert old_base in text and old_domains in text
    text = text.replace(old_base, f'base_url = "{base}"\ndelay = 0\nconcurrency = 8\nretries = 1\nretry_backoff = 0.05')
    text = text.replace(old_domains, 'allowed_domains = ["127.0.0.1"]')
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def generated_site(tmp: Path, n: int, delay: float = 0.02):
    """A generated gxzf-like site of `n` articles served (slowly) on 127.0.0.1, and the bundled
    registry pointed at it: yields (site info, server, base URL, registry path, article URLs)."""
    from mirror.build import build_large
    from mirror.server import serve
    info = build_large(tmp / "mirror", n)
    with serve(tmp / "mirror" / "sites", delay=delay) as server:
        base = server.base_urls["http://www.gxzf.gov.cn"]
        urls = [u.replace("http://www.gxzf.gov.cn", base) for u in info["urls"]]
        yield info, server, base, local_registry(tmp, base), urls


def wait_for(predicate, timeout: float, what: str, proc=None, poll: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended first (exit {proc.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(poll)


def open_files(pid: int) -> list[str]:
    """The files a process has open right now (Linux /proc)."""
    out = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return out


def small_warehouse(db: Path) -> dict:
    """A real warehouse of five articles with tags, written without a crawl (well under a second):
    a date-only article (midnight in Shanghai, the previous day in UTC), one late in the evening,
    one in the first hours of a month (the previous month in UTC), one with no date, and one
    with images, attachments and a fetched URL that differs from the canonical one."""
    import datetime as dt
    from types import SimpleNamespace

    import warehouse
    from schemas import Article
    from warehouse.tags import load_tags
    cst = dt.timezone(dt.timedelta(hours=8))
    fetched = dt.datetime(2025, 2, 1, 9, 0, tzinfo=cst)
    text = "海南省近日印发海洋生态保护修复工作方案，明确到二〇二七年完成一批重点海湾综合治理项目。" * 40

    def art(i, source, when, **kw):
        return Article(id=f"a{i}", url=f"http://example.gov.cn/{source}/{i}.html", source=source,
                       title=f"测试文章{i}", published_at=when, original_source="海南日报", author=None,
                       editor=None, text=text, language="zh", content_hash=f"h{i}", extractor_version="t",
                       fetched_at=fetched, date_missing=when is None, script="simplified", **kw)
    arts = [art(1, "hainan", dt.datetime(2025, 1, 6, 0, 0, tzinfo=cst),
                url_original="http://example.gov.cn/hainan/1.html?from=list",
                images=(("http://example.gov.cn/img/1.jpg", "红树林；保护区"), ("http://example.gov.cn/img/2.jpg", "")),
                attachments=(("http://example.gov.cn/f/plan.pdf", "方案全文"),)),
            art(2, "gxzf", dt.datetime(2025, 1, 5, 23, 30, tzinfo=cst)),
            art(3, "gxzf", dt.datetime(2025, 2, 1, 3, 0, tzinfo=cst)),
            art(4, "gxzf", None),
            art(5, "hainan", dt.datetime(2024, 12, 31, 20, 0, tzinfo=cst))]
    tags = [("a1", "topic", "carbon", 0.9), ("a1", "topic", "climate", 0.5), ("a1", "place", "海南", 1.0),
            ("a1", "partner", "ASEAN", 0.7), ("a1", "keyword", "碳汇", 0.3), ("a1", "keyword", "红树林", 0.6),
            ("a2", "topic", "water", 0.8), ("a3", "topic", "carbon", 0.4), ("a1", "language", "zh", 1.0)]
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, arts)
        load_tags(con, [SimpleNamespace(article_id=a, kind=k, tag=t, score=s, evidence="test") for a, k, t, s in tags],
                  "test-v1", article_ids=[a.id for a in arts])
    return {"articles": arts, "tags": tags}


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """`folder` (existing) made read-only for the CLI, as a read-only mount is.

    chmod does not stop root (these machines run the tests as root), so as root the folder
    is bind-mounted onto itself read-only: every write in it fails with EROFS, whoever asks.
    Elsewhere chmod 555 makes writes fail with EACCES. Skips when neither is possible."""
    import pytest
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield "permission denied"
        finally:
            folder.chmod(mode)
        return
    bound = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode == 0
    if not bound:
        pytest.skip("cannot make a read-only folder here (root, and mount --bind is refused)")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True).returncode:
            pytest.skip("cannot remount a bind mount read-only here")
        probe = folder / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("the read-only bind mount still accepts writes")
        yield "read-only file system"
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)
