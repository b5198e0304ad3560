"""Readable plain text from the HTML e-mails of monitoring tools (Zabbix, Grafana, Synology, ...).

The output is what a person would read in a mail client, laid out as lines: incident details are
shown as plain text and matched by rules, so layout tables and markup must not get in the way.
"""

from __future__ import annotations

from html.parser import HTMLParser
import re

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "details",
        "dd", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "html", "legend", "main", "nav", "p", "section",
        "summary", "table", "tbody", "tfoot", "thead",
    }
)  # fmt: skip
_HIDDEN = frozenset({"head", "noscript", "script", "style", "template", "title"})
_LIST_TAGS = frozenset({"ol", "ul"})
_CELL_TAGS = frozenset({"td", "th"})
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_HTML_SPACES = re.compile(r"[ \t\n\r\f]+")
CELL_SEPARATOR = " | "


class _TextExtractor(HTMLParser):
    """Collects lines of text while html.parser walks the markup, forgiving any nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._line: list[str] = []
        # Written before the first text of the next line: the marker of a list item. Kept
        # pending so that an empty item leaves no line and a <p> inside an item keeps it.
        self._prefix = ""
        # A cell started after text on the same line; the separator waits for the cell's text
        # so that empty cells add nothing.
        self._separator_due = False
        self._hidden: list[str] = []
        # The text of the open <title>. Python 3.14's parser reads a <title> as plain text up
        # to </title>: when it is never closed, this holds the rest of the e-mail unparsed.
        self._title_text: list[str] = []
        self._preformatted = 0
        self._pre_just_opened = False  # a newline right after <pre> is not shown
        self._lists: list[int | None] = []  # next number of each open <ol>, None for a <ul>
        self._link: tuple[str, list[str]] | None = None

    def text(self) -> str:
        self._break()
        return "\n".join(self._lines)

    def _break(self) -> None:
        if self._line:
            self._lines.append("".join(self._line).rstrip())
        self._line = []
        self._separator_due = False

    def _write(self, text: str) -> None:
        at_line_start = not self._line
        if at_line_start or self._separator_due or self._line[-1].endswith(" "):
            text = text.lstrip()
        if not text:
            return
        if at_line_start:
            text = self._prefix + text
            self._prefix = ""
        elif self._separator_due:
            self._line[-1] = self._line[-1].rstrip()
            text = CELL_SEPARATOR + text
        self._separator_due = False
        self._line.append(text)

    def _write_preformatted(self, data: str) -> None:
        first, *following = data.replace("\r\n", "\n").split("\n")
        if first:
            self._line.append(first)
        for line in following:
            self._lines.append("".join(self._line).rstrip())
            self._line = [line] if line else []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden.append(tag)
            return
        if tag == "body":
            self._hidden.clear()  # browsers end an unclosed <head> at <body>
            self._title_text.clear()
        if self._hidden:
            return
        if tag in _LIST_TAGS:
            self._break()
            self._lists.append(_list_start(attrs) if tag == "ol" else None)
        elif tag == "li":
            self._break()
            self._prefix = self._list_marker()
        elif tag in _CELL_TAGS:
            self._separator_due = bool(self._line)
        elif tag == "a":
            self._link = (dict(attrs).get("href") or "", [])
        elif tag == "pre":
            self._break()
            self._preformatted += 1
            self._pre_just_opened = True
        elif tag in _BLOCKS or tag in ("br", "tr"):
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<script/>" opens nothing in a browser; for other elements "/>" changes nothing.
        if tag not in _HIDDEN:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            if tag in self._hidden:
                del self._hidden[self._hidden.index(tag) :]
            if "title" not in self._hidden:
                self._title_text.clear()
            return
        if self._hidden:
            return
        if tag in _LIST_TAGS:
            if self._lists:
                self._lists.pop()
            self._break()
            self._prefix = ""
        elif tag == "li":
            self._break()
            self._prefix = ""
        elif tag == "a":
            self._end_link()
        elif tag == "pre":
            self._break()
            self._preformatted = max(0, self._preformatted - 1)
        elif tag in _BLOCKS or tag == "tr":
            self._break()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            if self._hidden[-1] == "title":
                self._title_text.append(data)
            return
        if self._pre_just_opened:
            self._pre_just_opened = False
            if data.startswith(("\r\n", "\n")):
                data = data.split("\n", 1)[1]
        if self._link is not None:
            self._link[1].append(data)
        if self._preformatted:
            self._write_preformatted(data)
        else:
            self._write(_HTML_SPACES.sub(" ", data))

    def unclosed_title_text(self) -> str:
        """After close(): the text of a <title> that was never closed, for reading as markup
        like any parser before Python 3.14 did (its <body> ends the head); the parser is reset
        for it, the title stays open."""
        if "title" not in self._hidden:
            return ""
        text = "".join(self._title_text)
        self._title_text.clear()
        self.reset()
        return text

    def _list_marker(self) -> str:
        indent = "  " * max(0, len(self._lists) - 1)
        if not self._lists or self._lists[-1] is None:
            return f"{indent}- "
        number = self._lists[-1]
        self._lists[-1] = number + 1
        return f"{indent}{number}. "

    def _end_link(self) -> None:
        if self._link is None:
            return
        href, pieces = self._link
        self._link = None
        label = _HTML_SPACES.sub(" ", "".join(pieces)).strip()
        # Only addresses a reader can use; "javascript:" and relative links are noise.
        if not href.startswith(_LINK_SCHEMES) or href in (label, f"mailto:{label}"):
            return
        self._write(f" ({href})" if label else href)


def _list_start(attrs: list[tuple[str, str | None]]) -> int:
    start = dict(attrs).get("start") or ""
    return int(start) if start.isdecimal() and len(start) < 10 else 1


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: block elements and <br> break lines, list items become
    "- item" (or "1. item") lines, table rows become lines of cells joined by " | ", the
    content of <script>, <style> and <head> is dropped, entities are decoded, links are kept
    as "text (url)" when the text is not the url itself, and whitespace collapses the way a
    browser collapses it. Never raises on malformed HTML."""
    extractor = _TextExtractor()
    markup = html
    while markup:
        try:
            extractor.feed(markup)
            extractor.close()
        except (AssertionError, ValueError):  # html.parser's own guards on broken declarations
            pass
        unparsed = extractor.unclosed_title_text()
        markup = unparsed if len(unparsed) < len(markup) else ""  # shorter each round: ends
    return extractor.text()
