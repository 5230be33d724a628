import re

import pytest

from crawlers.errors import RegistryError, UnknownSource
from crawlers.registry import load_registry

SEED_SOURCES = {"gxzf", "gx-sthjt", "tanpaifang", "gzwhw", "hainan", "sd-sthj", "gz-sthj"}


def test_bundled_registry_loads_with_every_seed_source():
    reg = load_registry()
    assert SEED_SOURCES <= set(reg.names())
    for s in reg.sources:
        assert s.start() and all(u.startswith(s.base_url) for u in s.start())
        assert s.pagination in {"trs", "next", "none"}


def test_preset_fields_are_inherited_and_overridable():
    reg = load_registry()
    gxzf = reg.get("gxzf")
    assert gxzf.pagination == "trs"                      # from [presets.trs]
    assert gxzf.list_item == "ul.more-list > li"        # the entry's own override


def test_article_pattern_and_domains():
    s = load_registry().get("hainan")
    assert s.is_article("http://www.hainan.gov.cn/hainan/5309/202412/490e107fee4340c1aacb5edd1f841326.shtml")
    assert not s.is_article("http://www.hainan.gov.cn/hainan/5309/list3.shtml")
    assert not s.is_article("http://evil.example.com/hainan/5309/202412/490e107fee4340c1aacb5edd1f841326.shtml")


def test_rebase_maps_both_ways_and_keeps_logical_urls():
    s = load_registry().get("gxzf").rebase("http://127.0.0.1:4321/")
    start = s.start()[0]
    assert start == "http://www.gxzf.gov.cn/gxyw/index.shtml"
    assert s.to_fetch(start) == "http://127.0.0.1:4321/gxyw/index.shtml"
    assert s.to_logical("http://127.0.0.1:4321/gxyw/t1.shtml") == "http://www.gxzf.gov.cn/gxyw/t1.shtml"
    assert s.to_logical("http://other.example/x") == "http://other.example/x"


def test_unknown_source_lists_known_names():
    with pytest.raises(UnknownSource, match="gxzf"):
        load_registry().get("nope")


@pytest.mark.parametrize("old,new,expect", [
    ('article_pattern = \'^/gxyw/t\\d+\\.shtml$\'', 'article_patern = "x"', r"'gxzf'.*'article_patern'.*unknown key"),
    ('article_pattern = \'^/gxyw/t\\d+\\.shtml$\'', 'article_pattern = "^/gxyw/(t"', r"'gxzf'.*'article_pattern'.*bad regex"),
    ('base_url = "http://www.gxzf.gov.cn"', 'base_url = "www.gxzf.gov.cn"', r"'gxzf'.*'base_url'.*not an http"),
    ('kind = "government"', 'kind = "blog"', r"'gxzf'.*'kind'"),
    ('cms = "trs"', 'cms = "wordpress"', r"'gxzf'.*'cms'.*no preset"),
])
def test_bad_entries_fail_naming_file_source_and_field(broken_registry, old, new, expect):
    path = broken_registry(old, new)
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    msg = str(info.value)
    assert str(path) in msg
    assert re.search(expect, msg), msg


def test_missing_field_and_bad_toml(broken_registry, tmp_path):
    p = broken_registry('start_urls = ["/gxyw/index.shtml"]\n', "")
    with pytest.raises(RegistryError, match="'start_urls': missing"):
        load_registry(p)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sources]\nname=", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(bad)
