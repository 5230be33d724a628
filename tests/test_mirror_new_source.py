"""Adding a source is data only: a registry entry with no mirror data, no content and no code
gets a mirror site from its CMS preset's template (crawlable by its registry rules: mirror.check
crawls it as it crawls the bundled sources), an article manifest and a golden the extractor
meets, and the registry-parametrised tests (golden, prefect.yaml group) cover it by name."""
import json

import pytest

from crawlers.registry import DEFAULT_REGISTRY, load_registry

# one new source per CMS preset, each only what a registry entry holds
NEW_SOURCES = '''
[[sources]]
name = "yn-sthjt"
title = "云南省生态环境厅"
kind = "government"
cms = "trs"
base_url = "http://sthjt.yn.gov.cn"
allowed_domains = ["sthjt.yn.gov.cn"]
start_urls = ["/xwzx/hbyw/index.html"]
article_pattern = '^/xwzx/hbyw/\\d{6}/t\\d{8}_\\d+\\.html$'

[[sources]]
name = "fujian"
title = "福建省人民政府"
kind = "government"
cms = "ucap"
base_url = "http://www.fujian.gov.cn"
allowed_domains = ["www.fujian.gov.cn"]
start_urls = ["/xwdt/fjyw/list3.shtml"]
article_pattern = '^/xwdt/fjyw/\\d{6}/[0-9a-f]{32}\\.shtml$'

[[sources]]
name = "tanjiaoyi"
title = "碳交易网"
kind = "media"
cms = "dedecms"
base_url = "http://www.tanjiaoyi.test"
allowed_domains = ["www.tanjiaoyi.test"]
start_urls = ["/news/"]
feeds = ["/data/rss/1.xml"]
article_pattern = '^/news/\\d{4}/\\d{4}/\\d+\\.html$'

[[sources]]
name = "whcb"
title = "文化传播网"
kind = "media"
cms = "generic"
base_url = "http://www.whcb.test"
allowed_domains = ["www.whcb.test"]
start_urls = ["/news/"]
article_pattern = '^/news/\\d{8}/\\d+\\.html$'
encoding = "gb18030"

[[sources]]
name = "js-sthjt"
title = "江苏省生态环境厅"
kind = "government"
cms = "hanweb"
base_url = "http://sthjt.js.gov.cn"
allowed_domains = ["sthjt.js.gov.cn"]
start_urls = ["/col/col83555/index.html"]
sitemaps = ["/sitemap.xml"]
article_pattern = '^/art/\\d{4}/\\d{1,2}/\\d{1,2}/art_83555_\\d+\\.html$'
'''
NAMES = ["yn-sthjt", "fujian", "tanjiaoyi", "whcb", "js-sthjt"]


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """The bundled registry plus the new entries, and the mirror built from it."""
    from mirror.build import build
    tmp = tmp_path_factory.mktemp("grown")
    registry = tmp / "sources.toml"
    registry.write_text(DEFAULT_REGISTRY.read_text(encoding="utf-8") + NEW_SOURCES, encoding="utf-8")
    load_registry(registry)                 # a valid registry, as crawlers/registry.py reads it
    build(tmp / "mirror", registry=registry)
    return registry, tmp / "mirror"


def test_a_new_registry_entry_gets_a_mirror_site_the_checks_crawl(grown):
    from mirror.check import run_checks
    registry, out = grown
    assert run_checks(out / "sites", registry) == []
    lists = json.loads((out / "expected_lists.json").read_text(encoding="utf-8"))
    assert all(len(lists[n]) == 5 for n in NAMES)
    assert lists["js-sthjt"][1].startswith("http://sthjt.js.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=3")
    site = json.loads((out / "sites" / "www.whcb.test" / "_site.json").read_text())
    assert site["encoding"] == "gbk"


@pytest.mark.parametrize("name", NAMES)
def test_a_new_registry_entry_gets_a_golden_the_extractor_meets(grown, name):
    from flows.extract import extract
    from flows.normalise import strip_pinyin
    from mirror.goldens import expected_goldens
    registry, out = grown
    g = expected_goldens(out / "expected.json")[name]
    src = load_registry(registry).get(name)
    e = extract((out / "sites" / g["page"]["mirror"]).read_bytes(), g["url"], preset=src,
                encoding_hint=src.encoding, list_date=g["list_date"])
    assert e.title == g["expect"]["title"]
    assert e.published_at.strftime("%Y-%m-%d %H:%M") == g["expect"]["published_at"]
    assert strip_pinyin(e.original_source) == g["expect"]["original_source"]
    assert strip_pinyin(e.author) == g["expect"]["author"]
    assert all(f in e.text for f in g["must_contain"]) and not any(f in e.text for f in g["must_not_contain"])
