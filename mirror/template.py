"""The mirror's page templates: one file per CMS layout (``mirror/templates/<layout>.html``)
plus ``common.html``, which every layout falls back to.

A file is a list of sections, each starting with a line ``@@ name``; a section's text is its
lines up to the next marker (trailing blank lines dropped). ``@@ settings`` is TOML (the layout's
facts: selectors the checks use, link styles, defaults). Tags in a section:

    {{name}}            a value of the context, HTML-escaped (``|attr``: attribute-escaped,
                        ``|raw``: as is, ``|trad``: with the seeds' pinyin if the site is in
                        traditional script, ``|plain``: pinyin removed; filters apply in order)
    {{"text"}}          a literal (takes the same filters)
    {{>name}}           the section ``name`` rendered here (a site may override it in sites.toml)
    {{list*name}}       the section once per element of ``list`` (a dict over the context),
                        joined by newlines; ``{{list*name ""}}`` joins with the given string
    {{?name}}           renders nothing, but the whole section renders as "" unless ``name``
                        is set and not empty (a missing name counts as empty only here)

The templates were written to give, byte for byte, the pages the per-site classes wrote
before; the mirror's README says which site imitates what.
"""
from __future__ import annotations

import html
import json
import re
import tomllib
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
MARKER = re.compile(r"^@@ (\S+)[ \t]*$", re.M)
TAG = re.compile(r"\{\{(.*?)\}\}")


class TemplateError(Exception):
    """A template names a section or value that does not exist, or a filter it does not know."""


def esc(s: str) -> str:
    """Escape text content (quotes left alone, as CMS output does)."""
    return html.escape(s, quote=False)


def attr(s: str) -> str:
    return html.escape(s, quote=True)


def read_sections(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    marks = list(MARKER.finditer(text))
    out = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        body = text[m.end() + 1:nxt.start() if nxt else len(text)]
        out[m.group(1)] = body.rstrip("\n")
    return out


class Context:
    """Chained dictionaries: an element of a loop over a page over a site."""

    def __init__(self, *maps: dict):
        self.maps = maps

    def child(self, values: dict) -> "Context":
        return Context(values, *self.maps)

    def get(self, name: str, where: str):
        for m in self.maps:
            if name in m:
                return m[name]
        raise TemplateError(f"{where}: no value {name!r}")

    def has(self, name: str) -> bool:
        return any(name in m for m in self.maps)


class Layout:
    """The sections of one layout, over common.html's, with a site's overrides on top."""

    def __init__(self, name: str, overrides: dict[str, str] | None = None, script: str = "simplified",
                 annotate=None, strip=None):
        self.name = name
        common = read_sections(TEMPLATE_DIR / "common.html")
        if not (TEMPLATE_DIR / f"{name}.html").is_file():
            raise TemplateError(f"no layout {name!r}: have {sorted(p.stem for p in TEMPLATE_DIR.glob('*.html'))}")
        own = read_sections(TEMPLATE_DIR / f"{name}.html")
        base, mine = tomllib.loads(common.pop("settings", "")), tomllib.loads(own.pop("settings", ""))
        self.settings = {**base, **mine, "defaults": {**base.get("defaults", {}), **mine.get("defaults", {})}}
        self.sections = {**common, **own, **(overrides or {})}
        self.traditional = script == "traditional"
        self._annotate, self._strip = annotate, strip

    def has(self, section: str) -> bool:
        return section in self.sections

    def render(self, section: str, ctx: Context) -> str:
        try:
            text = self.sections[section]
        except KeyError:
            raise TemplateError(f"layout {self.name!r}: no section {section!r}") from None
        return self.render_text(text, ctx, f"{self.name}/{section}")

    def render_text(self, text: str, ctx: Context, where: str) -> str:
        tags = list(TAG.finditer(text))
        for m in tags:
            expr = m.group(1).strip()
            if expr.startswith("?") and not (ctx.has(expr[1:]) and ctx.get(expr[1:], where) not in (None, "")):
                return ""
        out, pos = [], 0
        for m in tags:
            out.append(text[pos:m.start()])
            out.append(self._tag(m.group(1).strip(), ctx, where))
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def _tag(self, expr: str, ctx: Context, where: str) -> str:
        if expr.startswith("?"):
            return ""
        quoted = expr.rfind('"') + 1            # a "|" inside a quoted string is no filter
        expr, *filters = [p.strip() for p in (expr[:quoted] + expr[quoted:].replace("|", "\0")).split("\0")]
        if expr.startswith(">"):
            return self.render(expr[1:], ctx)
        if "*" in expr:
            name, _, rest = expr.partition("*")
            section, _, sep = rest.partition(" ")
            joiner = json.loads(sep) if sep else "\n"
            return joiner.join(self.render(section, ctx.child(e)) for e in ctx.get(name, where))
        value = json.loads(expr) if expr.startswith('"') else ctx.get(expr, where)
        value = "" if value is None else str(value)
        escape = esc
        for f in filters:
            if f == "trad":
                value = self._annotate(value) if self.traditional else value
            elif f == "plain":
                value = self._strip(value)
            elif f in ("attr", "raw"):
                escape = attr if f == "attr" else str
            else:
                raise TemplateError(f"{where}: unknown filter {f!r}")
        return escape(value)
