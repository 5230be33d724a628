"""The mirror's later days: the bundled sites as they are on day 2, 3 ... after edits,
takedowns, a restore, a delisting and a day of 503s, as `mirror/days.json` says.

    from mirror.days import serve, load_days
    with serve(day=2) as m: ...          # a MirrorServer over a copy of the sites, changed for day 2

Each change applies to the days it lists: `replace` (old -> new text in the page), `drop_paragraph`
(the <p> holding `contains`), `delete` (the file is gone: 404), `status` (the page answers that
status), `redirect` (a 302 to `to`), `soft_404` (a 200 page saying the item was deleted),
`placeholder` (the article's body replaced by a placeholder line), `delist` (its link removed from
the column's list pages; the page stays), `copy_list` (a second column: a copy of the list page
`from` at `url`, its links made absolute and its pager cut to one page, so it links the first
column's newest items; only a registry naming it as a start URL reads it). Day 1 is the mirror
as built, with the changes that list day 1. Standard library only.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import urllib.parse
from pathlib import Path

from mirror.server import DEFAULT_SITES, MirrorServer

MANIFEST = Path(__file__).resolve().with_name("days.json")
SOFT_404 = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>提示信息</title></head><body>"
            "<div class=\"main\"><p>该信息已删除或不存在！</p><p><a href=\"/\">返回首页</a></p></div></body></html>\n")
PLACEHOLDER = "<p>该稿件暂不提供浏览。</p>"
BODY = (re.compile(r"(<ucapcontent>)(.*?)(</ucapcontent>)", re.S),
        re.compile(r"(<div class=\"view TRS_UEDITOR[^\"]*\">)(.*?)(</div>)", re.S),
        re.compile(r"(<div id=\"zoom\">)(.*?)(</div>)", re.S))


def load_days(path: Path = MANIFEST) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["changes"]


def _file(sites: Path, url: str) -> tuple[Path, str]:
    u = urllib.parse.urlsplit(url)
    return sites / u.netloc / u.path.lstrip("/"), u.path


def _edit(path: Path, fn) -> None:
    text = path.read_text(encoding="utf-8")
    new = fn(text)
    if new == text:
        raise ValueError(f"{path}: the change made no difference (the manifest is out of date?)")
    path.write_text(new, encoding="utf-8")


def _fault(sites: Path, url: str, spec: dict) -> None:
    host = sites / urllib.parse.urlsplit(url).netloc
    faults_file = host / "_faults.json"
    faults = json.loads(faults_file.read_text(encoding="utf-8")) if faults_file.exists() else {}
    faults[urllib.parse.urlsplit(url).path] = spec
    faults_file.write_text(json.dumps(faults, ensure_ascii=False, indent=1), encoding="utf-8")


def _delist(sites: Path, url: str) -> None:
    """Remove the link to `url` from every list page of its folder (not from article pages)."""
    path, upath = _file(sites, url)
    name = upath.rsplit("/", 1)[-1]
    item = re.compile(r"<li>(?:(?!</li>).)*?%s(?:(?!</li>).)*?</li>\n?" % re.escape(name), re.S)
    hits = 0
    for page in sorted(path.parent.glob("*")):
        if page.is_file() and page.suffix in (".shtml", ".html") and re.match(r"(index|list)", page.name):
            text = page.read_text(encoding="utf-8")
            new = item.sub("", text)
            if new != text:
                hits += 1
                page.write_text(new, encoding="utf-8")
    if not hits:
        raise ValueError(f"{url}: no list page links it")


def _copy_list(sites: Path, source_url: str, target: Path) -> None:
    """A second column's list page: the list page at `source_url`, its relative links absolute
    (they point into the first column's folder) and its TRS pager cut to this one page."""
    src, upath = _file(sites, source_url)
    folder = upath.rsplit("/", 1)[0] + "/"
    text = src.read_text(encoding="utf-8").replace('href="./', f'href="{folder}')
    text = re.sub(r"createPageHTML\(\d+,", "createPageHTML(1,", text)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _placeholder(text: str) -> str:
    for body in BODY:
        if body.search(text):
            return body.sub(lambda m: m.group(1) + PLACEHOLDER + m.group(3), text, count=1)
    return text


def apply(change: dict, sites: Path) -> None:
    """Apply one change of the manifest to a copy of the sites."""
    path, _ = _file(sites, change["url"])
    kind = change["change"]
    if kind == "replace":
        _edit(path, lambda t: t.replace(change["old"], change["new"]))
    elif kind == "drop_paragraph":
        _edit(path, lambda t: re.sub(r"<p>[^<]*%s[^<]*</p>\n?" % re.escape(change["contains"]), "", t, count=1))
    elif kind == "delete":
        path.unlink()
    elif kind == "status":
        _fault(sites, change["url"], {"status": int(change["status"]),
                                      "body": "<html><body><h1>%d</h1></body></html>" % change["status"]})
    elif kind == "redirect":
        _fault(sites, change["url"], {"redirect": change["to"], "status": 302})
    elif kind == "soft_404":
        path.write_text(SOFT_404, encoding="utf-8")
    elif kind == "placeholder":
        _edit(path, _placeholder)
    elif kind == "delist":
        _delist(sites, change["url"])
    elif kind == "copy_list":
        _copy_list(sites, change["from"], path)
    else:
        raise ValueError(f"unknown change {kind!r} in {MANIFEST.name}")


def build(day: int, out: Path, sites: Path = DEFAULT_SITES, changes: list[dict] | None = None) -> Path:
    """A copy of the sites as they are on `day` under `out` (replaced if there)."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(sites, out)
    for change in changes if changes is not None else load_days():
        if day in change["days"]:
            apply(change, out)
    return out


class DayServer(MirrorServer):
    """A MirrorServer over a temporary copy of the sites as they are on one day."""

    def __init__(self, day: int):
        self._tmp = tempfile.mkdtemp(prefix=f"mirror-day{day}-")
        super().__init__(build(day, Path(self._tmp) / "sites"))

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def serve(day: int = 1) -> MirrorServer:
    """The mirror as it is on `day` (1: as built), on 127.0.0.1."""
    return DayServer(day)
