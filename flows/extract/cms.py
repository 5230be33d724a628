"""Recognise a page's CMS family from fingerprints in its HTML, so pages that come from no
registry source (a saved page, a new site) still get their family's preset selectors.

Fingerprints from public crawlers (../shared/research/sources.md §8): TRS class names and
its pager, UCAP's custom tags, Hanweb's data proxy and content markers, DedeCMS paths.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

FINGERPRINTS = [
    ("ucap", re.compile(r"<ucapcontent|<ucaptitle", re.I)),
    ("trs", re.compile(r"TRS_Editor|TRS_UEDITOR|trs_editor_view|createPageHTML\(", re.I)),
    ("hanweb", re.compile(r"dataproxy\.jsp|ZJEG_RSS\.content|/module/web/jpage/", re.I)),
    ("dedecms", re.compile(r"/templets/|dedeajax|/plus/count\.php|/plus/search\.php", re.I)),
]


@dataclass(frozen=True)
class PresetView:
    """The extraction side of a registry preset."""

    name: str
    title_selector: str = ""
    body_selector: str = ""
    info_selector: str = ""


@functools.lru_cache(maxsize=1)
def _presets() -> dict[str, PresetView]:
    from crawlers.registry import load_registry
    out = {}
    for name, p in load_registry().presets.items():
        out[name] = PresetView(name, p.get("title_selector", ""), p.get("body_selector", ""),
                               p.get("info_selector", ""))
    return out


def detect(html: str) -> PresetView | None:
    head = html[:300_000]
    for name, rx in FINGERPRINTS:
        if rx.search(head):
            return _presets().get(name)
    return None
