"""Recognise a page's CMS family from fingerprints in its HTML, so pages that come from no
registry source (a saved page, a new site) still get their family's preset selectors.

Fingerprints from public crawlers (../shared/research/sources.md §8): TRS class names and
its pager, UCAP's custom tags, Hanweb's data proxy and content markers, DedeCMS paths.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Mapping

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
def _default_presets() -> dict:
    from crawlers.registry import load_registry
    return load_registry().presets


def detect(html: str, presets: Mapping[str, Mapping] | None = None) -> PresetView | None:
    """The family whose fingerprint the page carries, with that family's selectors from
    `presets` (the registry in use, so `--registry` counts; default: the bundled one)."""
    head = html[:300_000]
    for name, rx in FINGERPRINTS:
        if rx.search(head):
            p = (_default_presets() if presets is None else presets).get(name)
            if p is None:
                return None
            return PresetView(name, p.get("title_selector", ""), p.get("body_selector", ""),
                              p.get("info_selector", ""))
    return None
