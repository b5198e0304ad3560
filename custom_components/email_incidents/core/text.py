"""Sanitising of decoded text: what is shown, logged or put into events has no control characters.

A decoded encoded word can carry CR/LF (header injection when re-emitted or logged), so every
single-line value passes through `clean_line` and every multi-line text through `clean_text`.
"""

from __future__ import annotations

import re

_LINE_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\s]+")
_TEXT_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_RUNS = re.compile(r"\n{4,}")
TRUNCATION_MARK = "\n[… truncated]"


def clean_line(value: str, limit: int | None = None) -> str:
    """One line: control characters become spaces, whitespace runs fold, ends stripped."""
    cleaned = _LINE_UNSAFE.sub(" ", value).strip()
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[:limit].rstrip()
    return cleaned


def clean_text(value: str, limit: int | None = None) -> str:
    """Multi-line text: LF line ends, no control characters but LF and TAB, no trailing spaces,
    at most two blank lines in a row; cut at `limit` characters with a visible mark."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _TEXT_UNSAFE.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_RUNS.sub("\n\n\n", text).strip("\n")
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - len(TRUNCATION_MARK))].rstrip() + TRUNCATION_MARK
    return text
