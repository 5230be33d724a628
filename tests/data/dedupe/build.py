"""Build the labelled dedupe set: `docs.jsonl` (one article per line, with its story) and
`pairs.tsv` (labelled pairs). Deterministic: `random.Random(5)`, no clock, no network.

    .venv/bin/python tests/data/dedupe/build.py          # rewrites docs.jsonl and pairs.tsv

Sources of the text:
- the 80 articles of the bundled mirror (`mirror/expected.json` + `mirror/sites/**`), run
  through the real extraction and normalisation (`flows.process.to_record`), so the bodies are
  exactly what the pipeline stores. Five of them are the seed pages (`/work/shared/seeds`,
  copied verbatim into `mirror/seeds/`). The 人民日报 story (seed 003) is on gzwhw and, as a
  syndicated copy, on gz-sthj: the one natural duplicate pair.
- copies derived from those articles (exact, edited re-posts, traditional script with pinyin
  annotations, simplified copies of the traditional sites' stories), made as a re-poster
  would, then normalised by the pipeline's own functions (`strip_pinyin`, `clean_body`,
  `to_simplified`), as `flows/process.py` does for a crawled page.
- list-style pages (公示, monthly air-quality bulletins, 行政处罚 lists) of three departments:
  a shared template with different items. Different pages are different stories.

Labels: every article has a `story`. Two articles are a positive pair when their story is the
same, a negative otherwise. `pairs.tsv` lists every positive pair and the hard negatives
(same department; list pages of one template; any two texts sharing a paragraph); the
evaluation also counts any other predicted pair as a false positive.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from opencc import OpenCC  # noqa: E402

from crawlers.registry import load_registry  # noqa: E402
from flows.extract.normalise import article_id, clean_body, clean_inline, strip_pinyin  # noqa: E402
from flows.process import to_record  # noqa: E402
from flows.extract.script import detect_script, to_simplified  # noqa: E402
from mirror.build import annotate  # noqa: E402
from schemas import Article, RawPage  # noqa: E402

OUT = Path(__file__).resolve().parent
SH = dt.timezone(dt.timedelta(hours=8))
S2T = OpenCC("s2t")
T2S = OpenCC("t2s")
rng = random.Random(5)

# re-posting outlets (invented; none is a registry source)
FARM = [("farm-huaxia", "华夏资讯网"), ("farm-lvse", "绿色财经头条"), ("farm-tianxia", "天下环保资讯")]
PORTAL = [("portal-dongfang", "东方环保网"), ("portal-xibu", "西部生态在线"), ("portal-beibu", "北部湾新闻网")]
EDITORS = ["李华", "王芳", "陈静", "刘洋", "赵敏", "孙磊"]


def mirror_articles() -> list[dict]:
    reg = load_registry()
    by = {s.name: s for s in reg.sources}
    exp = json.loads((ROOT / "mirror/expected.json").read_text(encoding="utf-8"))
    out = []
    for e in exp:
        body = (ROOT / "mirror/sites" / e["path"]).read_bytes()
        site = json.loads((ROOT / "mirror/sites" / e["path"].split("/")[0] / "_site.json").read_text())
        ct = "text/html" + (f"; charset={site['encoding']}" if site.get("content_type_charset") else "")
        page = RawPage(url=e["url"], final_url=e["url"], status=200, headers=(("Content-Type", ct),),
                       body=body, fetched_at=dt.datetime(2025, 7, 15, tzinfo=dt.timezone.utc),
                       source=e["source"], list_date=e["list_date"])
        a = to_record(page, by.get(e["source"]))
        assert isinstance(a, Article), e["url"]
        story = "m:" + (e["syndicated_from"] or e["url"])
        out.append(doc(a.id, story, "mirror_syndicated" if e["syndicated_from"] else "mirror",
                       a.source, a.url, a.title, a.text, a.published_at, a.original_source,
                       base=article_id(e["syndicated_from"]) if e["syndicated_from"] else None))
    return out


def doc(id_, story, kind, source, url, title, text, published_at, original_source, base=None,
        edits=()):
    """A labelled article as the pipeline would store it (simplified copies, script)."""
    return dict(id=id_, story=story, kind=kind, source=source, url=url, title=title, text=text,
                title_simplified=to_simplified(title), text_simplified=to_simplified(text),
                script=detect_script(title + "\n" + text),
                published_at=published_at.isoformat() if published_at else None,
                original_source=original_source, base=base, edits=list(edits))


def pipeline_text(raw: str) -> str:
    return clean_body(strip_pinyin(raw))


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


# --- edits a re-poster makes ----------------------------------------------------------------
SUBS = [("近日", "日前"), ("表示", "指出"), ("开展", "进行"), ("积极", "大力"), ("进一步", "更加"),
        ("目前", "当前"), ("举行", "举办"), ("推动", "推进"), ("加强", "强化"), ("有关", "相关"),
        ("日前", "近日"), ("召开", "举行")]


def op_header(ps, meta):
    outlet, title = meta["outlet"], meta["title"]
    form = rng.choice(["来源", "原标题", "讯"])
    if form == "来源":
        return [f"来源：{meta['credit']}　编辑：{rng.choice(EDITORS)}"] + ps
    if form == "原标题":
        return [f"原标题：{title}"] + ps
    return [f"{outlet}讯（记者 {rng.choice(EDITORS)}）" + ps[0]] + ps[1:]


def op_footer(ps, meta):
    form = rng.choice([
        f"（责任编辑：{rng.choice(EDITORS)}）",
        f"本文转载自{meta['credit']}，版权归原作者所有，如有侵权请联系本网删除。",
        f"【纠错】　【责任编辑：{rng.choice(EDITORS)}】",
        "声明：转载此文是出于传递更多信息之目的。若有来源标注错误或侵犯了您的合法权益，请作者持权属证明与本网联系，我们将及时更正、删除，谢谢。",
    ])
    return ps + [form]


def op_drop_paragraph(ps, meta):
    """An edit drops a short paragraph (at most a quarter of the text), never the lead."""
    total = sum(len(p) for p in ps)
    small = [i for i in range(1, len(ps)) if len(ps[i]) <= total / 4]
    if len(ps) < 3 or not small:
        return None
    i = rng.choice(small)
    return ps[:i] + ps[i + 1:]


def op_words(ps, meta):
    text = "\n\n".join(ps)
    n = 0
    for a, b in rng.sample(SUBS, len(SUBS)):
        if a in text and n < 4:
            text = text.replace(a, b, 1)
            n += 1
    if n == 0:
        return None
    return text.split("\n\n")


def op_drop_sentence(ps, meta):
    i = rng.randrange(len(ps))
    sents = re.split(r"(?<=。)", ps[i])
    sents = [s for s in sents if s]
    if len(sents) < 2:
        return None
    j = rng.randrange(len(sents))
    ps = list(ps)
    ps[i] = "".join(sents[:j] + sents[j + 1:])
    return ps


def op_related(ps, meta):
    return ps + [f"延伸阅读：{meta['other_title']}"]


def op_split_merge(ps, meta):
    if len(ps) >= 3 and rng.random() < 0.5:
        i = rng.randrange(len(ps) - 1)
        return ps[:i] + [ps[i] + ps[i + 1]] + ps[i + 2:]
    i = max(range(len(ps)), key=lambda k: len(ps[k]))
    cut = ps[i].find("。", len(ps[i]) // 2)
    if cut < 0 or cut == len(ps[i]) - 1:
        return None
    return ps[:i] + [ps[i][:cut + 1], ps[i][cut + 1:]] + ps[i + 1:]


OPS = [op_header, op_footer, op_drop_paragraph, op_words, op_drop_sentence, op_related, op_split_merge]


def edited(ps: list[str], meta: dict, n_ops: int) -> tuple[list[str], list[str]]:
    done = []
    for op in rng.sample(OPS, len(OPS)):
        if len(done) >= n_ops:
            break
        new = op(ps, meta)
        if new is not None:
            ps, done = new, done + [op.__name__[3:]]
    return ps, done


def punct_variant(text: str) -> str:
    """The same text as another CMS renders it: full-width punctuation, indents, single breaks."""
    t = text.replace(",", "，").replace(":", "：").replace(";", "；").replace("(", "（").replace(")", "）")
    return "\n".join("　　" + p for p in paragraphs(t))


def later(published: str | None, hours_lo: float, hours_hi: float) -> dt.datetime:
    base = dt.datetime.fromisoformat(published) if published else dt.datetime(2025, 1, 1, 9, tzinfo=SH)
    return (base + dt.timedelta(hours=rng.uniform(hours_lo, hours_hi))).replace(microsecond=0)


def derived(base: list[dict], site_titles: dict[str, str]) -> list[dict]:
    out = []
    simp = [d for d in base if d["script"] == "simplified" and d["kind"] == "mirror"]
    trad = [d for d in base if d["script"] == "traditional"]
    titles = [d["title_simplified"] for d in base]
    counter = itertools.count(1)

    def credit_of(d):
        return d["original_source"] or site_titles[d["source"]]

    def make(d, kind, source, outlet, text_raw, title, edits, credit=None, script_raw="simplified"):
        n = next(counter)
        url = f"http://www.{source}.example.cn/news/{n:04d}.html"
        return doc(article_id(url), d["story"], kind, source, url, title, pipeline_text(text_raw),
                   later(d["published_at"], 2, 96), credit if credit is not None else credit_of(d),
                   base=d["id"], edits=edits)

    # exact copies: same words, another CMS's punctuation and layout
    for d in rng.sample(simp, 20):
        source, outlet = rng.choice(PORTAL)
        out.append(make(d, "exact", source, outlet, punct_variant(d["text"]), d["title"], ["punct_layout"]))
    # re-posts with edits: 1-3 edits of the kinds syndicators make
    for d in [rng.choice(simp) for _ in range(60)]:    # a story may be re-posted twice
        source, outlet = rng.choice(PORTAL)
        meta = dict(outlet=outlet, title=d["title"], credit=credit_of(d),
                    other_title=rng.choice([t for t in titles if t != d["title_simplified"]]))
        ps, done = edited(paragraphs(d["text"]), meta, rng.choice([1, 2, 2, 3]))
        title = d["title"] if rng.random() < 0.6 else d["title"].replace(" ", "，")[:28]
        out.append(make(d, "edit", source, outlet, "\n\n".join(ps), title, done))
    # excerpts: the first part of the story, then a link to the original (same headline)
    for d in rng.sample([x for x in simp if len(paragraphs(x["text"])) >= 3], 10):
        source, outlet = rng.choice(PORTAL)
        ps = paragraphs(d["text"])
        keep = ps[:max(1, round(len(ps) * rng.uniform(0.5, 0.7)))]
        out.append(make(d, "excerpt", source, outlet, "\n\n".join(keep + ["（未完）点击阅读原文"]),
                        d["title"], ["excerpt"]))
    # content-farm copies: traditional script with pinyin annotations, some also edited
    for d in rng.sample(simp, 32):
        source, outlet = rng.choice(FARM)
        ps = paragraphs(d["text"])
        done = ["s2t", "pinyin"]
        if rng.random() < 0.4:
            meta = dict(outlet=outlet, title=d["title"], credit=credit_of(d),
                        other_title=rng.choice(titles))
            ps, more = edited(ps, meta, 1)
            done += more
        raw = annotate(S2T.convert("\n\n".join(ps)))
        title = strip_pinyin(annotate(S2T.convert(d["title"])))
        out.append(make(d, "trad_pinyin", source, outlet, raw, clean_inline(title), done,
                        credit=S2T.convert(credit_of(d))))
    # the traditional sites' stories re-posted in simplified script by a portal
    for d in trad:
        if rng.random() < 0.6:
            source, outlet = rng.choice(PORTAL)
            meta = dict(outlet=outlet, title=d["title_simplified"], credit=to_simplified(credit_of(d)),
                        other_title=rng.choice(titles))
            ps, done = edited(paragraphs(T2S.convert(d["text"])), meta, rng.choice([0, 1]))
            out.append(make(d, "simplified_copy", source, outlet, "\n\n".join(ps), d["title_simplified"],
                            ["t2s"] + done, credit=to_simplified(credit_of(d))))
    return out


# --- list-style pages -----------------------------------------------------------------------
PLACES = ["济南市历城区", "青岛市黄岛区", "淄博市临淄区", "烟台市莱山区", "潍坊市寿光市", "济宁市兖州区",
          "泰安市肥城市", "威海市文登区", "日照市岚山区", "临沂市兰山区", "德州市陵城区", "聊城市茌平区",
          "滨州市邹平市", "菏泽市东明县", "枣庄市滕州市", "东营市垦利区"]
FIRMS = ["华鲁", "鲁信", "金岭", "恒源", "海化", "东岳", "齐翔", "鲁西", "晨鸣", "太阳", "万华", "新华"]
KINDS = ["年产20万吨化工新材料项目", "热电联产机组超低排放改造项目", "危险废物综合利用项目",
         "污水处理厂提标改造工程", "锂电池正极材料生产线项目", "生活垃圾焚烧发电项目",
         "港区散货码头扩建工程", "光伏组件生产基地建设项目", "精细化工中间体技改项目", "固废资源化利用项目"]
AGENCIES = ["山东省环境保护科学研究设计院有限公司", "青岛京诚检测科技有限公司", "山东海美侬项目咨询有限公司",
            "济南市环境研究院", "山东正清环保科技有限公司"]
CITIES = ["济南", "青岛", "淄博", "枣庄", "东营", "烟台", "潍坊", "济宁", "泰安", "威海", "日照", "临沂",
          "德州", "聊城", "滨州", "菏泽"]
VIOLATIONS = ["超标排放大气污染物", "未按规定运行污染防治设施", "未批先建", "危险废物贮存不规范",
              "自动监测数据弄虚作假", "未取得排污许可证排放污染物", "堆放物料未采取有效覆盖措施",
              "通过暗管逃避监管排放水污染物"]
LAWS = [("《中华人民共和国大气污染防治法》", "第十八条", "第九十九条"),
        ("《中华人民共和国水污染防治法》", "第三十九条", "第八十三条"),
        ("《中华人民共和国环境影响评价法》", "第二十五条", "第三十一条"),
        ("《中华人民共和国固体废物污染环境防治法》", "第八十一条", "第一百一十二条")]


def gongshi_page(n: int) -> tuple[str, str]:
    items = []
    for k in range(rng.randint(3, 6)):
        firm = rng.choice(FIRMS) + rng.choice(["化工", "能源", "环保", "新材料", "实业"]) + "有限公司"
        place = rng.choice(PLACES)
        items.append(f"{k + 1}.项目名称：{firm}{rng.choice(KINDS)}\n建设地点：{place}\n建设单位：{firm}\n"
                     f"环境影响评价机构：{rng.choice(AGENCIES)}\n项目概况：项目总投资{rng.randint(2, 90) * 1000}万元，"
                     f"其中环保投资{rng.randint(80, 2000)}万元，占地面积{rng.randint(10, 300)}亩。")
    m, d = rng.randint(1, 12), rng.randint(1, 20)
    text = ("根据建设项目环境影响评价审批程序的有关规定，经审查，我厅拟对以下建设项目环境影响评价文件作出审批意见。"
            "为保证此次审查工作的严肃性和公正性，现将拟批准的建设项目环境影响评价文件基本情况予以公示，"
            f"公示期为2025年{m}月{d}日至{m}月{d + 6}日（5个工作日）。\n\n" + "\n\n".join(items) +
            "\n\n听证权利告知：依据《中华人民共和国行政许可法》，自公示起五日内申请人、利害关系人可对上述拟作出的"
            "建设项目环境影响评价文件批复决定要求听证。\n\n联系电话：0531-66226365　传真：0531-66226356\n\n"
            "通讯地址：济南市历下区山大南路33号　邮编：250100")
    return f"山东省生态环境厅建设项目环境影响评价文件拟批准公示（2025年第{n}期）", text


def air_page(month: int) -> tuple[str, str]:
    rows = []
    for c in CITIES:
        rows.append(f"{c}市：优良天数比例{rng.uniform(55, 95):.1f}%，PM2.5平均浓度{rng.randint(18, 60)}微克/立方米，"
                    f"同比{rng.choice(['改善', '上升'])}{rng.uniform(0.5, 15):.1f}%。")
    pm = rng.randint(25, 55)
    text = (f"2025年{month}月，全省16市细颗粒物（PM2.5）平均浓度为{pm}微克/立方米，同比{rng.choice(['改善', '上升'])}"
            f"{rng.uniform(1, 12):.1f}%；可吸入颗粒物（PM10）平均浓度为{pm + rng.randint(20, 40)}微克/立方米；"
            f"优良天数比例为{rng.uniform(60, 90):.1f}%，同比{rng.choice(['增加', '减少'])}{rng.uniform(0.5, 8):.1f}个百分点；"
            f"重污染天数比例为{rng.uniform(0, 3):.1f}%。\n\n各市情况如下：\n\n" + "\n".join(rows) +
            "\n\n注：以上数据为实时监测数据，未经审核，最终结果以年度环境质量公报为准。排名按照《山东省环境空气质量"
            "生态补偿暂行办法》规定的方法计算。")
    return f"2025年{month}月全省环境空气质量状况", text


def penalty_page(n: int) -> tuple[str, str]:
    items = []
    for k in range(rng.randint(4, 7)):
        firm = rng.choice(FIRMS) + rng.choice(["化工", "建材", "印染", "电镀", "食品"]) + "有限公司"
        law, art, pen = rng.choice(LAWS)
        items.append(f"{k + 1}.{firm}（统一社会信用代码：91370{rng.randint(10**12, 10**13 - 1)}）因{rng.choice(VIOLATIONS)}，"
                     f"违反了{law}{art}的规定，依据{law}{pen}，我局决定对其处以罚款人民币{rng.randint(2, 80)}万元。")
    text = ("为进一步推进环境执法信息公开，接受社会监督，现将我局作出的行政处罚决定信息公开如下：\n\n" + "\n\n".join(items) +
            "\n\n当事人如对上述行政处罚决定不服，可在收到处罚决定书之日起六十日内向济南市人民政府申请行政复议，"
            "或者在六个月内直接向人民法院提起行政诉讼。\n\n济南市生态环境局\n\n2025年")
    return "济南市生态环境局行政处罚决定信息公开", text     # the same headline every month


TOPICS = [("大气污染防治", "臭氧污染防控", "重点行业企业夏季错峰生产"),
          ("水环境治理", "小清河流域水质", "入河排污口排查整治"),
          ("固体废物管理", "危险废物规范化管理", "医疗废物集中处置"),
          ("环评审批服务", "重大项目环评要素保障", "环评审批“绿色通道”"),
          ("生态环境执法", "“双随机、一公开”监管", "非现场执法手段"),
          ("安全生产", "汛期环境应急准备", "突发环境事件应急预案"),
          ("土壤污染防治", "建设用地土壤污染风险管控", "农用地安全利用")]
LEADERS = ["王建国", "刘志强", "张卫东", "陈立新"]


def meeting_page(n: int) -> tuple[str, str]:
    """Different meetings under one generic headline, in the department's house style."""
    topic, focus, measure = TOPICS[n - 1]
    m, d = 2 + n, rng.randint(1, 27)
    text = (f"{m}月{d}日，市生态环境局召开{topic}专题会议，传达学习上级有关会议精神，研究部署{focus}工作。"
            f"局党组书记、局长{rng.choice(LEADERS)}主持会议并讲话。\n\n"
            f"会议听取了各分局和相关科室关于{focus}工作进展情况的汇报，分析了当前存在的问题。"
            f"会议强调，要扎实推进{measure}，压实各方责任，确保各项任务按期完成。\n\n"
            f"会议要求，各单位要提高政治站位，加强统筹协调，强化{rng.choice(['调度', '督导', '考核'])}，"
            f"以{topic}工作的实际成效推动全市生态环境质量持续改善。\n\n局领导班子成员、各分局和机关各科室主要负责同志参加会议。")
    return "市生态环境局召开专题会议", text


