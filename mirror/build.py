"""Generate the bundled local mirror: ``python -m mirror.build [--out DIR] [--goldens]``.

Writes ``<DIR>/sites/<host>/...`` (static pages, ``_site.json``, robots.txt, image and attachment
stubs) for every source of the registry (crawlers/sources.toml), ``<DIR>/faults/`` (the fault
host, mirror/faulthost.py), ``<DIR>/expected.json`` (one object per article) and
``<DIR>/expected_lists.json`` (list page URLs per source, in crawl order). ``DIR`` defaults to
this package's directory; the old ``sites/`` tree there is removed first, so the output is
exactly what this run produced. ``--goldens`` instead rewrites tests/golden/mirror-<source>.json
from the committed expected.json (mirror/goldens.py).

A site's pages come from its layout's template (mirror/templates/), its registry entry and
mirror/sites.toml (mirror/site.py); its articles from mirror/content.py (invented, or placing a
seed page), or, for a source content.py does not know, ten articles content.py invents for it.

Deterministic: the only randomness is ``random.Random(FIXED_SEED)``; files are written from
in-memory data in a fixed order, JSON with a fixed key order, no timestamps anywhere (the ZIP
entries of the .docx stubs carry a fixed date). Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path

from . import content, goldens
from .faulthost import build_faults
from .outdir import NotOurs, clear_build
from .seedtext import SEEDS, SIMPLIFIED, TRADITIONAL, annotate, paragraph_pool  # noqa: F401 (annotate: tests)
from .seedtext import parse_date
from .site import PAGE_SIZE, REGISTRY, SITES_DATA, Site, load_sites

PKG_DIR = Path(__file__).resolve().parent
FIXED_SEED = 20250715
NO_RELATED_SEED = "003_288f4a3a0b947890.txt"   # its related-articles box says 无相关信息, as the seed page shows

# ----------------------------------------------------------------------------------------------
# Assembling articles


def _variation(spec: dict, f, rng: random.Random, pool: list[str]) -> dict:
    """An invented article: its lead, then 2-6 seed paragraphs of the site's script."""
    art = dict(title=f(spec["title"]), source=f(spec.get("source")), author=f(spec.get("author")), lead=f(spec["lead"]))
    picks = sorted(rng.sample(range(len(pool)), rng.randint(2, 6)))
    body = [("p", art["lead"])]
    if spec.get("img"):
        body.append(("img", f(spec["img"])))
    body += [("p", pool[i]) for i in picks]
    if spec.get("attach"):
        kind, label = spec["attach"]
        body.append(("attach", (kind, f(label))))
    art["body"] = body
    return art


def make_articles(site: Site, rng: random.Random, pools: dict) -> list[dict]:
    trad = site.script == "traditional"
    pool = pools[(site.script, site.encoding)]
    specs = content.ARTICLES.get(site.name) or content.invented(site.values["site_title"], site.values["column"])
    arts = []
    for spec in specs:
        art = dict(date=spec["date"], dt=parse_date(spec["date"]), seed=None, syndicated_from=None,
                   subtitle=None)
        if "seed" in spec:
            s = SEEDS[spec["seed"]]
            assert s["date"] == spec["date"], (spec, s["date"])
            art.update(title=s["title"], source=s["source"], author=s["author"], body=list(s["body"]),
                       seed=spec["seed"], subtitle=s.get("subtitle"), byline_author=s.get("byline_author"))
        elif "syndicate" in spec:
            s = SEEDS[spec["syndicate"]]
            art.update(title=s["title"], source=spec.get("source"), author=spec.get("author"),
                       body=list(s["body"]), syndicate_seed=spec["syndicate"])
        else:
            art.update(_variation(spec, annotate if trad else (lambda x: x), rng, pool))
        art.setdefault("lead", next(t for k_, t in art["body"] if k_ == "p"))
        art["list_date"] = art["dt"].strftime("%Y-%m-%d")
        art["urlpath"] = site.article_path(art)
        arts.append(art)
    # newest first, distinct dates
    assert [a["dt"] for a in arts] == sorted((a["dt"] for a in arts), reverse=True), site.name
    assert len({a["dt"] for a in arts}) == len(arts)
    assert len({a["urlpath"] for a in arts}) == len(arts)
    return arts


CUT_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*$|^[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*\)")
FRAG_BAD = re.compile(r"[\s\xa0\u2002\u3000&<>\"'?\ue000-\uf8ff]")


def fragment_ok(w: str) -> bool:
    # no spaces or markup-sensitive characters, no capture damage, no half "字(pīnyīn)" group
    return not (FRAG_BAD.search(w) or w[0] == "(" or CUT_PINYIN.search(w))


