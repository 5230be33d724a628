"""URL canonicalisation (crawlers/urls.py): properties with hypothesis, and the cases issue 5 names."""
import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flows.extract.normalise import article_id
from flows.extract.normalise import canonical_url as normalise_canonical_url
from crawlers.urls import PUBLIC_SLD, canonical_url, desktop_host, is_tracking_param, source_rules

ROOT = Path(__file__).resolve().parents[1]

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
hosts = st.builds(lambda labels, tld: ".".join(labels + [tld]),
                  st.lists(label, min_size=1, max_size=3), st.sampled_from(["cn", "com", "gov.cn", "com.cn", "net"]))
seg_chars = st.text(alphabet="abcXYZ019-._~%!$&'()*+,;=:@ 中文é", max_size=10)
paths = st.lists(seg_chars, max_size=4).map(lambda segs: "/" + "/".join(segs))
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
values = st.text(alphabet="abc123%+中 =", max_size=6)
queries = st.lists(st.tuples(keys, values), max_size=4)
schemes = st.sampled_from(["http", "https", "HTTP", "Https"])
ports = st.sampled_from([None, 80, 443, 8080])
fragments = st.sampled_from(["", "top", "!/a", "/detail?id=3", "p2"])


def make(scheme, host, port, path, query, fragment=""):
    netloc = host + (f":{port}" if port else "")
    q = "&".join(f"{k}={v}" for k, v in query)
    return f"{scheme}://{netloc}{path}" + (f"?{q}" if q else "") + (f"#{fragment}" if fragment else "")


urls = st.builds(make, schemes, hosts, ports, paths, queries, fragments)
TRACKING = st.sampled_from(["utm_source=wechat", "utm_medium=social", "spm=a2c4g.11186623", "from=timeline",
                            "isappinstalled=0", "from=groupmessage", "fbclid=IwAR0", "PHPSESSID=abc123",
                            "share_token=xyz", "_t=1690000000"])


@settings(max_examples=200, deadline=None)
@given(urls, st.lists(st.sampled_from(["ddtab", "tab*", "x"]), max_size=2))
def test_idempotent_with_and_without_source_rules(url, drops):
    once = canonical_url(url)
    assert canonical_url(once) == once
    ruled = canonical_url(url, drop_params=drops)
    assert canonical_url(ruled, drop_params=drops) == ruled
    # the ids of per-source canonical URLs are stable: article_id re-canonicalises generically
    assert canonical_url(ruled) == ruled


@settings(max_examples=200, deadline=None)
@given(urls, st.lists(TRACKING, min_size=1, max_size=3), st.randoms(use_true_random=False))
def test_tracking_and_session_parameters_are_removed(url, tracking, rnd):
    base = canonical_url(url)
    sep = "&" if "?" in url.split("#")[0] else "?"
    head, _, frag = url.partition("#")
    noisy = head + sep + "&".join(tracking) + (("#" + frag) if frag else "")
    assert canonical_url(noisy) == base


@settings(max_examples=200, deadline=None)
@given(schemes, hosts, ports, paths, queries)
def test_fragments_go_except_routes(scheme, host, port, path, query):
    plain = canonical_url(make(scheme, host, port, path, query))
    assert canonical_url(make(scheme, host, port, path, query, "section-2")) == plain
    assert "#" not in plain
    routed = canonical_url(make(scheme, host, port, path, query, "/detail?id=7"))
    assert routed.endswith("#/detail?id=7")


@settings(max_examples=200, deadline=None)
@given(schemes, hosts, paths, queries, st.randoms(use_true_random=False))
def test_host_case_and_default_ports(scheme, host, path, query, rnd):
    shouty = "".join(c.upper() if rnd.random() < 0.5 else c for c in host)
    want = canonical_url(make(scheme, host, None, path, query))
    assert canonical_url(make(scheme, shouty, None, path, query)) == want
    assert canonical_url(make(scheme, shouty + ".", None, path, query)) == want
    default = 443 if scheme.lower() == "https" else 80
    assert canonical_url(make(scheme, host, default, path, query)) == want
    other = canonical_url(make(scheme, host, 8080, path, query))
    assert ":8080" in other


