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


# --- pages -------------------------------------------------------------------------------------
def page(*, title="生态环境部召开新闻发布会通报全国空气质量状况", header="2025-04-22 10:30 来源：新华网",
         first="", last="", paras=4, head_extra="", url="http://news.example.cn/a/1.html",
         title_tag=None, body_html=None, before=""):
    body = body_html or "".join(f"<p>{para(i)}</p>" for i in range(paras))
    return (f"<html><head><meta charset='utf-8'><title>{title_tag or title + '_新闻中心'}</title>{head_extra}</head>"
            f"<body><div class='nav'><a href='/'>首页</a> <a href='/gn/'>国内</a></div>{before}"
            f"<div class='article'><h1>{title}</h1><div class='info'>{header}</div>"
            f"<div class='content'>{f'<p>{first}</p>' if first else ''}{body}{f'<p>{last}</p>' if last else ''}</div></div>"
            "<div class='footer'>版权所有 京ICP备12345678号</div></body></html>").encode("utf-8")


def ex(**kw):
    return extract(page(**kw), kw.get("url", "http://news.example.cn/a/1.html"))


# --- bylines by press convention -----------------------------------------------------------------
@pytest.mark.parametrize("first, last, author", [
    ("", "（张三）", "张三"),
    ("", "（张三 李四）", "张三 李四"),
    ("", "（张三 上海报道）", "张三"),
    ("", "（编译/张三）", "张三"),
    ("", "(文/图 张三 李四)", "张三 李四"),
    ("新华社北京5月19日电（记者 张三、李四）" + SENT, "", "张三、李四"),
    ("新华社北京5月19日电（张三、李四）" + SENT, "", "张三、李四"),
    ("本报讯（记者 王五 通讯员 赵六）" + SENT, "", "王五 赵六"),
    ("中国新闻网·中国日报记者刘七/文", "", "刘七"),
    ("", "中青报·中青网记者 陈八", "陈八"),
    ("", "执笔/周九", "周九"),
    ("作者︱吴十", "", "吴十"),
    ("作者｜吴十", "", "吴十"),
    ("作者丨吴十", "", "吴十"),
    ("作者|吴十", "", "吴十"),
    ("记者 郑一 王二", "", "郑一 王二"),
])
def test_bylines_in_the_body_by_press_convention(first, last, author):
    e = ex(first=first, last=last, header="2025-04-22 10:30 来源：新华网")
    assert e.author == author, (e.author, e.provenance)


@pytest.mark.parametrize("last", ["（完）", "（图）", "（续）", "（新华社）", "（责任编辑：张三）", "（记者 张三 摄）",
                                  "（2025年4月22日）", "（本文来源：新华网）", "（上）"])
def test_brackets_that_hold_no_byline(last):
    assert ex(last=last).author is None


def test_a_name_after_the_outlet_on_the_header_line_is_the_author():
    e = ex(header="2025-04-22 10:30 来源：中国新闻网 张三")
    assert (e.original_source, e.author) == ("中国新闻网", "张三")


@pytest.mark.parametrize("value", ["张三", "更新时间", "发表于", "发布于", "北京时间", "转载文章", "网络"])
def test_a_person_or_a_label_word_is_never_the_source(value):
    e = ex(header=f"2025-04-22 10:30 来源：{value}")
    assert e.original_source != value


def test_a_person_in_the_source_slot_is_the_author():
    assert ex(header="2025-04-22 10:30 来源：张三").author == "张三"


@pytest.mark.parametrize("suffix", ["_王小明_新浪博客", "_王小明的博客-CSDN博客", " - 王小明的日志 - 网易博客",
                                    " - 王小明 - 博客园", "_王小明专栏_观察者网"])
def test_a_blog_page_belongs_to_its_owner(suffix):
    e = ex(title_tag=OWN + suffix, header="(2025-04-22 10:30:00)")
    assert e.author == "王小明"


def test_a_portal_channel_is_no_blog_owner():
    assert ex(title_tag=OWN + "_国内新闻_新浪网", header="(2025-04-22 10:30:00)").author is None


def test_the_reporter_line_under_the_headline():
    e = ex(header="2025-04-22 10:30 来源：新华网", first="")
    assert e.author is None
    e = extract(page(header="2025-04-22 10:30 来源：新华网</div><div>记者 郑一 王二"), "http://x/")
    assert e.author == "郑一 王二"