def pick_fragment(paragraph: str, page_text: str, where: str) -> str | None:
    """A 10-30 character window of ``paragraph`` occurring exactly once in ``page_text``.

    Windows are tried nearest first to the anchor: the paragraph's start ("start"), its end
    ("end") or its centre ("middle"), preferring about 20 characters. None if there is none.
    """
    L = len(paragraph)
    cands = []
    for n in range(10, 31):
        for s in range(0, L - n + 1):
            if where == "start":
                dist = s
            elif where == "end":
                dist = L - (s + n)
            else:
                dist = abs((s + n / 2) - L / 2)
            cands.append((dist, abs(n - 20), s, n))
    cands.sort()
    for _, _, s, n in cands:
        w = paragraph[s:s + n]
        if fragment_ok(w) and page_text.count(w) == 1:
            return w
    return None


def body_fragments(paras: list[str], page_text: str) -> list[str]:
    """[start, middle, end] fragments of the body: from the first paragraph, the middle one
    and the last one (moving inwards when a paragraph has no usable window)."""
    mid = len(paras) // 2
    plans = [("start", list(range(len(paras)))),
             ("middle", sorted(range(len(paras)), key=lambda i: (abs(i - mid), i))),
             ("end", list(range(len(paras) - 1, -1, -1)))]
    out = []
    for where, order in plans:
        frag = None
        for i in order:
            frag = pick_fragment(paras[i], page_text, where)
            if frag and frag not in out and not any(frag in o or o in frag for o in out):
                break
            frag = None
        assert frag, (where, paras[0][:30])
        out.append(frag)
    return out


def related_for(arts: list[dict], i: int) -> list[dict]:
    n = len(arts)
    order = [i - 1, i + 1, i - 2, i + 2, i + 3, i - 3]
    out = []
    for j in order:
        if 0 <= j < n and len(out) < 4:
            out.append(arts[j])
    return out


def manifest_entry(site: Site, art: dict, page_html: str, related: list[dict]) -> dict:
    """The article's object in expected.json: its fields, 3 fragments of its body that occur
    once on the page, and 3 that are on the page but outside the body."""
    paras = [t for k, t in art["body"] if k == "p"]
    must_exclude = [site.values["widget"], site.values["icp"], related[0]["title"] if related else "无相关信息"]
    for frag in must_exclude:
        assert frag in page_html, (site.name, frag)
        assert all(frag not in t for k, t in art["body"] if isinstance(t, str)), frag
    return {
        "source": site.name,
        "url": site.base + art["urlpath"],
        "path": site.host + art["urlpath"],
        "title": art["title"],
        "published_at": art["date"],
        "original_source": art["source"],
        "author": art["author"] or art.get("byline_author"),
        "seed": art["seed"],
        "syndicated_from": art["syndicated_from"],
        "list_date": art["list_date"],
        "must_include": body_fragments(paras, page_html),   # start, middle, end of the body
        "must_exclude": must_exclude,
    }


