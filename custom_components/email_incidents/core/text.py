"""Sanitising of decoded text: what is shown, logged or put into events has no control characters.

A decoded encoded word can carry CR/LF (header injection when re-emitted or logged), so every
single-line value passes through `clean_line` and every multi-line text through `clean_text`.
`human_interval` words a time span for the texts the engine writes.
"""

from __future__ import annotations

from datetime import timedelta
import re

# C0 (with CR, LF and TAB), DEL, C1 and the Unicode line and paragraph separators, which some
# viewers treat as line breaks; `\s` also folds other whitespace such as no-break spaces.
_LINE_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\s]+")
_TEXT_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]+")
# What `_TEXT_UNSAFE` removes from ASCII text (after CR became LF): bytes.translate deletes them
# in one C pass, some fifty times faster than the pattern scans a typical alert's body.
_ASCII_UNSAFE = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{4,}")
TRUNCATION_MARK = "\n[… truncated]"


def clean_line(value: str, limit: int | None = None) -> str:
    """One line: control characters become spaces, whitespace runs fold, ends stripped; cut to
    `limit` characters."""
    cleaned = _LINE_UNSAFE.sub(" ", value).strip()
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[:limit].rstrip()
    return cleaned


def clean_text(value: str, limit: int | None = None) -> str:
    """Multi-line text: LF line ends, no control characters but LF and TAB, no trailing spaces,
    at most two blank lines in a row; cut to `limit` characters, the cut marked at the end."""
    if limit is None:
        return _cleaned(value)
    # Cleaning only shrinks text; beyond a few times the limit the rest can never be shown,
    # and `re` holds the GIL (Home Assistant's loop) for as long as it works on megabytes.
    kept = limit * 4 + 1024
    text = _cleaned(value[:kept])
    if len(value) > kept or len(text) > limit:
        if limit <= len(TRUNCATION_MARK):
            return text[:limit]
        text = (text[: limit - len(TRUNCATION_MARK)].rstrip() + TRUNCATION_MARK).lstrip("\n")
    return text


def _cleaned(value: str) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        text = text.encode("ascii").translate(None, _ASCII_UNSAFE).decode("ascii")
    else:
        text = _TEXT_UNSAFE.sub("", text)
    # The patterns only where they can match: substring tests cost far less than their scans.
    if " \n" in text or "\t\n" in text or text.endswith((" ", "\t")):
        text = _TRAILING_SPACE.sub("", text)
    if "\n\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n\n", text)
    return text.strip("\n")


def human_interval(interval: timedelta) -> str:
    """'1 day', '2 hours', '90 minutes' for heartbeat summaries."""
    minutes = int(interval.total_seconds() // 60)
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0 and minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