@settings(max_examples=200, deadline=None)
@given(schemes, hosts, st.lists(label, max_size=3),
       st.sampled_from(["index.html", "INDEX.HTML", "index.htm", "index.shtml", "default.aspx", "index.php"]))
def test_index_files(scheme, host, dirs, index):
    folder = "/" + "".join(d + "/" for d in dirs)
    assert canonical_url(make(scheme, host, None, folder + index, [])) == canonical_url(make(scheme, host, None, folder, []))
    # with a query the file may be what handles it: kept
    assert index.lower() in canonical_url(make(scheme, host, None, folder + index, [("id", "1")])).lower()


@settings(max_examples=200, deadline=None)
@given(schemes, st.sampled_from(["m.", "wap.", "mobile.", "3g.", "h5.", "M."]), label,
       st.sampled_from(["cn", "com", "gov.cn", "com.cn"]), paths)
def test_mobile_hosts_fold_onto_the_desktop_site(scheme, prefix, name, suffix, path):
    domain = f"{name}.{suffix}"
    assume(domain not in PUBLIC_SLD)        # "m.ac.cn" is a site of its own, not ac.cn's mobile host
    assert canonical_url(make(scheme, prefix + domain, None, path, [])) == \
        canonical_url(make(scheme, "www." + domain, None, path, []))
    assert canonical_url(make(scheme, f"{prefix}sthj.{domain}", None, path, [])) == \
        canonical_url(make(scheme, f"sthj.{domain}", None, path, []))


def test_named_cases():
    c = canonical_url
    assert c("HTTP://WWW.Gxzf.gov.cn:80/gxyw/t1.shtml#top") == "http://www.gxzf.gov.cn/gxyw/t1.shtml"
    hainan = "http://www.hainan.gov.cn/hainan/5309/202401/490e107fee4340c1aacb5edd1f841326.shtml"
    assert c(hainan + "?ddtab=true", drop_params=["ddtab"]) == hainan
    assert c(hainan + "?ddtab=true") == hainan + "?ddtab=true"           # only where the source says so
    assert c("https://m.tanpaifang.com/tanguihua/2025/0212/110827.html?from=timeline&isappinstalled=0") == \
        "https://www.tanpaifang.com/tanguihua/2025/0212/110827.html"
    assert c("http://m.sthj.shandong.gov.cn/dtxx/a.html") == "http://sthj.shandong.gov.cn/dtxx/a.html"
    # parameters that select the page stay, sorted by name
    assert c("http://sthjt.zj.gov.cn/col/col1229263559/index.html?uid=380055&pageNum=2") == \
        "http://sthjt.zj.gov.cn/col/col1229263559/index.html?pageNum=2&uid=380055"
    assert c("http://x.gov.cn/show.asp?id=12&utm_source=a") == "http://x.gov.cn/show.asp?id=12"
    assert c("http://x.gov.cn/news?from=2024-01-01") == "http://x.gov.cn/news?from=2024-01-01"
    assert c("http://x.gov.cn/a/./b/../c.html;jsessionid=0A1B") == "http://x.gov.cn/a/c.html"
    assert c("http://x.gov.cn/a b/中文.html?q=中") == "http://x.gov.cn/a%20b/%E4%B8%AD%E6%96%87.html?q=%E4%B8%AD"
    assert c("http://x.gov.cn/%7euser/%2f?x=%7e") == "http://x.gov.cn/~user/%2F?x=~"
    assert c("http://x.gov.cn") == "http://x.gov.cn/"
    assert c("//x.gov.cn/a") == "http://x.gov.cn/a"
    assert c("http://a.cn/", host_aliases={"a.cn": "www.a.cn"}) == "http://www.a.cn/"
    assert c("http://x.cn/a?f=1&F=2", keep_params=["f"]) == "http://x.cn/a?f=1&F=2"
    assert c("mailto:Someone@Example.com") == "mailto:Someone@Example.com"
    assert desktop_host("m.gov.cn") == "m.gov.cn"
    assert desktop_host("m.ac.cn") == "m.ac.cn"          # a registrable domain under ac.cn, not a mobile host
    assert is_tracking_param("UTM_Campaign") and not is_tracking_param("id")