def site_files(site: Site) -> tuple[dict[str, bytes], list[dict]]:
    """Every file of one site (path under the host -> bytes) and its manifest entries."""
    files: dict[str, bytes] = {}

    def put(path: str, text: str | bytes) -> None:
        path = path + site.index_name if path.endswith("/") else path
        assert path not in files, (site.name, path)
        files[path] = text if isinstance(text, bytes) else text.encode(site.encoding, errors="strict")

    arts = site.articles
    paths = site.list_paths(-(-len(arts) // PAGE_SIZE))    # 10 articles: 5 list pages
    for page, path in enumerate(paths):
        put(path, site.render_list(arts[page * PAGE_SIZE:(page + 1) * PAGE_SIZE], page, paths))
    entries = []
    for i, art in enumerate(arts):
        related = [] if art["seed"] == NO_RELATED_SEED else related_for(arts, i)
        page_html = site.render_article(art, related)
        put(art["urlpath"], page_html)
        for fpath, data in art.get("files", []):
            put(fpath, data)
        entries.append(manifest_entry(site, art, page_html, related))
    for path, data in site.extra_files().items():
        put(path, data)
    put("/", site.render_home())
    put(site.sitemap_path, site.render_sitemap())
    put("/robots.txt", "User-agent: *\nDisallow:\n")
    files["/_site.json"] = site.site_json()
    return files, entries


def prepare(sites: list[Site]) -> None:
    """Give every site its articles, and the syndicated copies the URL of their original."""
    rng = random.Random(FIXED_SEED)
    pools = {("simplified", "utf-8"): paragraph_pool(SIMPLIFIED), ("simplified", "gbk"): paragraph_pool(SIMPLIFIED, "gbk"),
             ("traditional", "utf-8"): paragraph_pool(TRADITIONAL)}
    for site in sites:
        site.articles = make_articles(site, rng, pools)
    by_seed = {a["seed"]: (s, a) for s in sites for a in s.articles if a["seed"]}
    for site in sites:
        for a in site.articles:
            if a.get("syndicate_seed"):
                src_site, src = by_seed[a["syndicate_seed"]]
                a["syndicated_from"] = src_site.base + src["urlpath"]


def build(out_dir: Path, registry: Path = REGISTRY, sites_data: Path = SITES_DATA) -> dict:
    """Write the mirror of every source of ``registry`` (and the fault host) under out_dir."""
    sites = load_sites(registry, sites_data)
    prepare(sites)
    files: dict[str, bytes] = {}
    manifest, lists, bodies = [], {}, {}
    for site in sites:
        site_data, entries = site_files(site)
        files.update({site.host + path: data for path, data in site_data.items()})
        manifest += entries
        lists[site.name] = site.list_urls(-(-len(site.articles) // PAGE_SIZE))
        for art in site.articles:
            key = tuple(art["body"])
            if key in bodies and not art["syndicated_from"]:
                raise AssertionError("duplicate body: %s / %s" % (bodies[key], art["urlpath"]))
            bodies.setdefault(key, art["urlpath"])

    sites_dir = out_dir / "sites"
    clear_build(sites_dir, {site.host for site in sites})
    for rel in sorted(files):
        p = sites_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[rel])
    (out_dir / "expected.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out_dir / "expected_lists.json").write_text(
        json.dumps(lists, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    fault_files = build_faults(out_dir)
    return dict(files=len(files), bytes=sum(len(v) for v in files.values()), articles=len(manifest),
                fault_files=fault_files)


# ----------------------------------------------------------------------------------------------
# A large generated mirror for benchmarks and long-crawl tests (never committed): one TRS site
# (the gxzf templates) with N articles, PER_PAGE to a list page. Same host and URL shapes as the
# registry's gxzf entry, so the real registry crawls it (with --max-pages raised).


def build_large(out_dir: Path, n_articles: int, per_page: int = 20, seed: int = FIXED_SEED) -> dict:
    """Write <out_dir>/sites/www.gxzf.gov.cn/ with n_articles articles; returns counts."""
    rng = random.Random(seed)
    pool = paragraph_pool(SIMPLIFIED)
    site = next(s for s in load_sites() if s.name == "gxzf")
    start = dt.datetime(2025, 7, 1, 9, 0)
    arts = []
    for i in range(n_articles):
        when = start - dt.timedelta(hours=3 * i, minutes=rng.randint(0, 59))
        title = "广西生态环境动态第%d期：%s" % (n_articles - i, pool[rng.randrange(len(pool))][:18])
        lead = "%s，%s" % (when.strftime("%m月%d日"), pool[rng.randrange(len(pool))])
        body = [("p", lead)] + [("p", pool[j]) for j in sorted(rng.sample(range(len(pool)), rng.randint(2, 5)))]
        art = dict(date=when.strftime("%Y-%m-%d %H:%M"), dt=when, title=title, source="广西日报",
                   author=None if i % 3 else "记者%d" % (i % 97), lead=lead, body=body, seed=None,
                   syndicated_from=None, subtitle=None, list_date=when.strftime("%Y-%m-%d"))
        art["urlpath"] = site.article_path(art)
        arts.append(art)
    assert len({a["urlpath"] for a in arts}) == len(arts)
    site.articles = arts
    root = out_dir / "sites" / site.host
    clear_build(out_dir / "sites", {site.host})
    n_pages = -(-len(arts) // per_page)
    paths = site.list_paths(n_pages)

    def put(path, text):
        f = root / (path + site.index_name if path.endswith("/") else path).lstrip("/")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(text.encode("utf-8"))

    total = 0
    for page, path in enumerate(paths):
        put(path, site.render_list(arts[page * per_page:(page + 1) * per_page], page, paths))
    for i, art in enumerate(arts):
        html_ = site.render_article(art, related_for(arts, i))
        total += len(html_.encode("utf-8"))
        put(art["urlpath"], html_)
    put("/", site.render_home())
    put("/robots.txt", "User-agent: *\nDisallow:\n")
    (root / "_site.json").write_text(json.dumps({"encoding": "utf-8", "content_type_charset": True}) + "\n")
    return {"articles": len(arts), "list_pages": len(paths), "article_bytes": total,
            "urls": [site.base + a["urlpath"] for a in arts], "lists": [site.base + p for p in paths]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=PKG_DIR,
                    help="directory receiving sites/, expected.json, expected_lists.json (default: the package)")
    ap.add_argument("--large", type=int, metavar="N",
                    help="instead: a large generated gxzf-like site of N articles under OUT/sites (benchmarks)")
    ap.add_argument("--goldens", action="store_true",
                    help="instead: rewrite tests/golden/mirror-<source>.json from OUT/expected.json")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.goldens:
        for path in goldens.write_goldens(args.out / "expected.json"):
            print("wrote", path)
        return 0
    if args.large:
        if args.out.resolve() == PKG_DIR:
            ap.error("--large needs --out DIR (the committed mirror stays as it is)")
        try:
            info = build_large(args.out, args.large)
        except NotOurs as exc:
            ap.exit(1, f"error: {exc}\n")
        print("wrote %(articles)d articles, %(list_pages)d list pages" % info, "->", args.out)
        return 0
    try:
        stats = build(args.out)
    except NotOurs as exc:
        ap.exit(1, f"error: {exc}\n")
    print("wrote %(files)d files, %(bytes)d bytes, %(articles)d articles, %(fault_files)d fault-host files"
          % stats, "->", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
