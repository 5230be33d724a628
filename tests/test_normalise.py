import re

from hypothesis import given
from hypothesis import strategies as st

from flows.extract.normalise import article_id, canonical_url, clean_body, strip_pinyin

HAN = re.compile(r"[\u3400-\u9fff]")


def test_strips_seed_annotations():
    assert strip_pinyin("山東將打造國際零碳島 推動(dòng)成立國際零碳島嶼聯(lián)盟") == "山東將打造國際零碳島 推動成立國際零碳島嶼聯盟"
    assert strip_pinyin("政府網(wǎng)站標(biāo)識(shí)碼:4600000001") == "政府網站標識碼:4600000001"
    assert strip_pinyin("的(de)一(yī / yì)了(le/liǎo)") == "的一了"


def test_keeps_what_is_not_pinyin():
    for text in ["中歐(保亭)綠色", "重量5公斤(kg)", "PM2.5(细颗粒物)", "(ABC)公司", "（记者 张三）"]:
        assert strip_pinyin(text) == text


syllables = st.sampled_from(["dòng", "wǎng", "biāo", "shí", "guó", "huì", "zhōng", "ban", "de", "lüè"])
han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@given(st.lists(st.tuples(han, st.one_of(st.none(), syllables), st.sampled_from(["", " ", "，", "a"])),
                max_size=40))
def test_pinyin_strip_is_idempotent_and_keeps_every_han_character(parts):
    text = "".join(h + (f"({p})" if p else "") + sep for h, p, sep in parts)
    once = strip_pinyin(text)
    assert strip_pinyin(once) == once
    assert HAN.findall(once) == HAN.findall(text)
    assert once == "".join(h + sep for h, _, sep in parts)


@given(st.text())
def test_never_drops_han_on_any_text(text):
    assert HAN.findall(strip_pinyin(text)) == HAN.findall(text)


def test_canonical_url_and_id():
    a = canonical_url("HTTP://WWW.Gxzf.gov.cn:80/gxyw/t1.shtml#top")
    assert a == "http://www.gxzf.gov.cn/gxyw/t1.shtml"
    assert article_id("http://www.gxzf.gov.cn/gxyw/t1.shtml") == article_id("http://WWW.gxzf.gov.cn:80/gxyw/t1.shtml#x")
    assert article_id("http://www.gxzf.gov.cn/gxyw/t1.shtml") != article_id("http://www.gxzf.gov.cn/gxyw/t2.shtml")


def test_clean_body_keeps_paragraphs():
    assert clean_body("第一段\u3000\u3000文字\n\n\n\n 第二段 ") == "第一段 文字\n\n第二段"


def test_lone_vowel_enumerations_are_not_pinyin():
    assert strip_pinyin("第一场(a)：12月1日") == "第一场(a)：12月1日"
    assert strip_pinyin("方案(b)和方案(ā)") == "方案(b)和方案"
