"""Extraction conventions, one test per convention (docs/extraction.md lists the pages each
was seen on). Synthetic pages stand for the templates: they must not be the pages the rules
were read from."""
import datetime as dt

import pytest

from flows.extract import extract
from flows.extract.body import Content, better_covering, is_prose
from flows.extract.dom import Line

SENT = "国务院办公厅近日印发关于进一步加强生态环境保护工作的意见，要求各地区各部门认真贯彻落实，推动绿色低碳发展。"


def para(i: int) -> str:
    return f"第{i}段：" + SENT


def lines(texts):
    return [Line(t, len(t.replace(" ", "")), 0) for t in texts]


def prose_of(page):
    return [(i, ln) for i, ln in enumerate(page) if is_prose(ln)]


# --- the body's safety net ---------------------------------------------------------------------
def test_the_net_takes_the_article_when_ours_was_a_teaser_elsewhere():
    page = lines(["导航", para(0), "相关阅读", "标题", *[para(i) for i in range(1, 17)], "版权所有"])
    ours = Content(para(0), "density")
    theirs = "\n\n".join(para(i) for i in range(1, 17))
    got = better_covering(ours, theirs, prose_of(page), page)
    assert got.rule == "trafilatura>density" and para(16) in got.text


def test_the_net_takes_the_rest_of_an_article_split_over_blocks():
    page = lines(["标题", *[para(i) for i in range(6)], "图片", *[para(i) for i in range(6, 12)], "版权所有"])
    ours = Content("\n\n".join(para(i) for i in range(6)), "density")
    theirs = "\n\n".join(para(i) for i in range(12))
    got = better_covering(ours, theirs, prose_of(page), page)
    assert got.rule.startswith("trafilatura") and para(11) in got.text and para(0) in got.text


def test_the_net_leaves_ours_when_the_rest_is_other_stories():
    # a short article, then sidebar stories among headlines, times and ads (a portal page)
    side = []
    for i in range(10, 20):
        side += [f"另一条新闻标题{i}", "3小时前", "广告", "热门", "更多", "推荐", "视频", para(i)]
    page = lines(["标题", para(0), para(1), *side])
    ours = Content(para(0) + "\n\n" + para(1), "density")
    theirs = "\n\n".join([para(0), para(1)] + [para(i) for i in range(10, 20)])
    assert better_covering(ours, theirs, prose_of(page), page) is ours
