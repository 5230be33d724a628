"""What a person's name, an outlet's name and a label word look like in Chinese bylines.

Every 来源 and author rule proposes strings; these checks decide whether a string can be
what the rule says it is. A 来源 is an outlet or an organ (新华社, 万载县统计局, 澎湃新闻),
never a person (`来源: 张三`), a label word (`更新时间`, `发表于`, `北京时间`), a placeholder
(`转载文章`, `网络`) or a sentence fragment. A byline name is 2-4 Han characters (a compound
surname allows 5), a transliterated foreign name with `·`, or a Latin name or handle.

Surnames: the most common ones (together well over 85% of the population by the 2020
census counts); a bracketed or unlabelled string counts as a name only when it starts with
one, so `（图）`, `（完）`, `（续）` never do. Rare surnames that are also outlet abbreviations
(南 as in 南都, 央 as in 央视) are left out on purpose.
"""
from __future__ import annotations

import re

SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶"
    "程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫阎段雷龙黎史陶贺萧"
    "毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施洪辛柯庄樊殷翟葛左聂鲁温章祝甘包岳卓艾鲍"
    "蓝柳牛俞倪裴单阮游凌梅盛苗季饶黎詹廉芦车鞠解宁关齐尚喻耿古邢房滕华蒙邬"
    # the same in traditional script (OpenCC s2t of the above)
    "劉陳楊黃趙吳週孫馬許韓鄧馮蕭葉魏蘇呂盧鍾譚陸範廖賈鄒熊邱薛閻龍賀龔萬錢嚴歐莊樊葛聶溫鮑藍"
    "喬單寧嶽張於湯羅華蔣蘆謝賴車遊鄔鄭閆關韋顧餘饒魯齊")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
                     "夏侯", "长孙", "宇文", "司徒", "端木", "歐陽", "司馬", "諸葛")
# what outlets and organs are called: a 来源 ends with one of these (or is a known short form)
OUTLET_END = re.compile(
    r"(?:报|報|网|網|社|台|刊|志|新闻|新聞|日报|晚报|时报|周刊|週刊|在线|在線|传媒|傳媒|媒体|客户端|频道|頻道|"
    r"电视|電視|广播|廣播|之声|之家|视频|視頻|财经|財經|资讯|資訊|科技|观察|观点|参考|发布|發布|"
    r"局|厅|廳|委|部|院|办|辦|会|會|府|所|处|處|站|队|隊|室|馆|館|署|司|中心|集团|公司|银行|大学|学院|"
    r"学会|协会|研究会|联合会|研究所|政府|政务|政務|号|號|Code|News|Daily|Times|Post)$", re.I)
# placeholders in a 来源 slot that name no outlet
NO_OUTLET = {"转载", "转载文章", "網絡", "网络", "互联网", "網際網路", "综合", "綜合", "本站", "本网", "本網",
             "原创", "原創", "未知", "佚名", "不详", "其他", "其它", "网友", "网友投稿", "投稿", "整理",
             "综合报道", "网络整理", "来源网络", "转自网络", "自媒体"}
# platforms that carry others' posts: their name is nobody's byline or outlet
PLATFORM_WORDS = re.compile(r"平台|公众号|微信|博客|论坛|社区|贴吧|百家号|头条号|客户端|网易号|搜狐号|企鹅号|"
                            r"搜狐|网易|新浪|腾讯|今日头条|凤凰|百度|雅虎|一点资讯|澎湃号")
# label words a careless split leaves as a value (`来源：发布时间`)
LABEL_WORDS = re.compile(
    r"^(?:发布|發布|发表|發表|更新|修改|最后更新|最後更新|北京时间|北京時間|时间|時間|日期|发布于|发表于|"
    r"發佈|来源|來源|作者|编辑|編輯|责任编辑|浏览|瀏覽|访问|訪問|阅读|閱讀|点击|點擊|字号|打印|分享|评论|"
    r"收藏|关闭|返回|首页|次|人次)(?:时间|時間|日期|于|於|量|数|次)?$")
# words of page furniture that land in a name slot (`作者最新文章`, `分享`)
NOT_NAMES = {"举报", "分享", "收藏", "评论", "打印", "纠错", "关注", "订阅", "点赞", "转发", "字号", "返回",
             "更多", "投稿", "编辑", "责编", "阅读", "浏览", "点击", "正文", "首页", "新闻", "资讯", "详情",
             "原文", "链接", "图片", "视频", "专题", "列表", "最新文章", "全部文章", "更多文章", "热门文章",
             "作者", "小编", "本站", "佚名", "匿名", "未知", "管理员", "admin", "Admin", "administrator",
             "创作", "原创", "文章", "作品", "报道", "编译", "整理", "供稿", "来稿",
             # what follows 记者 in a sentence (记者获悉, 记者了解到)
             "获悉", "了解", "了解到", "表示", "介绍", "采访", "发现", "看到", "注意到", "调查", "走访", "证实",
             "获得", "查询", "联系", "从中", "日前", "近日", "昨天", "今天", "现场", "随机"}
