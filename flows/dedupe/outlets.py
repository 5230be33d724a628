"""Outlet names: who publishes as whom, compared folded and simplified, for the canonical
choice (a copy's 来源 crediting another member's outlet)."""
from __future__ import annotations

import functools
import re

from flows.dedupe.minhash import fold_str


_NAME_SPLIT = re.compile(r"[、,，/|；;]+|\s{2,}")


@functools.lru_cache(maxsize=4096)
def name_key(name: str | None) -> str:
    """Outlet names compared folded and simplified: 海報新聞 == 海报新闻 == '海报 新闻'."""
    if not name:
        return ""
    from flows.extract.script import to_simplified
    return fold_str(to_simplified(name))


def credited_keys(original_source: str | None) -> set[str]:
    if not original_source:
        return set()
    return {k for k in (name_key(p) for p in _NAME_SPLIT.split(original_source)) if k}


def registry_outlets(registry, field_name: str = "outlet_names") -> dict[str, tuple[str, ...]]:
    """source name -> the outlet names it publishes as: its registry `title`, plus the optional
    per-source `outlet_names` list (e.g. ["人民日报", "人民网"] for a people.com.cn source)."""
    out = {}
    for s in registry.sources:
        names = [s.title] + list(getattr(s, field_name, ()) or ())
        out[s.name] = tuple(n for n in names if n)
    return out
