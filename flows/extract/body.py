"""Find an article's main text in the DOM, and cut what these sites leave around it.

General extractors keep related-article lists, share widgets, comment prompts and copyright
notices on Chinese news and government pages. This module works on our own lxml tree:
it scores block elements (and table cells) by the Chinese punctuation and non-link text their
paragraphs carry (readability-style, tuned for text without spaces), takes the best container,
and turns it into lines while dropping lines that are mostly links or known widget/footer
wording, and everything after an end-of-article marker (相关阅读, 责任编辑, 声明 ...). Image
captions and attachment links are collected as lists instead of being mixed into the body.

trafilatura (which we ship) is the safety net: when our body holds clearly less of the page's
prose than there is, its body is computed too and the better-covering one is kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flows.extract.labels import DATE_NEAR, LABEL_RE
from flows.extract.dom import BLOCK_TAGS, Line, block_lines, css, tag_of, text_len

PUNCT = re.compile(r"[，。！？；：、“”‘’（）《》,.!?;]")
ZH_PUNCT = re.compile(r"[，。！？；“”]")
# paragraph-like elements whose text votes for their container; list items do not vote:
# teaser lists (related/recommended) are made of them, article bodies rarely are
SCORED = {"p", "td", "pre", "div", "section", "article", "blockquote", "font", "span", "center"}
SELF_SCORED = {"div", "section", "article", "span", "font", "center", "td"}
NOT_CONTAINERS = {"ul", "ol", "dl", "li", "dd", "dt", "a", "tr", "tbody", "table"}
UNLIKELY = re.compile(
    r"comment|share|footer|foot|\bnav|menu|related|recommend|sidebar|side-bar|copyright|crumb|"
    r"toolbar|print|\btags?\b|pagination|pager|\bhot|rank|advert|\bads?\b|banner|login|reply|"
    r"qrcode|erweima|weixin|wechat|popup|modal|social|subscribe|disclaimer|statement|shengming|"
    r"xgxw|xgyd|tuijian|remen|bottom|topbar|header|search|promo|newsletter|download-app", re.I)
LIKELY = re.compile(r"article|content|main|body|text|detail|zhengwen|\bzw\b|news_con|con_|TRS_|"
                    r"ucap|view|post|entry|story", re.I)
# what may rescue an element whose class/id also says widget (readability's "maybe candidate")
RESCUE = re.compile(r"article|body|content|\bmain|zhengwen|TRS_|ucap", re.I)
# ... but a comment's body is still a comment
NO_RESCUE = re.compile(r"comment|reply|replies|discuss|pinglun", re.I)
ATTACH = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|wps|et|ofd|zip|rar|7z|txt|csv)(\?|$)", re.I)

# a line that is only one of these is widget/footer text, never article text
BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"(?:【\s*)?(?:打印本页|打印此页|打印|关闭窗口|關閉窗口|关闭本页|关闭|返回顶部|回到顶部|收藏本页|收藏|"
    r"字体|字號|字号|纠错|我要纠错|我要打印|加入收藏)[^】\n]{0,20}(?:】)?(?:\s*[【\[][^】\]]{0,12}[】\]])*"
    r"|(?:分享到|分享|扫一扫|掃一掃|扫描二维码|微信扫一扫)[:：]?.{0,40}"
    r"|您的浏览器(?:暂时)?(?:不支持|无法播放|無法播放|版本过低).{0,40}"            # a video player's fallback text
    r"|.{0,10}(?:浏览器|瀏覽器)(?:不支持|不支援)(?:video|audio|HTML5|视频|播放).{0,30}"
    r"|(?:文件下载|关联文件|附件下载|相关附件|附件)[:：]?"
    r"|.{0,40}(?:ICP备|ICP証|ICP证|ICP備|公网安备|公網安備|网站标识码|網站標識碼|网站识别码).{0,80}"
    r"|.{0,30}(?:版权所有|版權所有|Copyright|COPYRIGHT|copyright|All Rights Reserved|\u00a9).{0,80}"
    r"|(?:上一篇|下一篇|上一条|下一条)[:：].{0,80}"
    r"|(?:责任编辑|責任編輯|编辑|責編|责编|编审|审核|校对|值班编辑)\s*[:：|｜丨].{0,30}"
    r"|(?:【|\[)?\s*(?:纠错|打印|关闭)\s*(?:】|\])?.{0,10}"
    r"|(?:当前位置|您的位置|您现在的位置)[:：].{0,120}"
    r"|(?:主办|承办|协办|技术支持|运行维护|运维)(?:单位)?[:：].{0,80}"
    r"|.{0,20}(?:返回首页|返回列表|查看更多|更多>>|更多 >>|点击查看).{0,20}"
    r"|\d{0,2}[、.]?\s*回复\s*[【\[「“][^】\]」”]{1,10}[】\]」”].{0,30}"       # WeChat reply menus
    r"|【[^】]{1,6}】[^，。！？；、]{4,40}(?:\.\.\.|…+)"                    # a truncated teaser title
    r")\s*$")
# widget text glued to the end of the last paragraph
TRAILING_WIDGET = re.compile(r"\s*(?:返回[^，。]{0,8}首页|查看更多|展开全文|阅读全文|点击查看|更多精彩)\s*(?:>>|》|→|>)?\s*$")

# everything from one of these lines on is after the article (when it comes late enough)
END_MARKER = re.compile(
    r"^\s*(?:[【\[]?\s*(?:相关阅读|相关新闻|相关文章|相关链接|相关报道|相关稿件|延伸阅读|推荐阅读|热点推荐|"
    r"热门推荐|猜你喜欢|为你推荐|精彩推荐|热门文章|最新文章|网友评论|我要评论|发表评论|评论区|"
    r"分享到|分享至|打印本页|关闭窗口|责任编辑|責任編輯|【纠错】|免责声明|版权声明|特别声明|声明|"
    r"网友评论仅供|本文来源|更多精彩|更多资讯|推荐新闻|相关专题|返回搜狐|返回腾讯网首页|"
    r"关注我们|扫描二维码|扫码关注|文件下载|关联文件|附件下载)\s*[】\]]?\s*[:：|｜]?)", re.I)


@dataclass
class Content:
    text: str
    rule: str
    images: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[tuple[str, str]] = field(default_factory=list)
    dropped: list = field(default_factory=list)     # widget subtrees removed before scoring


def _attrs(el) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def drop_unlikely(root) -> list:
    """Remove subtrees whose class/id says widget, footer, nav, comments ... (readability);
    returns the subtrees removed."""
    doomed = []
    for el in root.iter():
        tag = tag_of(el)
        if tag in ("html", "body", "a", "") or tag not in BLOCK_TAGS | {"span", "font"}:
            continue
        attrs = _attrs(el)
        if attrs.strip() and UNLIKELY.search(attrs) and (not RESCUE.search(attrs) or NO_RESCUE.search(attrs)):
            doomed.append(el)
        elif tag in ("nav", "footer", "aside"):
            doomed.append(el)
    if not doomed:
        return []
    # a wrapper whose name says "header" or "side" but that holds most of the page's
    # sentences (163's `post_header` wraps the whole article) is the article, not a widget
    total = len(ZH_PUNCT.findall(root.text_content())) or 1
    dropped, gone = [], set()
    for el in doomed:
        if el.getparent() is None or any(a in gone for a in el.iterancestors()):
            continue        # inside a subtree removed already
        if len(ZH_PUNCT.findall(el.text_content())) <= 0.5 * total:
            el.drop_tree()
            dropped.append(el)
            gone.add(el)
    return dropped


def _link_len(el) -> int:
    return sum(text_len(a.text_content()) for a in el.iter("a"))


def link_density(el) -> float:
    total = text_len(el.text_content())
    return _link_len(el) / total if total else 1.0


def best_container(root, headline: str | None = None):
    """The element holding the article text, by readability-style scores; None if unsure.

    When a page has teaser lists that out-score a short article, the article is the one that
    follows the headline: the container of the first real paragraph after the headline wins
    over an unrelated higher-scoring block if it scores at least 30% of it.
    """
    scores: dict = {}
    for el in root.iter():
        tag = tag_of(el)
        if tag not in SCORED:
            continue
        if tag in SELF_SCORED:
            # a div counts as a paragraph only for its own text (old layouts use br-separated
            # text); a table cell likewise: gov decision pages and old portals lay articles
            # out in cells, and a cell is the container such text has
            own = (el.text or "") + "".join(c.tail or "" for c in el)
            text = own
        else:
            text = el.text_content()
        n = text_len(text)
        if n < 20:
            continue
        score = 1 + len(ZH_PUNCT.findall(text)) + min(n / 100, 3)
        parent = el.getparent()
        if tag in SELF_SCORED:
            parent = el
        for weight, node in ((1.0, parent), (0.5, parent.getparent() if parent is not None else None)):
            if node is None or tag_of(node) in ("html",):
                continue
            scores[node] = scores.get(node, 0.0) + score * weight
    if not scores:
        return None, 0.0
    best, best_score = None, 0.0
    final: dict = {}
    for node, score in scores.items():
        if tag_of(node) in NOT_CONTAINERS:
            continue
        attrs = _attrs(node)
        if LIKELY.search(attrs):
            score *= 1.25
        score *= (1 - link_density(node))
        final[node] = score
        if score > best_score:
            best, best_score = node, score
    if best is not None and headline:
        near = _after_headline(root, headline, final)
        if near is not None and near is not best and final[near] >= 0.3 * best_score \
                and not _contains(best, near) and not _contains(near, best):
            best = near
    return (with_siblings(best, final, best_score) if best is not None else None), best_score


def with_siblings(container, final: dict, best_score: float) -> list:
    """The container plus sibling blocks that read like more of the article (a standfirst
    before it, a prologue in its own block, a continuation after it) — readability's rule."""
    parent = container.getparent()
    if parent is None:
        return [container]
    out = []
    threshold = max(10.0, best_score * 0.2)
    for sib in parent:
        if sib is container:
            out.append(sib)
            continue
        tag = tag_of(sib)
        if tag not in ("p", "div", "section", "article", "td", "center", "font", "blockquote"):
            continue
        if final.get(sib, 0.0) >= threshold:
            out.append(sib)
            continue
        text = sib.text_content()
        n = text_len(text)
        if n >= 60 and link_density(sib) < 0.25 and len(ZH_PUNCT.findall(text)) >= 3:
            out.append(sib)
    return out


