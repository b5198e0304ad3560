"""HTML to readable text: the layout a reader sees in a mail client, as lines."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.email_incidents.core.html_text import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            "<h1>Title</h1><p>para one</p><div>div <span>inline</span></div>text after",
            "Title\npara one\ndiv inline\ntext after",
        ),
        ("<p>a<br>b<br/>c</p>", "a\nb\nc"),
        ("a   b\n  c <b>bold</b> <i>it</i><b>x</b><i>y</i>", "a b c bold itxy"),
        ("<pre>  line 1\n    line 2\n\nline 4</pre>after", "  line 1\n    line 2\n\nline 4\nafter"),
        ("a<pre>\r\nx<b>\nbold</b>\n</pre>", "a\nx\nbold"),
    ],
)
def test_blocks_breaks_and_whitespace(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        (
            "<ul><li>a<li>b<ul><li>nested</li></ul></li><li></li><li><p>in p</p></li></ul>",
            "- a\n- b\n  - nested\n- in p",
        ),
        ("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"),
        (
            '<ol start="3"><li>c</li><li>d</li></ol><ol start="x"><li>e</li></ol>',
            "3. c\n4. d\n1. e",
        ),
        ("<li>outside a list</li>", "- outside a list"),
        ("<ul><li>x</ul></li></ol>after", "- x\nafter"),
    ],
)
def test_lists(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            "<table><tr><th>Host</th><th></th><th>Value</th></tr>"
            "<tr><td> node1 </td><td>97 %</td></tr></table>",
            "Host | Value\nnode1 | 97 %",
        ),
        ("<table><tr><td>a<br>b</td><td>c</td></tr></table>", "a\nb | c"),
        (
            "<table><tr><td>outer<table><tr><td>in1</td><td>in2</td></tr></table></td>"
            "<td>after</td></tr></table>",
            "outer\nin1 | in2\nafter",
        ),
        ("<td>cell outside</td><td>a table</td>", "cell outside | a table"),
        ("<table><tr><td>open cell", "open cell"),
    ],
)
def test_tables(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_hidden_content_is_dropped() -> None:
    html = (
        "<html><head><title>T</title><meta charset=utf-8><style>x{}</style></head>"
        "<body>shown <script>bad()</script><noscript>no</noscript><template>t</template>"
        "<!-- comment -->still</body></html>"
    )
    assert html_to_text(html) == "shown still"
    # An unclosed <title> hides nothing after <body>, with any Python's HTML parser.
    assert html_to_text("<head><title>unclosed head<body>body text") == "body text"
    assert html_to_text("<title>T<p>hidden</p><body><p>one</p>two") == "one\ntwo"
    assert html_to_text("<title>a<title>b<body>c") == "c"
    assert html_to_text("<title>only &lt;a title&gt;") == ""
    assert html_to_text("<title>closed <b>x</b></title>shown") == "shown"
    assert html_to_text("a<script/> b") == "a b"
    assert html_to_text("a</style>b</head>c") == "abc"


def test_entities() -> None:
    assert html_to_text("&amp; &lt;b&gt; a&nbsp;b &#x263A; &eacute; &bogus; &#0;") == (
        "& <b> a\xa0b ☺ é &bogus; \ufffd"
    )


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<a href="https://x.example/a">Docs</a>', "Docs (https://x.example/a)"),
        ('<a href="https://x.example/b">https://x.example/b</a>', "https://x.example/b"),
        ('<a href="mailto:a@b.example">a@b.example</a>', "a@b.example"),
        ('<a href="mailto:a@b.example">Mail us</a>', "Mail us (mailto:a@b.example)"),
        (
            '<a href="/relative">rel</a> <a href="javascript:x()">js</a> <a>no href</a>',
            "rel js no href",
        ),
        ('<a href="https://only.example"></a>', "https://only.example"),
        (
            'go <a href="https://n.example"> <b>bold</b> link </a>!',
            "go bold link (https://n.example)!",
        ),
        ("</a>stray end", "stray end"),
    ],
)
def test_links(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<div>unclosed <b>bold", "unclosed bold"),
        ("</p></div>stray", "stray"),
        ("a < b > c", "a < b > c"),
        ("<<>>", "<<>>"),
        ("<![CDATA[x]]>y", "y"),
        ("</", "</"),
        ("<p class=a b=c>attrs</p>", "attrs"),
        ("<!DOCTYPE html>visible", "visible"),
        # html.parser gives up on a broken marked section; what came before is kept.
        ("<p>before</p><![foo[after", "before"),
        ("", ""),
    ],
)
def test_malformed_html(html: str, text: str) -> None:
    assert html_to_text(html) == text


_MARKUP = st.lists(
    st.sampled_from(
        [
            *"<>/=\"'&;!- \n\tab",
            "<p>", "</p>", "<br>", "<li>", "<ol start=2>", "</ul>", "<tr>", "<td>", "</td>",
            "<a href='https://x'>", "</a>", "<pre>", "</pre>", "<script>", "</script>",
            "<head>", "<body>", "<!--", "-->", "<![CDATA[", "&#x", "&amp", "<style/>",
        ]
    ),
    max_size=60,
).map("".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_MARKUP)
def test_any_markup_converts_without_exception(html: str) -> None:
    text = html_to_text(html)
    assert all(line == line.rstrip() for line in text.split("\n"))
