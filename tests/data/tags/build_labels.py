"""Rebuild labels.json from articles.jsonl + worksheet.toml (the hand reading notes).

    .venv/bin/python tests/data/tags/build_labels.py

Every paragraph of every article must be accounted for: either it is a seed paragraph noted in
[paragraphs] or it is the article's headline + lead noted in [leads]. The source's own province
(crawlers/sources.toml) is added to the places, as the tagger does.
"""
from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from crawlers.registry import load_registry  # noqa: E402
from flows.extract.script import to_simplified  # noqa: E402

CODES = {"cl": "climate", "ca": "carbon", "bi": "biodiversity", "po": "pollution",
         "gf": "green_finance", "gi": "green_industry", "ec": "eco_civilisation",
         "ic": "intl_cooperation"}


def norm(p: str) -> str:
    return p.replace("\u2015", "\u2014").replace("\u30fb", "\u00b7").strip()


def main() -> None:
    sheet = tomllib.loads((HERE / "worksheet.toml").read_text(encoding="utf-8"))
    arts = [json.loads(line) for line in (HERE / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    provinces = {s.name: s.province for s in load_registry().sources}
    script_of = {src: sc for sc, srcs in sheet["scripts"].items() for src in srcs}
    seed_para = {}
    for a in arts:
        if a["seed"]:
            for i, p in enumerate(to_simplified(a["text"]).split("\n\n")):
                seed_para.setdefault(norm(p), f"{a['seed']}.{i}")
    out = []
    problems = []
    for a in arts:
        notes = [sheet["leads"][a["key"]]]
        leftovers = []
        for p in to_simplified(a["text"]).split("\n\n"):
            key = seed_para.get(norm(p))
            if key is None:
                leftovers.append(p[:30])
            elif key not in sheet["paragraphs"]:
                problems.append(f"{a['key']}: paragraph {key} has no note")
            else:
                notes.append(sheet["paragraphs"][key])
        if len(leftovers) > (0 if a["seed"] else 1):
            problems.append(f"{a['key']}: unnoted paragraphs {leftovers}")
        strong = {c for n in notes for c in n.get("M", [])}
        weak: dict[str, int] = {}
        for n in notes:
            for c in n.get("m", []):
                weak[c] = weak.get(c, 0) + 1
        topics = sorted(CODES[c] for c in strong | {c for c, k in weak.items() if k >= 2})
        places = {p for n in notes for p in n.get("places", [])}
        if provinces.get(a["source"]):
            places.add(provinces[a["source"]])
        partners = {p for n in notes for p in n.get("partners", [])}
        out.append({"key": a["key"], "url": a["url"], "language": "zh", "script": script_of[a["source"]],
                    "topics": topics, "places": sorted(places), "partners": sorted(partners)})
    if problems:
        sys.exit("\n".join(problems))
    (HERE / "labels.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(out)} labelled articles -> {HERE / 'labels.json'}")


if __name__ == "__main__":
    main()