def _contains(a, b) -> bool:
    return any(x is b for x in a.iter())


def _nows(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _after_headline(root, headline: str, final: dict):
    """The scored container of the first sentence-like paragraph after the headline."""
    key = _nows(headline)
    seen_title = False
    for el in root.iter():
        tag = tag_of(el)
        if not tag:
            continue
        if not seen_title:
            if tag in ("h1", "h2", "h3", "div", "td", "span", "p", "font", "strong", "b") \
                    and _nows(el.text_content()) == key:
                seen_title = True
            continue
        if tag in ("p", "div", "td", "section", "span", "font"):
            own = el.text_content() if tag in ("p", "td") else (el.text or "") + "".join(c.tail or "" for c in el)
            if text_len(own) >= 30 and len(ZH_PUNCT.findall(own)) >= 2:
                node = el if tag not in ("p", "td", "span", "font") else el.getparent()
                while node is not None and node not in final:
                    node = node.getparent()
                return node
    return None


CAPTION_HINT = re.compile(r"(摄|攝|供图|供圖|图片来源|圖片來源|^图为|^圖為|^图：|^图/|资料图|资料照片)")


def take_media(root, base_url: str | None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Collect images (with captions) and attachment links, removing captions from the tree.

    A caption is a figcaption, or the short block right after an image-only block when it is
    centred or reads like a caption (摄, 供图, 图为 ...).
    """
    from urllib.parse import urljoin
    images, attachments = [], []
    for img in list(root.iter("img")):
        src = img.get("src") or img.get("data-src") or ""
        if not src or src.startswith("data:"):
            continue
        caption = (img.get("alt") or img.get("title") or "").strip()
        holder = img.getparent()
        while holder is not None and tag_of(holder) not in ("figure", "p", "div", "td", "center"):
            holder = holder.getparent()
        if holder is not None and holder is not root:
            cap = holder.find(".//figcaption")
            if cap is not None:
                caption = cap.text_content().strip() or caption
                cap.drop_tree()
            elif not text_len(holder.text_content()):
                nxt = holder.getnext()
                if nxt is not None and tag_of(nxt) in ("p", "div", "center", "span", "font"):
                    text = nxt.text_content().strip()
                    style = (nxt.get("style", "") + nxt.get("align", "")).replace(" ", "").lower()
                    if 0 < text_len(text) <= 100 and not nxt.findall(".//img") and \
                            ("center" in style or CAPTION_HINT.search(text)):
                        caption = text
                        nxt.drop_tree()         # (lxml keeps its tail text in place)
        images.append((urljoin(base_url or "", src), caption))
    for a in root.iter("a"):
        href = a.get("href") or ""
        if ATTACH.search(href):
            attachments.append((urljoin(base_url or "", href), a.text_content().strip()))
    return images, attachments


def _prose(line: tuple[str, int, int]) -> bool:
    text, n, links = line[:3]
    return n - links >= 40 and len(ZH_PUNCT.findall(text)) >= 2


def clean_lines(lines: list[tuple[str, int, int]]) -> list[str]:
    """Drop link-list lines and widget/footer lines; cut at a late end-of-article marker,
    unless real prose resumes after the marker's box (a 推荐阅读 box inside the article)."""
    total = sum(ln[1] for ln in lines) or 1
    kept: list[str] = []
    seen = 0
    skip_until = -1
    for i, (text, n, links, *_) in enumerate(lines):
        if i < skip_until:
            seen += n
            continue
        if seen > total * 0.3 and len(kept) >= 2 and END_MARKER.match(text) and n < 200:
            ahead = lines[i + 1:i + 40]
            resume = next((j for j, ln in enumerate(ahead) if _prose(ln)), None)
            if resume is None or sum(1 for ln in ahead[resume:] if _prose(ln)) < 2:
                break
            skip_until = i + 1 + resume      # drop the box, keep the prose after it
            continue
        seen += n
        if BOILERPLATE_LINE.match(text):
            continue
        if n and links / n > 0.6 and n < 200:
            continue        # a related-article link, a nav row, a tag cloud
        text = TRAILING_WIDGET.sub("", text)
        if text:
            kept.append(text)
    return kept


def container_text(el) -> str:
    return "\n\n".join(clean_lines(block_lines(el)))


def _ours(doc, preset, url: str | None, title: str | None) -> Content:
    """The preset's container when it matches (the fast path), else the densest block."""
    if preset is not None and getattr(preset, "body_selector", ""):
        for sel in [s.strip() for s in preset.body_selector.split(",") if s.strip()]:
            for el in css(doc, sel)[:1]:
                images, attachments = take_media(el, url)
                text = container_text(el)
                if len(text) >= 80:
                    return Content(text, f"preset:{sel}", images, attachments)
    ours_dropped = drop_unlikely(doc)
    root = doc.find("body")
    blocks, score = best_container(root if root is not None else doc, title)
    if blocks and score >= 5:
        out = Content("", "density" + (f"+{len(blocks) - 1}" if len(blocks) > 1 else ""), dropped=ours_dropped)
        parts = []
        for el in blocks:
            imgs, atts = take_media(el, url)
            out.images += imgs
            out.attachments += atts
            parts.append(container_text(el))
        out.text = "\n\n".join(p for p in parts if p)
        if len(out.text) >= 50:
            return out
    return Content("", "", dropped=ours_dropped)


def trafilatura_text(html: str, url: str | None) -> str:
    import trafilatura
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                               with_metadata=False) or ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # trafilatura returns a page of nothing but links (a column page, a soft 404 in the site's
    # chrome) as text: a line that is mostly the page's link texts is navigation, not body
    links = _link_texts(html) if lines else None
    lines = [ln for ln in lines if not _mostly_links(ln, links)]
    return "\n\n".join(clean_lines([Line(ln, len(ln), 0) for ln in lines]))


def _link_texts(html: str):
    """A regex matching the text of any link on the page (whitespace removed), or None."""
    import lxml.html
    from lxml import etree
    try:
        doc = lxml.html.document_fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return None
    texts = {_nows(a.text_content()) for a in doc.iter("a")}
    texts = sorted((t for t in texts if len(t) >= 2), key=len, reverse=True)[:3000]
    return re.compile("|".join(map(re.escape, texts))) if texts else None


def _mostly_links(line: str, links) -> bool:
    if links is None:
        return False
    f = _nows(line)
    return bool(f) and sum(len(m.group()) for m in links.finditer(f)) / len(f) > 0.6


# a copyright, reprint or liability notice: the site's, not the article's. Checked against
# whole lines of at most NOTICE_MAX characters (an article about copyright keeps its text)
NOTICE = re.compile(
    r"未经.{0,12}(?:授权|授權|许可|許可|同意).{0,12}(?:不得|禁止|请勿|請勿|严禁)?.{0,6}(?:转载|轉載|使用|复制)|"
    r"如有侵权|如有侵權|侵权.{0,4}(?:请|請)?联系.{0,6}删除|版权归.{0,16}所有|版權歸.{0,16}所有|"
    r"(?:不代表|不代表本|仅代表|僅代表).{0,12}(?:立场|立場|观点|觀點)|本文系.{0,16}(?:独家|獨家|原创|原創)稿件|"
    r"内容合作方|內容合作方|免责声明|免責聲明|图片来自网络|圖片來自網絡|(?:专稿|專稿).{0,4}未经|"
    r"仅提供信息(?:存储|发布)(?:空间)?服务|僅提供信息(?:存儲|發佈)(?:空間)?服務")      # self-media platforms (网易号, 搜狐号 …)
NOTICE_MAX = 300


def drop_notices(text: str) -> str:
    """Drop copyright / reprint / liability notices standing as their own paragraph."""
    paras = text.split("\n\n")
    kept = [p for p in paras if not (len(p) <= NOTICE_MAX and NOTICE.search(p))]
    return "\n\n".join(kept) if kept else text


# --- the safety net -----------------------------------------------------------------------
LATIN_SENTENCE = re.compile(r"[a-z][.!?][\"'”’)]?\s+[A-Z]")
NET_MISSING = 300       # prose characters our body may miss before trafilatura is asked


def is_prose(line: Line) -> bool:
    """An article-like paragraph: 40+ characters outside links, sentence punctuation, and
    no copyright or reprint notice (which has both)."""
    own = line.n - line.links
    return own >= 40 and (len(ZH_PUNCT.findall(line.text)) >= 2
                          or (own >= 120 and len(LATIN_SENTENCE.findall(line.text)) >= 1)) \
        and not NOTICE.search(line.text)


def _covered(text: str, prose: list[tuple[int, Line]]) -> list[int]:
    """Indices (in the page's lines) of the prose lines `text` holds."""
    f = _nows(text)
    return [i for i, ln in prose if _nows(ln.text)[:60] in f]


def _best_run(indices: list[int], size: dict[int, int]) -> list[int]:
    """The largest stretch of prose lines no more than RUN_GAP lines apart: an article's
    paragraphs follow each other (images, captions, subheads between them); another
    story's teaser sits elsewhere, among headlines, times and ads."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i - runs[-1][-1] <= RUN_GAP:
            runs[-1].append(i)
        else:
            runs.append([i])
    return max(runs, key=lambda r: sum(size[i] for i in r), default=[])


RUN_GAP = 6


def main_text(doc, html: str, url: str | None, preset, title: str | None,
              page_lines: list[Line]) -> Content:
    """Our body; when it holds clearly less of the page's prose than there is (a teaser
    chosen as the container, text in table cells, an unusual template), trafilatura's
    body is computed too, and its largest stretch of consecutive article paragraphs
    replaces ours when it holds clearly more (and what ours held, unless ours was a teaser)."""
    ours = _ours(doc, preset, url, title)
    # the page's prose, less readers' comments (by their blocks' names; they quote the body)
    gone = {_nows(ln.text) for el in ours.dropped if NO_RESCUE.search(_attrs(el))
            for ln in block_lines(el) if is_prose(ln)}
    prose = [(i, ln) for i, ln in enumerate(page_lines) if is_prose(ln) and _nows(ln.text) not in gone]
    size = {i: ln.n for i, ln in prose}
    total = sum(size.values())
    ours_idx = _covered(ours.text, prose) if ours.text else []
    have = sum(size[i] for i in ours_idx)
    if ours.text and total - have <= max(NET_MISSING, 0.3 * total):
        return ours
    theirs = trafilatura_text(html, url)
    if not ours.text:
        return Content(theirs, "trafilatura" if theirs else "")
    return better_covering(ours, theirs, prose, page_lines)


def better_covering(ours: Content, theirs: str, prose: list[tuple[int, Line]],
                    page_lines: list[Line]) -> Content:
    """Ours, or the largest run of trafilatura's paragraphs when it holds clearly more of
    the page's prose: continuing ours (the article split over blocks, one of them missed)
    or elsewhere and much larger (ours was a teaser)."""
    size = {i: ln.n for i, ln in prose}
    ours_idx = _covered(ours.text, prose)
    have = sum(size[i] for i in ours_idx)
    run = _best_run(_covered(theirs, prose), size)
    got = sum(size[i] for i in run)
    kept = sum(size[i] for i in ours_idx if run and run[0] <= i <= run[-1])
    continues = got >= have + NET_MISSING and got >= 1.3 * have and kept >= 0.8 * have
    elsewhere = got >= 3 * have and got >= have + 2 * NET_MISSING      # ours was a teaser
    if not (continues or elsewhere):
        return ours
    region = "".join(_nows(ln.text) for ln in page_lines[run[0]:run[-1] + 1])
    paras = [p for p in theirs.split("\n\n") if _nows(p)[:40] in region]
    return Content("\n\n".join(paras), "trafilatura>" + ours.rule, ours.images, ours.attachments)


# --- finishing -----------------------------------------------------------------------------
def strip_leading(text: str, title: str | None, header: list[str]) -> str:
    """Drop leading lines that repeat the headline or are the labelled header line."""
    lines = text.split("\n")
    flat_title = re.sub(r"\s+", "", title or "")
    flat_header = {re.sub(r"\s+", "", h) for h in header}
    while lines:
        flat = re.sub(r"\s+", "", lines[0])
        if not flat or (flat_title and flat == flat_title) or flat in flat_header \
                or (len(flat) < 120 and LABEL_RE.search(lines[0]) and DATE_NEAR.search(lines[0])):
            lines.pop(0)
            continue
        break
    return "\n".join(lines)


DATE_ONLY = re.compile(r"(?:19|20)\d{2}(?:-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|年\d{1,2}月\d{1,2}日)(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")


def drop_dated_teasers(text: str) -> str:
    """Cut a trailing list of other stories, each a short headline line then a date line
    (`【深度】越南拒用中国5G，原因和后果是...大参考` / `2019-09-08`): a related-items widget whose
    headlines are not links, so the link-line cleanup cannot see it. Three items at least (a
    notice two bodies sign, each with its date, keeps its signatures)."""
    lines = text.split("\n\n")
    cut = len(lines)
    while cut >= 2 and DATE_ONLY.fullmatch(lines[cut - 1].strip()) and \
            len(lines[cut - 2].strip()) <= 80 and not DATE_ONLY.fullmatch(lines[cut - 2].strip()) and \
            not lines[cut - 2].rstrip().endswith(("。", "！", "？")):
        cut -= 2
    if len(lines) - cut >= 6 and cut > 0:
        return "\n\n".join(lines[:cut])
    return text