def list_pages() -> list[dict]:
    out = []
    specs = [("sd-sthj", "山东省生态环境厅", gongshi_page, range(1, 8)),
             ("sd-sthj", "山东省生态环境厅", air_page, range(1, 8)),
             ("jinan-sthj", "济南市生态环境局", penalty_page, range(1, 8)),
             ("jinan-sthj", "济南市生态环境局", meeting_page, range(1, 8))]
    for source, dept, make, ns in specs:
        pages = []
        for n in ns:
            title, text = make(n)
            url = f"http://{source}.example.gov.cn/{make.__name__}/{n}.html"
            published = dt.datetime(2025, n if make is air_page else 1 + n, 10, 9, 0, tzinfo=SH)
            d = doc(article_id(url), f"l:{url}", "list_page", source, url, title, clean_body(text),
                    published, dept)
            pages.append(d)
        out += pages
        # one of them re-posted verbatim by a portal, one as a content-farm traditional copy
        src = pages[1]
        url = f"http://www.portal-dongfang.example.cn/gonggao/{source}-{make.__name__}.html"
        out.append(doc(article_id(url), src["story"], "exact", "portal-dongfang", url, src["title"],
                       src["text"], later(src["published_at"], 24, 48), dept, base=src["id"], edits=["repost"]))
        src = pages[2]
        url = f"http://www.farm-huaxia.example.cn/gonggao/{source}-{make.__name__}.html"
        out.append(doc(article_id(url), src["story"], "trad_pinyin", "farm-huaxia", url,
                       S2T.convert(src["title"]), pipeline_text(annotate(S2T.convert(src["text"]))),
                       later(src["published_at"], 24, 72), S2T.convert(dept), base=src["id"],
                       edits=["s2t", "pinyin"]))
    return out


