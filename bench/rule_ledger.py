"""The rule ledger: for every extraction rule, the pages it fired on and how often it was right.

    python -m bench.rule_ledger [--sets dev,dev2] [--mirror] [--verbose]

Runs the extractor over the labelled corpora (../shared/corpus/dev and dev2; `--mirror`
adds the bundled mirror's articles, labelled by mirror/expected.json) and judges every
candidate every rule proposed with the corpus scorer's own matching (score.py field_ok).
Per rule and field it prints: pages fired (per set), right when proposed, times it won the
choice and right when it won. A rule is flagged when it fired on one page only, or when it
was wrong more often than right when it won: such a rule is fitted to a page, not a
convention, and goes. The body's rules (preset / density / trafilatura) are judged by recall.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from collections import defaultdict
from pathlib import Path

from bench.corpus import corpus

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"title": "title", "published_at": "date", "original_source": "source", "author": "author"}


def _scorer():
    spec = importlib.util.spec_from_file_location("nf_ledger_score", corpus("dev") / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def corpus_pages(name: str):
    """(set, page id, bytes, url, label, extract kwargs) for one labelled corpus."""
    base = corpus(name)
    for path in sorted((base / "labels").glob("*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        yield name, label["id"], (base / "pages" / f"{label['id']}.html").read_bytes(), label.get("url"), label, {}


def mirror_pages():
    from flows.extract.normalise import strip_pinyin
    for e in json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8")):
        # (mirror pages carry the pinyin of content-farm copies; the extractor strips it)
        label = {"id": e["path"], "title": strip_pinyin(e["title"]),
                 "date": (e.get("published_at") or "")[:10] or None,
                 "source": strip_pinyin(e.get("original_source")), "author": strip_pinyin(e.get("author")),
                 "must_include": [strip_pinyin(f) for f in e.get("must_include", [])],
                 "must_exclude": [strip_pinyin(f) for f in e.get("must_exclude", [])]}
        kwargs = {"list_date": e.get("list_date")}
        yield "mirror", e["path"], (ROOT / "mirror" / "sites" / e["path"]).read_bytes(), e["url"], label, kwargs


def _as_scored(field: str, value):
    return value.isoformat() if field == "published_at" and value is not None else value


def ledger(sets, with_mirror: bool):
    from flows.extract import ExtractError, extract
    score = _scorer()
    rows = defaultdict(lambda: {"fired": defaultdict(set), "right": 0, "proposed": 0, "won": 0,
                                "won_right": 0, "pages_wrong": []})
    pages = [p for name in sets for p in corpus_pages(name)] + (list(mirror_pages()) if with_mirror else [])
    for set_name, pid, html, url, label, kwargs in pages:
        try:
            e = extract(html, url, **kwargs)
        except ExtractError:
            continue
        for field, short in FIELDS.items():
            best: dict[str, object] = {}
            for c in sorted(e.candidates.get(field, ()), key=lambda c: -c.weight):
                best.setdefault(c.rule, c.value)
            winner = e.provenance.get(field)
            for rule, value in best.items():
                row = rows[(short, rule)]
                ok = score.field_ok(short, _as_scored(field, value), label)
                row["fired"][set_name].add(pid)
                row["proposed"] += 1
                row["right"] += ok
                if not ok:
                    row["pages_wrong"].append(pid)
                if rule == winner:
                    row["won"] += 1
                    row["won_right"] += ok
        body = score.norm(e.text)
        recall = sum(score.norm(f) in body for f in label["must_include"]) / max(len(label["must_include"]), 1)
        # the body's rule: the preset's container, density, or trafilatura's text (as the
        # fallback or the safety net)
        rule = (e.provenance.get("text") or "").split(":")[0].split(">")[0].split("+")[0]
        row = rows[("text", rule)]
        row["fired"][set_name].add(pid)
        row["proposed"] += 1
        row["won"] += 1
        row["right"] += recall == 1
        row["won_right"] += recall == 1
        if recall < 1:
            row["pages_wrong"].append(pid)
    return rows


def flagged(row) -> str:
    """Judged on the real pages only (the mirror's are generated from a few templates)."""
    pages = sum(len(v) for k, v in row["fired"].items() if k != "mirror")
    if pages == 0:
        return "no real page"      # (an input of the pipeline, such as the list date)
    if pages == 1:
        return "ONE PAGE"
    if row["won"] and row["won"] - row["won_right"] > row["won_right"]:
        return "WRONG WHEN WON"
    return ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="dev,dev2", help="labelled corpora to run over (default dev,dev2)")
    ap.add_argument("--mirror", action="store_true", help="also the bundled mirror's articles")
    ap.add_argument("--verbose", "-v", action="store_true", help="list the pages where each rule was wrong")
    ap.add_argument("--pages", action="store_true", help="list real pages each rule fired on")
    args = ap.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    missing = [s for s in sets if not (corpus(s) / "labels").is_dir()]
    if missing:
        raise SystemExit(f"corpus not found: {', '.join(missing)} (looked beside the checkout; set NEWSFLOW_CORPUS)")
    rows = ledger(sets, args.mirror)
    names = sets + (["mirror"] if args.mirror else [])
    head = f"{'field':7s} {'rule':24s}" + "".join(f"{n:>7s}" for n in names) + \
        f"{'right/proposed':>16s}{'right/won':>12s}  flag"
    print(head)
    n_flag = 0
    for (field, rule), row in sorted(rows.items()):
        fired = "".join(f"{len(row['fired'].get(n, ())):7d}" for n in names)
        flag = flagged(row)
        n_flag += flag in ("ONE PAGE", "WRONG WHEN WON")
        print(f"{field:7s} {rule:24s}{fired}{row['right']:>9d}/{row['proposed']:<6d}"
              f"{row['won_right']:>6d}/{row['won']:<5d}  {flag}")
        if args.verbose and row["pages_wrong"]:
            print(f"{'':33s}wrong on: {', '.join(sorted(set(row['pages_wrong']))[:12])}")
        if args.pages:
            real = sorted(p for k, v in row["fired"].items() if k != "mirror" for p in v)
            print(f"{'':33s}fired on: {', '.join(real[:6])}{' …' if len(real) > 6 else ''}")
    print(f"\n{len(rows)} rules; {n_flag} flagged (fired on one page only, or wrong more often than right when chosen)")


if __name__ == "__main__":
    main()