# --- titles --------------------------------------------------------------------------------------
OWN = "生态环境部召开新闻发布会通报全国空气质量状况"
OTHER = "另一篇文章：多地启动重污染天气应急响应措施"


def test_another_articles_h1_in_a_sidebar_loses_to_the_pages_own_headline():
    html = page(title=OWN, before=f"<div class='sidebar hot'><h1>{OTHER}</h1></div>").replace(
        f"<h1>{OWN}</h1>".encode(), f"<div class='title'>{OWN}</div>".encode())
    assert extract(html, "http://x/").title == OWN


def test_the_next_articles_headline_loses():
    html = page(title=OWN).replace(b"<div class='footer'>",
                                   f"<div class='next-article'>下一篇：<h1>{OTHER}</h1></div><div class='footer'>".encode())
    assert extract(html, "http://x/").title == OWN


def test_markup_left_in_a_title_string_is_removed():
    tag = "凝聚奋进力量&lt;div&gt;——写在大会召开之际&lt;/div&gt;"
    html = page(title="x", title_tag=tag + "_新闻中心").replace(b"<h1>x</h1>", b"")
    html = html.replace(b"</head>", f"<meta property='og:title' content='{tag}'></head>".encode())
    assert extract(html, "http://x/").title == "凝聚奋进力量——写在大会召开之际"


def test_the_site_name_is_not_a_headline():
    html = page(title="x", title_tag="某某市人民政府门户网站", header="").replace(b"<h1>x</h1>", b"")
    html = html.replace(b"</head>", "<meta property='og:site_name' content='某某市人民政府门户网站'></head>".encode())
    assert extract(html, "http://x/").title != "某某市人民政府门户网站"


# --- dates ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://news.example.cn/2025/04/22/abc.html",
                                 "http://www.example.gov.cn/xwzx/202504/t20250422_123456.html",
                                 "http://news.example.cn/2025-04/22/c_1130.htm",
                                 "http://news.example.cn/n1/2025/0422/c1001-4009.html",
                                 "http://news.example.cn/gn/2025/04-22/10387.shtml"])
def test_the_day_in_the_url_when_the_page_shows_none(url):
    e = extract(page(header="来源：新华网"), url)
    assert e.published_at and e.published_at.date() == dt.date(2025, 4, 22), (url, e.published_at, e.provenance)


@pytest.mark.parametrize("header", ["发布于 2025-04-22 10:30", "发表于2025年4月22日", "最后更新：2025-04-22 10:30",
                                    "发布时间 2025-04-22", "更新于 2025/04/22"])
def test_dates_labelled_without_a_colon_or_as_an_update(header):
    e = ex(header=header)
    assert e.published_at and e.published_at.date() == dt.date(2025, 4, 22), (header, e.provenance)


def test_a_sidebar_date_loses_to_the_articles():
    side = "".join(f"<li>发布时间：2025-05-0{i} 其他新闻标题{i}</li>" for i in range(1, 6))
    html = page(header="发布时间：2025-04-22 10:30 来源：新华网").replace(
        b"<div class='footer'>", f"<ul class='list'>{side}</ul><div class='footer'>".encode())
    assert extract(html, "http://x/").published_at.date() == dt.date(2025, 4, 22)


def test_htmldate_finds_a_date_no_label_shows():
    html = page(header="来源：新华网").replace(b"<div class='info'>", b"<div class='info'><time datetime='2025-04-22T08:00:00+08:00'></time>")
    e = extract(html, "http://x/")
    assert e.published_at.date() == dt.date(2025, 4, 22) and e.provenance["published_at"] == "htmldate"


# --- international controls ---------------------------------------------------------------------
ENGLISH = """<html><head><title>Fed holds rates steady as inflation cools | Example News</title>
<meta property="og:site_name" content="Example News"><meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2025-04-22T14:30:00Z">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Fed holds rates steady as inflation cools", "datePublished": "2025-04-22T14:30:00Z",
 "author": [{"@type": "Person", "name": "Jane Doe"}], "publisher": {"@type": "Organization", "name": "Example News"}}</script>
</head><body><nav><a href="/">Home</a></nav><article><h1>Fed holds rates steady as inflation cools</h1>
<p>The Federal Reserve kept its benchmark rate unchanged on Tuesday. Officials said inflation was cooling, but they wanted more evidence before cutting.</p>
<p>Markets had expected the decision. Treasury yields fell slightly after the announcement, and stocks rose in afternoon trading across the board.</p>
<p>The central bank will meet again in June. Analysts expect at least one cut this year if the labour market keeps softening at its current pace.</p>
</article><footer>Copyright Example News</footer></body></html>"""


