"""The hand-labelled set (tests/data/tags, labelling rules in docs/tagging.md): topic precision
>= 0.9 and recall >= 0.85, language and script right on every article, places and partners
near perfect. The same scoring prints per topic in `python -m bench.bench_tags`."""
import json

import pytest

from bench.bench_tags import HOLDOUT_SOURCES, LABELLED, load_labelled, score
from flows.tags import load_taxonomy, province_map, tag_articles


@pytest.fixture(scope="module")
def labelled():
    arts = load_labelled()
    return arts, tag_articles(arts, load_taxonomy(), province_map(), keywords=False)


def test_the_set_is_what_the_issue_asks_for(labelled):
    arts, _ = labelled
    seeds = {a["seed"] for a in arts if a["seed"]}
    assert seeds == {"000", "001", "002", "003", "004"}, "all five seed articles are labelled"
    assert sum(1 for a in arts if not a["seed"]) >= 30, "and at least 30 other mirror articles"
    labels = json.loads((LABELLED / "labels.json").read_text(encoding="utf-8"))
    assert {x["key"] for x in labels} == {a["id"] for a in arts}
    assert all(x["topics"] is not None and x["language"] and x["script"] for x in labels)


def test_topic_precision_and_recall(labelled):
    arts, tags = labelled
    s = score(arts, tags)["topic"]
    p, r = s.overall()
    assert p >= 0.90 and r >= 0.85, f"P {p:.3f} R {r:.3f}; errors: {s.errors}"


def test_topic_precision_and_recall_on_held_out_sources(labelled):
    # term weights were set looking at errors on the other sources only
    arts, tags = labelled
    p, r = score(arts, tags, HOLDOUT_SOURCES)["topic"].overall()
    assert p >= 0.90 and r >= 0.85, f"held out: P {p:.3f} R {r:.3f}"


def test_language_and_script_on_every_labelled_article(labelled):
    arts, tags = labelled
    s = score(arts, tags)["langscript"]
    assert not s.errors, s.errors


def test_places_and_partners(labelled):
    arts, tags = labelled
    scores = score(arts, tags)
    for kind in ("place", "partner"):
        p, r = scores[kind].overall()
        assert p >= 0.95 and r >= 0.95, f"{kind}: P {p:.3f} R {r:.3f}; {scores[kind].errors}"


def test_every_article_gets_one_language_and_its_sources_province(labelled):
    arts, tags = labelled
    provinces = province_map()
    by = {}
    for t in tags:
        by.setdefault(t.article_id, []).append(t)
    for a in arts:
        langs = [t for t in by[a["id"]] if t.kind == "language"]
        assert len(langs) == 1
        if provinces.get(a["source"]):
            assert provinces[a["source"]] in {t.tag for t in by[a["id"]] if t.kind == "place"}
