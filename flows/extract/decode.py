"""Decode page bytes to text, trusting the bytes over what the page claims.

Candidates in order: BOM, HTTP charset, `<meta>` charset, UTF-8, GB18030. A declared member
of the GB family is tried as declared, then as GBK, then GB18030 (its supersets): pages that
declare gb2312 routinely contain GBK/GB18030 characters. A candidate must decode the
whole body strictly; if none does, charset-normalizer guesses, and as a last resort the best
candidate decodes with replacement characters (recorded, so quality checks can flag it).
"""
from __future__ import annotations

import codecs
import re

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]+)", re.I)
GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn", "gb_2312-80", "hz-gb-2312"}
BOMS = [(codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
# Python codecs that are no page charset: a page naming one (charset=base64, idna, undefined ...)
# must not crash decoding or turn bytes into garbage; as browsers do, the claim is ignored
# (a UTF-16/32 body is recognised by its BOM, never by a label).
NOT_PAGE_CHARSETS = {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7",
                     "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}


def _norm(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in ("gb2312", "gb_2312-80", "euc-cn"):
        return "gb2312"
    if name in GB_FAMILY:
        return "gbk"
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in NOT_PAGE_CHARSETS:
        return None
    return info.name


def declared_charsets(body: bytes, content_type: str | None) -> list[str]:
    out = []
    if content_type:
        m = HEADER_CHARSET.search(content_type)
        if m:
            out.append(m.group(1))
    m = META_CHARSET.search(body[:8192])
    if m:
        out.append(m.group(1).decode("ascii", "ignore"))
    return out


def _utf8_with_gbk_patches(body: bytes) -> tuple[str, int, int]:
    """Decode UTF-8; where a byte sequence is invalid, try it as a two-byte GBK character.
    Returns (text, GBK characters patched in, bytes lost). A GBK pair that happens to be
    valid UTF-8 (lead C2-DF, trail A1-BF, e.g. 全 = C8 AB) cannot be told apart and stays
    as read."""
    out: list[str] = []
    patched = lost = 0
    pos = 0
    while True:
        try:
            out.append(body[pos:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            out.append(body[pos:pos + exc.start].decode("utf-8"))
            at = pos + exc.start
            pair = body[at:at + 2]
            try:
                ch = pair.decode("gbk") if len(pair) == 2 else ""
            except UnicodeDecodeError:
                ch = ""
            if len(ch) == 1 and "\u3000" <= ch <= "\uffef":
                out.append(ch)
                patched += 1
                pos = at + 2
            else:
                out.append("\ufffd")
                lost += 1
                pos = at + 1
            if lost > 1000:
                out.append(body[pos:].decode("utf-8", errors="replace"))
                break
    return "".join(out), patched, lost


def decode_html(body: bytes, content_type: str | None = None,
                hint: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used). Encoding ends with ':replace' when bytes were lost."""
    for bom, enc in BOMS:
        if body.startswith(bom):
            return body.decode(enc, errors="replace"), enc
    declared: list[str] = []
    for name in [*declared_charsets(body, content_type), hint]:
        enc = _norm(name)
        # a GB-family claim is tried as itself, then as its supersets: pages that say gb2312
        # routinely hold GBK or GB18030 characters (Python's gb2312 and gbk also differ on
        # a few punctuation marks, e.g. A1AA: U+2015 vs U+2014, so the claim goes first)
        for e in ([enc, "gbk", "gb18030"] if enc in ("gb2312", "gbk") else [enc]):
            if e and e not in declared:
                declared.append(e)
    fallback = [e for e in ("utf-8", "gb2312", "gbk", "gb18030") if e not in declared]
    # 1. what the page (or the registry) vouches for, if the bytes agree exactly
    for enc in declared:
        try:
            return body.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    # 2. a vouched-for charset with a few bad bytes (a truncated or mixed page) beats a guess:
    #    GB18030 "decodes" UTF-8 bytes into plausible-looking garbage without any error
    for enc in declared:
        text = body.decode(enc, errors="replace")
        if text.count("\ufffd") <= max(2, len(body) // 500):
            return text, f"{enc}:replace"
    # 3. a UTF-8 page with GBK fragments pasted in (seen on big portals): UTF-8, with each
    #    invalid spot read as one GBK character where that works
    text, patched, lost = _utf8_with_gbk_patches(body)
    if patched and patched <= len(body) // 50 and lost <= max(2, len(body) // 500):
        return text, "utf-8+gbk"
    # 4. the page lied about its charset: try the two that cover nearly all Chinese pages
    for enc in fallback:
        try:
            return body.decode(enc), enc
        except UnicodeDecodeError:
            continue
    try:
        from charset_normalizer import from_bytes
        best = from_bytes(body[:200_000]).best()
        if best is not None and best.encoding:
            enc = _norm(best.encoding) or best.encoding
            return body.decode(enc, errors="replace"), f"{enc}:detected"
    except Exception:   # the detector is best effort; never fail a page because of it
        pass
    enc = (declared or ["utf-8"])[0]
    return body.decode(enc, errors="replace"), f"{enc}:replace"