def test_an_english_page_uses_its_declared_metadata():
    e = extract(ENGLISH.encode(), "https://news.example.com/2025/04/22/fed-holds-rates-steady/")
    assert e.title == "Fed holds rates steady as inflation cools"
    assert e.published_at == dt.datetime(2025, 4, 22, 22, 30, tzinfo=e.published_at.tzinfo)
    assert (e.original_source, e.author) == ("Example News", "Jane Doe"), e.provenance
    assert "benchmark rate unchanged" in e.text and "Copyright" not in e.text


def test_when_no_element_shows_the_headline_in_full_the_pages_declarations_agree_on_it():
    full = "派早报：" + OWN
    head = (f"<meta property='og:title' content='{full} - 少数派'>"
            f"<script type='application/ld+json'>{{\"@type\": \"Article\", \"headline\": \"{full}\"}}</script>")
    items = "".join(f"<div class='title'><a href='/post/{i}'>{t}</a></div>" for i, t in enumerate([OWN, OTHER]))
    html = page(title="x", title_tag=full + " - 少数派", head_extra=head, before=items).replace(b"<h1>x</h1>", b"")
    assert extract(html, "http://x/").title == full


def test_the_same_source_under_every_image_is_a_credit_not_the_articles_source():
    body = "".join(f"<p>{para(i)}</p><p><img src='/{i}.jpg'></p><p>来源：Reuters</p>" for i in range(3))
    e = ex(header="2025-04-22 10:30", body_html=body)
    assert e.original_source != "Reuters"


def test_an_english_byline_line():
    html = ENGLISH.replace('<meta name="author" content="Jane Doe">', "").replace(
        '"author": [{"@type": "Person", "name": "Jane Doe"}], ', "").replace(
        "inflation cools</h1>", "inflation cools</h1><p>By John Roe and Mary Major, Example News</p>")
    assert extract(html.encode(), "https://news.example.com/x").author == "John Roe and Mary Major"


def test_a_date_signed_in_chinese_numerals():
    e = ex(header="来源：国务院办公厅", last="国务院办公厅</p><p>二〇二五年四月二十二日", url="http://www.example.gov.cn/zhengce/content/abc.htm")
    assert e.published_at and e.published_at.date() == dt.date(2025, 4, 22), e.provenance


def test_wechat_style_bars_after_source_and_editor_labels():
    e = ex(header="2025-04-22 10:30 来源丨人民日报 编辑丨李四")
    assert (e.original_source, e.author, e.editor) == ("人民日报", None, "李四")


GOV_TABLE = """<html><head><meta charset="utf-8"><title>国务院关于印发某某行动方案的通知_政府信息公开专栏</title></head><body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/zhengce/">政策</a></div>
<table class="bd1"><tr><td><b>索 引 号：</b></td><td>000014349/2025-00031</td><td><b>主题分类：</b></td><td>环境保护</td></tr>
<tr><td><b>发文机关：</b></td><td>国务院</td><td><b>成文日期：</b></td><td>2025年04月18日</td></tr>
<tr><td><b>标　　题：</b></td><td colspan="3">国务院关于印发某某行动方案的通知</td></tr>
<tr><td><b>发文字号：</b></td><td>国发〔2025〕8号</td><td><b>发布日期：</b></td><td>2025年04月22日</td></tr></table>
<table><tr><td class="b12c" id="UCAP-CONTENT">
<p>各省、自治区、直辖市人民政府，国务院各部委、各直属机构：</p>
<p>现将《某某行动方案》印发给你们，请认真贯彻执行。各地区各部门要加强组织领导，压实工作责任，确保各项任务落到实处。</p>
<p>国务院</p><p>2025年4月18日</p>
<p>（此件公开发布）</p>
<p>一、总体要求。以生态文明建设为统领，坚持系统观念，统筹推进减污降碳、扩绿增长，完善政策体系，强化科技支撑，推动经济社会发展全面绿色转型。</p>
<p>二、重点任务。加快产业结构优化升级，推进能源绿色低碳转型，深入打好污染防治攻坚战，提升生态系统多样性稳定性持续性。</p>
<p>三、保障措施。各地区要结合实际制定具体实施方案，有关部门要加强协同配合，及时总结推广经验做法，重大事项及时请示报告。</p>
</td></tr></table><div class="footer">主办：中华人民共和国国务院办公厅 版权所有 京ICP备05070218号</div></body></html>"""


