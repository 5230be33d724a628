"""The mirror's articles: ``mirror/content.toml`` (invented variations and seed placements, one
table per article of each source; the file says the keys), and ten invented for any registry
source that file does not list, so a new source needs no content written for it."""
from __future__ import annotations

import tomllib
from pathlib import Path

CONTENT = Path(__file__).resolve().with_name("content.toml")
ARTICLES: dict[str, list[dict]] = tomllib.loads(CONTENT.read_text(encoding="utf-8"))

# A registry source with no entries in content.toml gets ten articles invented from its own name:
# the mirror serves it without anyone writing content for it (`invented`). The topics are fiction.
INVENTED_TOPICS = [
    "召开生态环境保护工作推进会", "发布上半年生态环境质量状况", "开展大气污染防治专项检查", "部署汛期河湖巡查工作",
    "举办绿色低碳发展交流活动", "推进固体废物综合治理", "启动生物多样性本底调查", "通报建设项目环评审批情况",
    "开展六五环境日宣传活动", "召开碳达峰碳中和工作会议",
]

# Bylines name people: "本网记者" alone credits no one, and the extractor rightly keeps no author for it.
INVENTED_AUTHORS = ["王晓明", "李婧", "陈立新", "赵雪", "刘洋"]


def invented(site_title: str, column: str) -> list[dict]:
    """Ten variations for a source without an entry in ARTICLES: newest first, two days apart."""
    out = []
    for n, topic in enumerate(INVENTED_TOPICS):
        day = 28 - 2 * n
        when = "2025-06-%02d %02d:%02d" % (day, 9 + n % 8, 5 * n)
        out.append(dict(
            date=when, title="%s%s" % (site_title, topic), source=site_title, author=None if n % 2 else INVENTED_AUTHORS[n // 2 % len(INVENTED_AUTHORS)],
            lead="6月%d日,%s%s。这是%s栏目第%d篇由镜像生成的稿件,用于检验抓取、抽取和入库的每一个环节。"
                 % (day, site_title, topic, column, n + 1)))
    return out
