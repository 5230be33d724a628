"""The bundled mirror matches the registry and its manifest, and is reproducible."""
import urllib.error
import urllib.request

from mirror.check import run_checks


def test_mirror_consistent_with_registry_and_manifest():
    problems = run_checks()
    assert problems == []


def test_server_binds_loopback_only_and_serves_gbk(mirror_server):
    for real, local in mirror_server.base_urls.items():
        assert local.startswith("http://127.0.0.1:")
    local = mirror_server.base_urls["http://www.gzwhw.cn"]
    with urllib.request.urlopen(local + "/html/ywjj/snwh/") as resp:
        body = resp.read()
        assert resp.headers.get_content_charset() is None      # header says only text/html
    assert b"charset=gb2312" in body
    body.decode("gb18030")


def test_fault_host_only_when_asked_and_dataproxy_answers_by_range():
    import urllib.parse
    from mirror.server import serve
    with serve() as plain:
        assert "http://faults.newsflow.test" not in plain.base_urls
    with serve(faults=True) as m:
        base = m.base_urls["http://faults.newsflow.test"]
        with urllib.request.urlopen(base + "/robots.txt") as resp:
            assert b"Disallow: /private/" in resp.read()
        codes = []
        for _ in range(3):
            try:
                with urllib.request.urlopen(base + "/news/a10.html") as resp:
                    codes.append(resp.status)
            except urllib.error.HTTPError as e:
                codes.append(e.code)
        assert codes == [503, 503, 200]
        zj = m.base_urls["http://sthjt.zj.gov.cn"]
        form = urllib.parse.urlencode({"columnid": "1229263559", "unitid": "4567185"}).encode()
        req = urllib.request.Request(zj + "/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=4&perpage=2", data=form)
        with urllib.request.urlopen(req) as resp:
            xml = resp.read().decode()
            assert resp.headers["Content-Type"].startswith("text/xml")
        assert xml.count("<record>") == 2 and "<totalrecord>10</totalrecord>" in xml
        assert [r["method"] for r in m.requests("sthjt.zj.gov.cn")] == ["POST"]