def test_a_gov_decision_page_laid_out_in_table_cells():
    e = extract(GOV_TABLE.encode(), "http://www.example.gov.cn/zhengce/content/202504/content_7001234.htm")
    assert e.title == "国务院关于印发某某行动方案的通知"
    assert e.published_at.date() == dt.date(2025, 4, 22), e.provenance
    assert e.original_source == "国务院"
    assert "现将《某某行动方案》印发给你们" in e.text and "三、保障措施" in e.text and "ICP" not in e.text


@pytest.mark.parametrize("notice", [
    "特别声明：以上内容(如有图片或视频亦包括在内)为自媒体平台“网易号”用户上传并发布，本平台仅提供信息存储服务。",
    "平台声明：该文观点仅代表作者本人，搜狐号系信息发布平台，搜狐仅提供信息存储空间服务。",
    "本文系观察者网独家稿件，文章内容纯属作者个人观点，不代表平台观点，未经授权，不得转载，否则将追究法律责任。",
    "图片来自网络，如有侵权，请联系删除。",
    "39健康网(www.39.net)专稿，未经书面授权请勿转载。",
])
def test_copyright_and_platform_notices_are_not_body(notice):
    e = ex(last=notice)
    assert notice[:12] not in e.text and para(3) in e.text


@pytest.mark.parametrize("tag, title", [
    ("2024中国—东盟环境合作论坛成功举办_广西壮族自治区人民政府门户网站", "2024中国—东盟环境合作论坛成功举办"),
    ("中国—东盟博览会开幕", "中国—东盟博览会开幕"),                      # a dash joining names
    ("凝聚力量——写在大会召开之际 - 人民网", "凝聚力量——写在大会召开之际"),   # a subtitle
    ("深化绿色发展合作—新华网", "深化绿色发展合作"),                       # a trailing site name
])
def test_the_site_suffix_of_a_title_tag(tag, title):
    from flows.extract.titles import title_from_tag
    assert title_from_tag(tag) == title


def test_traditional_script_names_start_with_a_surname_too():
    e = ex(header="2025-01-21 11:30 文章來源:中國環境報 張蕾", last="（記者 陳大文 劉曉明）")
    assert e.author in ("張蕾", "陳大文 劉曉明"), e.provenance
    from flows.extract.names import person_names
    assert person_names("記者 陳大文、劉曉明") == "陳大文、劉曉明" and person_names("張蕾") == "張蕾"


@pytest.mark.parametrize("tail", ["星期二", "周二", "下午", "阅读 1234"])
def test_what_else_a_header_line_carries_is_no_outlet(tail):
    e = ex(header=f"2025-04-22 10:30 {tail}")
    assert e.original_source is None, e.provenance


TRAD = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=big5'><title>港府公布新一輪紓困措施 - 新聞</title></head>"
        "<body><div class='nav'><a href='/'>首頁</a></div><h1>港府公布新一輪紓困措施</h1><div>2024年5月20日 來源：中央社 記者 陳大文</div>"
        "<div class='story'>" + "".join(f"<p>第{i}段：特區政府今日宣布，將推出新一輪紓困措施，「支援中小企業渡過難關」，涉及金額逾百億元。</p>" for i in range(6))
        + "</div><div class='footer'>版權所有 不得轉載</div></body></html>")


@pytest.mark.parametrize("charset", ["big5", None])
def test_a_traditional_script_page(charset):
    html = TRAD if charset else TRAD.replace("<meta http-equiv='Content-Type' content='text/html; charset=big5'>", "")
    e = extract(html.encode("big5"), "http://news.example.com.hk/a/1.html")
    assert e.encoding == "big5" and e.title == "港府公布新一輪紓困措施"
    assert (e.original_source, e.author) == ("中央社", "陳大文"), e.provenance
    assert "第0段" in e.text and "第5段" in e.text and "版權所有" not in e.text


@pytest.mark.parametrize("text, names", [("王和平", "王和平"), ("张三和李四", "张三和李四"), ("记者 张三 通讯员 李四", "张三 李四"),
                                         ("本站编辑", None), ("小编", None), ("记者获悉", None), ("（完）", None)])
def test_what_a_byline_name_is(text, names):
    from flows.extract.names import person_names
    assert person_names(text, strict=False) == names
