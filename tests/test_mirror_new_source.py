"""Adding a source is data only: a registry entry with no mirror data, no content and no code
gets a mirror site from its CMS preset's template (crawlable by its registry rules: mirror.check
crawls it as it crawls the bundled sources), an article manifest and a golden the extractor
meets. In the bundled registry, the golden test and the prefect.yaml group check (both
parametrised over the registry) would name it too."""
import json
from pathlib import Path

import pytest

from crawlers.registry import DEFAULT_REGISTRY, load_registry

NEW_SOURCES = Path(__file__).with_name("registries") / "new_sources.toml"   # one per CMS preset
NAMES = ["yn-sthjt", "fujian", "tanjiaoyi", "whcb", "js-sthjt"]


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """The bundled registry plus the new entries, and the mirror built from it."""
    from mirror.build import build
    tmp = tmp_path_factory.mktemp("grown")
    registry = tmp / "sources.toml"
    registry.write_text(DEFAULT_REGISTRY.read_text(encoding="utf-8") + "\n" + NEW_SOURCES.read_text(encoding="utf-8"),
                        encoding="utf-8")
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
    from flows.extract.normalise import strip_pinyin
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
