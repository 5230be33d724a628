"""The mirror's golden files: ``tests/golden/mirror-<source>.json``, one per registry source,
which tests/test_extract_golden.py runs the extractor against.

Each golden is derived from the mirror's manifest (expected.json): the source's seed page, or
its newest article when it has none, with the fields an analyst would read (pinyin removed).
``known_misses`` and ``expect_alt`` are kept from the existing file: they are the reviewed
exceptions, not derived. ``python -m mirror.build --goldens`` rewrites them all; a test fails,
naming that command, when a golden is missing or no longer matches the manifest.
"""
from __future__ import annotations

import json
from pathlib import Path

from .seedtext import strip_pinyin

PKG_DIR = Path(__file__).resolve().parent
GOLDEN_DIR = PKG_DIR.parent / "tests" / "golden"
REGENERATE = "python -m mirror.build --goldens"
KEPT = ("known_misses", "expect_alt")      # hand-reviewed: carried over from the old file


def golden_path(source: str, golden_dir: Path = GOLDEN_DIR) -> Path:
    return golden_dir / f"mirror-{source}.json"


def derive(entries: list[dict]) -> dict:
    """The golden of one source from its manifest entries (newest first)."""
    e = next((x for x in entries if x["seed"]), entries[0])
    return {
        "page": {"mirror": e["path"]},
        "source_name": e["source"],
        "url": e["url"],
        "list_date": e["list_date"],
        "expect": {k: strip_pinyin(e[k]) for k in ("title", "published_at", "original_source", "author")},
        "must_contain": [strip_pinyin(f) for f in e["must_include"]],
        "must_not_contain": [strip_pinyin(f) for f in e["must_exclude"]],
        "known_misses": [],
    }


def expected_goldens(manifest_path: Path) -> dict[str, dict]:
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    by_source: dict[str, list] = {}
    for e in manifest:
        by_source.setdefault(e["source"], []).append(e)
    return {name: derive(entries) for name, entries in by_source.items()}


def derived_part(golden: dict) -> dict:
    """What of a golden file the manifest decides (everything but the reviewed exceptions)."""
    return {k: v for k, v in golden.items() if k not in KEPT}


def write_goldens(manifest_path: Path, golden_dir: Path = GOLDEN_DIR) -> list[Path]:
    written = []
    for name, golden in expected_goldens(manifest_path).items():
        path = golden_path(name, golden_dir)
        if path.exists():
            old = json.loads(path.read_text(encoding="utf-8"))
            golden.update({k: old[k] for k in KEPT if k in old})
        path.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written