def shared_paragraph(a: dict, b: dict) -> bool:
    pa = {p for p in paragraphs(a["text_simplified"]) if len(p) >= 20}
    return any(p in pa for p in paragraphs(b["text_simplified"]))


def main() -> None:
    reg = load_registry()
    site_titles = {s.name: s.title for s in reg.sources}
    base = mirror_articles()
    docs = base + derived(base, site_titles) + list_pages()
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    # expected canonical per story: the earliest-published member (the mirror original)
    with (OUT / "docs.jsonl").open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
    rows = []
    for a, b in itertools.combinations(docs, 2):
        if a["story"] == b["story"]:
            kinds = sorted({a["kind"], b["kind"]} - {"mirror", "list_page"}) or ["mirror_syndicated"]
            rows.append((a["id"], b["id"], 1, "+".join(kinds)))
        elif a["kind"] == b["kind"] == "list_page" and a["source"] == b["source"]:
            rows.append((a["id"], b["id"], 0, "list_boilerplate"))
        elif a["source"] == b["source"] and a["kind"].startswith("mirror") and b["kind"].startswith("mirror"):
            rows.append((a["id"], b["id"], 0, "same_department"))
        elif shared_paragraph(a, b):
            rows.append((a["id"], b["id"], 0, "shared_paragraph"))
    with (OUT / "pairs.tsv").open("w", encoding="utf-8") as f:
        f.write("a\tb\tlabel\tkind\n")
        for r in rows:
            f.write("\t".join(map(str, r)) + "\n")
    from collections import Counter
    print(len(docs), "docs;", Counter(d["kind"] for d in docs))
    print(len(rows), "pairs;", Counter((r[2], r[3]) for r in rows))


if __name__ == "__main__":
    main()
