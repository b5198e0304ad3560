"""Readable plain text from the HTML e-mails of monitoring tools (Zabbix, Grafana, ...)."""

from __future__ import annotations

from html.parser import HTMLParser
import re

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "div", "dl", "dt", "dd", "fieldset",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "ul",
    }
)  # fmt: skip
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._lists: list[list[int]] = []  # per open list: [next number] or [] for bullets
        self._cells: list[str] | None = None
        self._cell: list[str] | None = None
        self._link: tuple[str, int] | None = None

    def _target(self) -> list[str]:
        return self._cell if self._cell is not None else self._line

    def _break(self) -> None:
        joined = "".join(self._line)
        text = joined.rstrip() if self._pre_depth else joined.strip()
        if text:
            self.lines.append(text)
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip_depth += 1
            return
        if tag == "br":
            if self._cell is not None:
                self._cell.append(" ")
            else:
                self._break()
        elif tag in ("ul", "ol"):
            self._break()
            self._lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            self._break()
            depth = max(0, len(self._lists) - 1)
            marker = "- "
            if self._lists and self._lists[-1]:
                marker = f"{self._lists[-1][0]}. "
                self._lists[-1][0] += 1
            self._line.append("  " * depth + marker)
        elif tag == "tr":
            self._break()
            self._cells = []
        elif tag in ("td", "th") and self._cells is not None:
            self._cell = []
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._link = (href, len("".join(self._target())))
        elif tag == "pre":
            self._break()
            self._pre_depth += 1
        elif tag in _BLOCKS:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag in ("td", "th") and self._cells is not None and self._cell is not None:
            self._cells.append(_SPACES.sub(" ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._cells is not None:
            cells = [cell for cell in self._cells if cell]
            self._cells = None
            self._line.append(" | ".join(cells))
            self._break()
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._break()
        elif tag == "a" and self._link is not None:
            href, start = self._link
            self._link = None
            target = self._target()
            text = "".join(target)[start:].strip()
            if href.startswith(("http://", "https://", "mailto:")) and href not in (
                text,
                f"mailto:{text}",
            ):
                target.append(f" ({href})" if text else href)
        elif tag == "pre":
            self._break()
            self._pre_depth = max(0, self._pre_depth - 1)
        elif tag in _BLOCKS or tag == "li":
            self._break()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            first, *rest = data.split("\n")
            self._line.append(first)
            for line in rest:
                self._break()
                self._line.append(line)
            return
        text = _SPACES.sub(" ", data)
        target = self._target()
        if not target or "".join(target).endswith((" ", "- ", ". ")):
            text = text.lstrip()
        target.append(text)

    def text(self) -> str:
        if self._cell is not None and self._cells is not None:
            self.handle_endtag("td")
        if self._cells is not None:
            self.handle_endtag("tr")
        self._break()
        return "\n".join(line.rstrip() for line in self.lines)


def html_to_text(html: str) -> str:
    """Block elements and <br> break lines, lists become "- " or "1. " lines, table rows become
    cells joined by " | ", scripts and styles are dropped, entities decoded, links kept as
    "text (url)". Never raises on malformed HTML."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # html.parser's own guards on broken markup
        pass
    return extractor.text()
