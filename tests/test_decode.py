from flows.extract.decode import decode_html

TEXT = "生态文明贵阳国际论坛 共商全球发展绿色转型 ·镕"   # 镕 is in GBK, not in GB2312


def page(charset: str, body: str = TEXT) -> str:
    return f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head><body>{body}</body></html>'


def test_gb2312_declared_gbk_bytes_decode_as_gbk():
    raw = page("gb2312").encode("gbk")
    text, enc = decode_html(raw, "text/html")
    assert TEXT in text and enc == "gbk"


def test_gb18030_only_bytes_under_a_gbk_claim():
    body = TEXT + "𠀀"                                  # a four-byte GB18030 character
    raw = page("gbk", body).encode("gb18030")
    text, enc = decode_html(raw, None)
    assert body in text and enc == "gb18030"


def test_a_gb2312_label_reads_as_browsers_read_it():
    # WHATWG: every GB label decodes as GBK; its A1AA is U+2014 (gb2312's codec says U+2015)
    raw = page("gb2312", "13\u201515岁 儿童").encode("gb2312")
    text, enc = decode_html(raw, None)
    assert enc == "gbk" and "13\u201415岁" in text


def test_undeclared_pure_gb2312_gets_the_narrowest_codec():
    raw = f"<html><body>{'13―15岁 儿童心理发展现状调查研究' * 5}</body></html>".encode("gb2312")
    text, enc = decode_html(raw, None)
    assert enc == "gb2312" and "13―15岁" in text


def test_header_charset_wins_when_bytes_agree():
    raw = page("utf-8").encode("utf-8")
    text, enc = decode_html(raw, "text/html; charset=UTF-8")
    assert TEXT in text and enc == "utf-8"


def test_lying_meta_falls_back_to_what_the_bytes_are():
    raw = page("utf-8").encode("gbk")              # claims utf-8, is GB
    text, enc = decode_html(raw, None)
    assert TEXT in text and enc == "gbk"


def test_one_bad_byte_in_utf8_page_keeps_utf8():
    raw = page("utf-8").encode("utf-8")
    raw = raw.replace("论坛".encode(), b"\xff\xfe", 1)
    text, enc = decode_html(raw, None)
    assert enc == "utf-8:replace" and "绿色转型" in text


def test_undeclared_gbk():
    raw = f"<html><body>{TEXT * 20}</body></html>".encode("gbk")
    text, enc = decode_html(raw, "text/html")
    assert TEXT in text and enc == "gbk"


def test_registry_hint_used_when_page_says_nothing():
    raw = f"<html><body>{TEXT}</body></html>".encode("gb18030")
    assert decode_html(raw, None, hint="gbk")[1] == "gbk"


def test_utf8_page_with_gbk_fragments_is_patched():
    raw = ("<html><head><meta charset='utf-8'></head><body>" + TEXT * 30).encode("utf-8") + \
        "（记者张三）".encode("gbk") + ("</body></html>").encode("utf-8")
    text, enc = decode_html(raw, None)
    assert enc == "utf-8+gbk"
    # (a GBK pair that happens to be valid UTF-8, such as 全 = C8 AB, cannot be told apart)
    assert "（记者张三）" in text and TEXT in text


UTF8_ARTICLE = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'></head><body>"
                + "<p>国务院办公厅近日印发关于进一步加强生态环境保护工作的意见，要求各地区各部门认真贯彻落实。</p>" * 20
                + "</body></html>")


def test_a_utf8_page_declaring_gb2312_is_read_as_utf8():
    text, enc = decode_html(UTF8_ARTICLE.encode("utf-8"), None)
    assert enc == "utf-8" and "生态环境保护" in text


def test_a_utf8_page_with_a_stray_byte_and_a_gb2312_claim_is_not_mojibake():
    from flows.extract.script import quality
    raw = UTF8_ARTICLE.encode("utf-8")
    for broken in (raw.replace("意见".encode(), b"\xe6\x84", 1),         # a truncated character
                   raw[:60] + b"\xff" + raw[60:],                         # one stray byte in <head>
                   raw + "要求".encode()[:2]):                              # cut off mid-character
        text, enc = decode_html(broken, None)
        assert enc.startswith("utf-8") and "生态环境保护" in text, enc
        assert "mojibake" not in quality(text, enc)[1]


def test_big5_pages_are_read_as_big5():
    trad = "<p>香港特別行政區政府今日宣布，將進一步加強與內地的經濟合作，推動粵港澳大灣區建設。</p>" * 10
    declared = f"<html><head><meta charset='big5'></head><body>{trad}</body></html>".encode("big5")
    assert decode_html(declared, None) == (declared.decode("big5"), "big5")
    bare = f"<html><body>{trad}</body></html>".encode("big5")     # GBK reads these bytes without an error
    text, enc = decode_html(bare, None)
    assert enc == "big5" and "粵港澳大灣區" in text
