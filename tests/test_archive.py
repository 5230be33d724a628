import datetime as dt

from crawlers.archive import ArchiveWriter, ReadReport, read_pages

UTC = dt.timezone.utc


def write(path, n, **over):
    w = ArchiveWriter(path)
    offsets = []
    for i in range(n):
        args = dict(url=f"http://www.gxzf.gov.cn/gxyw/t{i}.shtml", final_url=f"http://www.gxzf.gov.cn/gxyw/t{i}.shtml",
                    fetch_url=f"http://127.0.0.1:9/gxyw/t{i}.shtml", status=200,
                    headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
                    body=f"<html><body>第{i}篇 正文</body></html>".encode("utf-8"),
                    fetched_at=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), source="gxzf",
                    page_kind="article", list_date="2025-01-01", run_id="r1")
        args.update(over)
        offsets.append(w.write(**args))
    w.close()
    return offsets


def test_roundtrip_keeps_everything(tmp_path):
    p = tmp_path / "a.warc.gz"
    offsets = write(p, 3)
    pages = list(read_pages(p))
    assert len(pages) == 3
    pg = pages[1]
    assert pg.url == pg.final_url == "http://www.gxzf.gov.cn/gxyw/t1.shtml"
    assert pg.body == "<html><body>第1篇 正文</body></html>".encode("utf-8")
    assert pg.status == 200 and pg.source == "gxzf" and pg.page_kind == "article"
    assert pg.list_date == "2025-01-01" and pg.run_id == "r1"
    assert pg.header("content-type") == "text/html; charset=utf-8"
    assert pg.header("content-encoding") is None          # the stored body is decoded
    assert pg.fetched_at == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [p.warc_offset for p in pages] == offsets


def test_binary_body_and_error_status_are_kept_verbatim(tmp_path):
    p = tmp_path / "b.warc.gz"
    blob = bytes(range(256)) * 10
    write(p, 1, body=blob, status=404)
    (pg,) = list(read_pages(p))
    assert pg.body == blob and pg.status == 404


def test_torn_last_record_is_detected_and_skipped(tmp_path):
    p = tmp_path / "c.warc.gz"
    offsets = write(p, 4)
    data = p.read_bytes()
    cut = offsets[3] + (len(data) - offsets[3]) // 2       # kill -9 half-way through record 4
    p.write_bytes(data[:cut])
    report = ReadReport(str(p))
    pages = list(read_pages(p, report))
    assert [pg.url[-8:] for pg in pages] == ["t0.shtml", "t1.shtml", "t2.shtml"]
    assert report.torn_at is not None and report.problems


def test_appending_after_a_torn_tail_is_not_attempted_by_the_writer(tmp_path):
    # a new run writes a new file; an old torn file stays readable up to the tear
    p = tmp_path / "d.warc.gz"
    write(p, 2)
    p.write_bytes(p.read_bytes()[:-40])
    assert len(list(read_pages(p))) == 1


def test_block_reason_roundtrip_and_becomes_a_rejection(tmp_path):
    from flows.process import to_record
    from schemas import Rejected
    p = tmp_path / "e.warc.gz"
    write(p, 1, status=412, block_reason="challenge: 瑞数 $_ts script")
    (pg,) = list(read_pages(p))
    assert pg.block_reason == "challenge: 瑞数 $_ts script"
    rec = to_record(pg, None)
    assert isinstance(rec, Rejected) and rec.reason == "blocked" and "瑞数" in rec.detail
