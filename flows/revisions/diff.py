"""Diffs of Chinese text that read well: compared by jieba tokens (words, numbers and punctuation
kept whole, whitespace too), never by whitespace-separated words, which Chinese does not have.

`diff_ops(old, new)` gives the edit as runs: ("equal" | "delete" | "insert", text), adjacent
runs merged. `render(ops)` prints only the changed runs with a little context on each side:
deletions in red `[-…-]`, insertions in green `{+…+}` (colour is optional; the brackets say it
without colour too).
"""
from __future__ import annotations

import difflib

RED, GREEN, DIM, RESET = "\x1b[31;9m", "\x1b[32m", "\x1b[2m", "\x1b[0m"
CONTEXT = 24        # characters of unchanged text shown on each side of a change


def split_tokens(text: str) -> list[str]:
    """Every character of `text` in jieba tokens, in order (joined they give the text back)."""
    if not text:
        return []
    from flows.search.segment import _jieba
    return list(_jieba().cut(text, HMM=True))     # HMM: names jieba does not know stay whole


def diff_ops(old: str, new: str) -> list[tuple[str, str]]:
    a, b = split_tokens(old or ""), split_tokens(new or "")
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops: list[tuple[str, str]] = []

    def add(kind: str, text: str) -> None:
        if not text:
            return
        if ops and ops[-1][0] == kind:
            ops[-1] = (kind, ops[-1][1] + text)
        else:
            ops.append((kind, text))
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            add("delete", "".join(a[i1:i2]))
            add("insert", "".join(b[j1:j2]))
    return ops


def changed(ops: list[tuple[str, str]]) -> bool:
    return any(k != "equal" for k, _ in ops)


def render(ops: list[tuple[str, str]], colour: bool = False, context: int = CONTEXT) -> str:
    """The changes with `context` characters around each, one hunk a line."""
    out: list[str] = []
    line: list[str] = []
    for i, (kind, text) in enumerate(ops):
        if kind == "equal":
            first, last = i == 0, i == len(ops) - 1
            if len(text) > 2 * context or first or last:
                if not first:
                    line.append(text[:context].replace("\n", "⏎"))
                    out.append("".join(line))
                    line = []
                if not last:
                    tail = text[-context:].replace("\n", "⏎")
                    line.append(("…" if len(text) > context else "") + tail)
            else:
                line.append(text.replace("\n", "⏎"))
        elif kind == "delete":
            t = text.replace("\n", "⏎")
            line.append(f"{RED}[-{t}-]{RESET}" if colour else f"[-{t}-]")
        else:
            t = text.replace("\n", "⏎")
            line.append(f"{GREEN}{{+{t}+}}{RESET}" if colour else f"{{+{t}+}}")
    if line:
        out.append("".join(line))
    return "\n".join(x for x in out if x)