# what a header line carries besides the outlet: the weekday, the part of the day
CLOCK_WORDS = re.compile(r"^(?:星期|周|週|礼拜|禮拜)[一二三四五六日天]$|^(?:上午|下午|中午|晚上|凌晨|早上|今天|昨天|前天|刚刚|剛剛)$")
SENTENCE = re.compile(r"[，。！？；,!?;]|\s\S+\s\S+\s")
HAN = r"\u3400-\u9fff"
_HAN_NAME = re.compile(rf"[{HAN}]{{2,4}}")
_FOREIGN_NAME = re.compile(rf"[{HAN}]{{1,8}}[·•・．.][{HAN}]{{1,10}}(?:[·•・．.][{HAN}]{{1,10}})?")
_LATIN_NAME = re.compile(r"[A-Z][a-z]+(?:[ -][A-Z][a-z'\.]*){0,3}|[A-Za-z][A-Za-z0-9_\-]{2,24}")
NAME_SPLIT = re.compile(r"[\s、，,；;/／]+")
AND = re.compile(r"[和及与與]")          # `张三和李四`, but `王和平` is one name
NOT_A_PERSON = re.compile(r"^(?:本站|本网|本網|本报|本報|本刊|网站|網站)|(?:编辑|編輯|小编|小編|网友|網友|用户|用戶|作者|记者|記者)$")
# a role word with whatever is glued before it (`南都见习记者`, `中青报·中青网记者`, `本报记者`)
ROLE_WORDS = re.compile(r"[^\s、，,：:（(/／]{0,12}?(?:本报|本台|本刊|本网|特约|实习|见习|首席|驻[\u4e00-\u9fff]{1,4})?"
                        r"(?:记者|記者|通讯员|通訊員|评论员|評論員|撰稿人|特约撰稿|专栏作者|專欄作者|"
                        r"专栏作家|主笔|编译|編譯|整理|采写|採寫|执笔|執筆)")

# `（张三 上海报道）`, `本报记者张三发自北京`: where the reporter filed from is no name
REPORTED_FROM = re.compile(rf"\s*(?:(?:发自|發自|从|自)[{HAN}]{{2,6}}|[{HAN}]{{2,6}}(?:报道|報導|报导|电|電)|编译|編譯|整理)\s*$")


def has_surname(name: str) -> bool:
    return name[:2] in COMPOUND_SURNAMES or name[:1] in SURNAMES


def is_person(token: str, *, strict: bool = True) -> bool:
    """One person's name. `strict` (brackets, unlabelled spots): Han names must start with a
    common surname and not read like an outlet; labelled spots accept any 2-4 Han name."""
    token = token.strip()
    if not token or token in NO_OUTLET or token in NOT_NAMES or LABEL_WORDS.match(token) \
            or NOT_A_PERSON.search(token):
        return False
    compound = len(token) == 5 and token[:2] in COMPOUND_SURNAMES
    if _HAN_NAME.fullmatch(token) or (compound and re.fullmatch(rf"[{HAN}]+", token)):
        if OUTLET_END.search(token):
            return False            # 新华社, 统计局: an organ, not a person
        return has_surname(token) or not strict
    if _FOREIGN_NAME.fullmatch(token):
        return True
    if _LATIN_NAME.fullmatch(token):
        return not strict or bool(re.match(r"[A-Z]", token))
    return False


def person_names(text: str | None, *, strict: bool = True, max_names: int = 6,
                 trailing_place: bool = False) -> str | None:
    """`text` as a list of person names (`张三 李四`), else None. Role words between names
    (`记者 张三 通讯员 李四`) are dropped; anything else that is no name fails, except, with
    `trailing_place`, one last token (`记者 彭冲 山东冠县` before 报道: where it was filed)."""
    if not text:
        return None
    text = REPORTED_FROM.sub("", text)
    text = ROLE_WORDS.sub(" ", text).strip(" ：:/／|｜丨︱")
    tokens = []
    for t in NAME_SPLIT.split(text):
        if t and not is_person(t, strict=strict) and AND.search(t[1:-1]):
            tokens += [p for p in AND.split(t) if p]
        elif t:
            tokens.append(t)
    if not tokens or len(tokens) > max_names:
        return None
    ok = [is_person(t, strict=strict) for t in tokens]
    if trailing_place and len(tokens) > 1 and all(ok[:-1]) and not ok[-1]:
        text = text[:text.rindex(tokens[-1])]
    elif not all(ok):
        return None
    # the page's own separators stay (`宋晨、田中全`): labels and readers write them so
    return re.sub(r"\s+", " ", text).strip(" 、，,；;/／")


def is_outlet(value: str | None) -> bool:
    """A plausible 来源: an outlet or organ's name, not a person, label, placeholder or sentence."""
    if not value:
        return False
    v = value.strip(" :：,，;；()（）[]【】《》“”\"'")
    if not v or len(v) > 30 or v in NO_OUTLET or v in NOT_NAMES or LABEL_WORDS.match(v) or SENTENCE.search(v) \
            or CLOCK_WORDS.match(v):
        return False
    if re.search(r"https?:|www\.|@|\d{4,}|[:：]$", v):
        return False
    if not re.search(rf"[{HAN}A-Za-z]", v):
        return False
    if _HAN_NAME.fullmatch(v) and len(v) <= 3 and has_surname(v) and not OUTLET_END.search(v):
        return False            # `来源: 张三`: a person, not an outlet
    return True
