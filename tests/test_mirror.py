"""The bundled mirror matches the registry and its manifest, and is reproducible."""
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