def test_normalise_delegates_and_mirror_ids_do_not_move():
    """Every URL the mirror (and so the existing warehouses) holds is already canonical: the
    new rules change no stored id."""
    expected = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
    for e in expected:
        assert normalise_canonical_url(e["url"]) == canonical_url(e["url"]) == e["url"], e["url"]
    assert article_id("http://www.gxzf.gov.cn/gxyw/t1.shtml?utm_source=x#a") == article_id("http://www.gxzf.gov.cn/gxyw/t1.shtml")


def test_source_rules_from_a_registry_entry(tmp_path):
    from crawlers.registry import load_registry
    hainan = load_registry().get("hainan")
    assert source_rules(hainan) == {"drop_params": ("ddtab",)} and source_rules(None) == {}
    url = "http://www.hainan.gov.cn/hainan/5309/202412/bd51b4a821e940544aafcb367f765652.shtml?ddtab=true"
    assert hainan.canonical(url) == url.removesuffix("?ddtab=true")
    assert canonical_url(url) == url                      # the generic rules leave it: it is the source's
    # host aliases and kept parameters, read from an entry
    text = (ROOT / "crawlers" / "sources.toml").read_text(encoding="utf-8").replace(
        'url_drop_params = ["ddtab"]',
        'url_drop_params = [" DDtab ", "tab*"]\nurl_keep_params = ["from"]\n'
        'host_aliases = { "M.Hainan.gov.cn" = "www.hainan.gov.cn" }')
    (tmp_path / "r.toml").write_text(text, encoding="utf-8")
    later = load_registry(tmp_path / "r.toml").get("hainan")
    mobile = "http://m.hainan.gov.cn/hainan/5309/202412/a.shtml?tabid=3&ddtab=true&from=timeline"
    assert later.canonical(mobile) == "http://www.hainan.gov.cn/hainan/5309/202412/a.shtml?from=timeline"
    # a kept parameter selects the page: two values, two ids (the id hashes the canonical URL as is)
    one, two = (later.canonical(mobile.replace("timeline", v)) for v in ("timeline", "share"))
    assert one != two and article_id(one, canonical=True) != article_id(two, canonical=True)


@pytest.mark.parametrize("entry, field", [
    ('url_drop_params = "ddtab"', "url_drop_params"),
    ('url_keep_params = [""]', "url_keep_params"),
    ('host_aliases = ["m.hainan.gov.cn"]', "host_aliases"),
    ('host_aliases = { "m.hainan.gov.cn" = "http://www.hainan.gov.cn/" }', "host_aliases"),
    ('outlet_names = [1]', "outlet_names"),
    ('host_aliases = { "wap.hainan.gov.cn" = "m.hainan.gov.cn" }', "host_aliases"),     # target not canonical
    ('host_aliases = { "m.hainan.gov.cn" = "www.hainan.gov.cn:8080" }', "host_aliases"),  # a port
    ('url_drop_params = ["*"]', "url_drop_params"),
])
def test_bad_url_rules_name_file_source_and_field(tmp_path, entry, field):
    from crawlers.errors import RegistryError
    from crawlers.registry import load_registry
    text = (ROOT / "crawlers" / "sources.toml").read_text(encoding="utf-8")
    text = text.replace('url_drop_params = ["ddtab"]', "").replace('outlet_names = ["海南省人民政府"]', entry)
    assert entry in text
    (tmp_path / "r.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(tmp_path / "r.toml")
    assert "r.toml" in str(err.value) and "'hainan'" in str(err.value) and repr(field) in str(err.value)
