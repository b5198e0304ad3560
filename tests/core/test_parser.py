"""The parser: decoding, structure, limits and sanitising, with exact expected values."""

from __future__ import annotations

from datetime import UTC, datetime
import time

from hypothesis import given, settings, strategies as st

from custom_components.email_incidents.core.html_text import html_to_text
from custom_components.email_incidents.core.parser import (
    FORWARD_SEPARATOR,
    ParseLimits,
    normalise_address,
    parse_email,
)
from custom_components.email_incidents.core.text import TRUNCATION_MARK, clean_line, clean_text


def _mail(headers: str, body: bytes = b"body") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def test_plain_message_fields() -> None:
    email = parse_email(
        _mail(
            "From: Nagios Monitor <Nagios@Example.COM>\n"
            "To: nas@homeassistant.local, Other <b@example.org>\n"
            "Cc: c@example.org\nBcc: d@example.org\nDelivered-To: fwd@homeassistant.local\n"
            "Subject: ** PROBLEM Service Alert: web/HTTP is CRITICAL **\n"
            "Message-ID: <123@nagios>\nIn-Reply-To: <100@zabbix>\n"
            "References: <99@zabbix> <100@zabbix>\n"
            "Date: Tue, 24 Nov 2026 10:02:03 +0100\nX-Custom: yes",
            b"Host: web\r\nState: CRITICAL\r\n",
        ),
        envelope_sender="<Bounce@Example.com>",
        envelope_recipients=["NAS@HomeAssistant.local"],
    )
    assert email.subject == "** PROBLEM Service Alert: web/HTTP is CRITICAL **"
    assert (email.from_address, email.from_name) == ("nagios@example.com", "Nagios Monitor")
    assert email.to == ("nas@homeassistant.local", "b@example.org")
    assert (email.cc, email.bcc, email.delivered_to) == (
        ("c@example.org",),
        ("d@example.org",),
        ("fwd@homeassistant.local",),
    )
    assert email.envelope_sender == "bounce@example.com"
    assert email.envelope_recipients == ("nas@homeassistant.local",)
    assert (email.message_id, email.in_reply_to) == ("<123@nagios>", "<100@zabbix>")
    assert email.references == ("<99@zabbix>", "<100@zabbix>")
    assert email.date == datetime(2026, 11, 24, 9, 2, 3, tzinfo=UTC)
    assert email.headers.first("x-CUSTOM") == "yes"
    assert "X-Custom" in email.headers
    assert email.body == "Host: web\nState: CRITICAL"
    assert email.defects == ()


def test_encoded_word_split_inside_a_character_and_folded() -> None:
    # "🔴" is F0 9F 94 B4: the first word ends after two of its four bytes.
    email = parse_email(_mail("Subject: =?UTF-8?B?W/Cf?=\n =?UTF-8?B?lLQgRG93bl0gTXkgU2l0ZQ==?="))
    assert email.subject == "[🔴 Down] My Site"


def test_q_encoding_latin1_and_mixed_text() -> None:
    email = parse_email(_mail("Subject: Re: =?iso-8859-1?q?Sauvegarde_=E9chou=E9e?= sur NAS"))
    assert email.subject == "Re: Sauvegarde échouée sur NAS"


def test_header_injection_is_flattened() -> None:
    email = parse_email(_mail("Subject: =?utf-8?q?Alert=0D=0ABcc:_victim@example.com?="))
    assert email.subject == "Alert Bcc: victim@example.com"
    assert "\n" not in email.subject
    assert "\r" not in email.subject


def test_raw_utf8_header_and_unknown_charset() -> None:
    email = parse_email(
        "Subject: Störung ✓\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nDäta".encode()
    )
    assert email.subject == "Störung ✓"
    assert email.body == "Däta"
    assert "unknown charset 'x-unknown'" in email.defects


def test_wrong_charset_declaration_with_8bit_body() -> None:
    body = "Température élevée".encode()
    email = parse_email(_mail("Content-Type: text/plain; encoding=UTF-8", body))
    assert email.body == "Température élevée"
    latin = parse_email(_mail("Content-Type: text/plain", "Température".encode("latin-1")))
    assert latin.body == "Température"


def test_shift_jis_base64_body() -> None:
    import base64

    payload = base64.b64encode("ディスク障害".encode("shift_jis"))
    email = parse_email(
        _mail(
            "Content-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: base64",
            payload,
        )
    )
    assert email.body == "ディスク障害"


def test_quoted_printable_html_only() -> None:
    html = (
        b"<html><head><style>p{color:red}</style></head><body><h1>Alert=20firing</h1>"
        b"<p>CPU &gt; 90%<br>on node1</p><ul><li>one</li><li>two</li></ul>"
        b"<table><tr><th>Host</th><th>Value</th></tr><tr><td>node1</td><td>97</td></tr></table>"
        b'<a href=3D"https://grafana.example/d/1">Dashboard</a><script>alert(1)</script></body>'
        b"</html>"
    )
    email = parse_email(
        _mail(
            "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
            html,
        )
    )
    assert email.body == (
        "Alert firing\nCPU > 90%\non node1\n- one\n- two\nHost | Value\nnode1 | 97\n"
        "Dashboard (https://grafana.example/d/1)"
    )


def test_multipart_prefers_plain_and_records_attachments() -> None:
    body = (
        b"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
        b"--inner\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
        b"--inner\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--inner--\r\n"
        b"--outer\r\nContent-Type: text/plain; name=log.txt\r\n"
        b"Content-Disposition: attachment; filename=backup.log\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
        b"--outer\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--outer--\r\n"
    )
    email = parse_email(_mail("Content-Type: multipart/mixed; boundary=outer", body))
    assert email.body == "plain version"
    assert [(a.filename, a.content_type, a.size) for a in email.attachments] == [
        ("backup.log", "text/plain", 11),
        ("", "image/png", 6),
    ]


def test_attached_forwarded_message_is_readable() -> None:
    inner = (
        b"From: ups@example.com\r\nSubject: UPS on battery\r\nDate: Mon, 23 Nov 2026 03:00:00 +0000"
        b"\r\nTo: admin@example.com\r\n\r\nPower failure at 03:00"
    )
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    email = parse_email(_mail("Subject: Fwd: UPS\nContent-Type: multipart/mixed; boundary=b", body))
    assert email.body == (
        f"See below.\n\n{FORWARD_SEPARATOR}\nFrom: ups@example.com\n"
        "Date: Mon, 23 Nov 2026 03:00:00 +0000\nSubject: UPS on battery\nTo: admin@example.com"
        "\n\nPower failure at 03:00"
    )


def test_bare_lf_and_nul_bytes_and_invalid_utf8() -> None:
    email = parse_email(b"Subject: a\x00b\xff\nFrom: x@example.com\n\nline\x00one\nline two\xfe\n")
    assert email.subject == "a b\ufffd"
    assert email.from_address == "x@example.com"
    assert email.body == "lineone\nline two\u00fe"


def test_limits_bound_hostile_input() -> None:
    started = time.perf_counter()
    subject = b"Subject: " + b" ".join([b"=?utf-8?q?abcd?="] * 70_000)
    big_subject = parse_email(subject + b"\r\n\r\nbody")
    many_parts = parse_email(
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(10_000))
        + b"--b--\r\n"
    )
    nested = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i)
        for i in range(1, 1000)
    )
    deep = parse_email(nested)
    many_headers = parse_email(b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\nok")
    elapsed = time.perf_counter() - started
    # The raw value is cut before decoding, the decoded one again at 16 KiB.
    assert 8 * 1024 < len(big_subject.subject) <= 16 * 1024
    assert big_subject.subject == "abcd" * (len(big_subject.subject) // 4)
    assert "MIME parts beyond 200 ignored" in many_parts.defects
    assert many_parts.body.startswith("part 0")
    assert "MIME nesting beyond 20 levels ignored" in deep.defects
    assert "headers beyond 1000 ignored" in many_headers.defects
    assert len(many_headers.headers) == 1000
    assert elapsed < 30  # bounded work; the benchmark measures real speed


def test_header_block_cap_and_defects() -> None:
    limits = ParseLimits(max_header_bytes=100)
    email = parse_email(b"Subject: " + b"x" * 200 + b"\r\n\r\nbody", limits=limits)
    assert "header block truncated at 100 bytes" in email.defects
    assert email.subject == "x" * 91
    broken = parse_email(b"no colon here\r\nSubject: ok\r\n\r\nx")
    assert broken.subject == "ok"
    assert broken.defects == ("malformed header line ignored",)


def test_body_cap_and_invalid_base64() -> None:
    email = parse_email(
        _mail("Content-Transfer-Encoding: base64", b"!!!!"), limits=ParseLimits(max_body_chars=50)
    )
    assert email.body == ""
    long = parse_email(_mail("Subject: x", b"y" * 100), limits=ParseLimits(max_body_chars=50))
    assert long.body.endswith(TRUNCATION_MARK)
    assert len(long.body) == 50


def test_multipart_without_boundary_and_missing_date() -> None:
    email = parse_email(_mail("Content-Type: multipart/mixed\nDate: not a date", b"x"))
    assert "multipart without boundary" in email.defects
    assert email.date is None


def test_naive_date_is_utc_and_no_headers_at_all() -> None:
    email = parse_email(_mail("Date: 24 Nov 2026 10:00:00"))
    assert email.date == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert parse_email(b"just a body without headers").subject == ""


def test_normalise_address() -> None:
    assert normalise_address("Name <A@B.C>") == "a@b.c"
    assert normalise_address("<x@y.z>") == "x@y.z"
    assert normalise_address("") == ""


def test_clean_helpers() -> None:
    assert clean_line(" a\tb\r\nc\x00d\u2028e ", 7) == "a b c d"
    assert clean_text("a  \r\nb\r\r\n\n\n\n\nc\x07") == "a\nb\n\n\nc"


def test_html_edge_cases() -> None:
    assert html_to_text("<ol><li>first</li><li>second</li></ol>") == "1. first\n2. second"
    assert html_to_text("<p>a<br/>b</p><pre>x\n  y</pre>") == "a\nb\nx\n  y"
    assert html_to_text('<a href="https://x.example">https://x.example</a>') == "https://x.example"
    assert html_to_text("<table><tr><td>open cell") == "open cell"
    assert html_to_text("<div>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("&lt;tag&gt; &amp; &#x263A;") == "<tag> & ☺"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_parse_without_exception(raw: bytes) -> None:
    email = parse_email(raw)
    for value in (email.subject, email.from_name, *email.headers.keys()):
        assert "\r" not in value
        assert "\n" not in value


_PART = st.builds(
    lambda ctype, body, cte: (
        f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode() + body
    ),
    st.sampled_from(
        ["text/plain; charset=utf-8", "text/html", "application/pdf", "text/plain; charset=bogus"]
    ),
    st.binary(max_size=200),
    st.sampled_from(["7bit", "base64", "quoted-printable", "8bit"]),
)


def _tree(depth: int) -> st.SearchStrategy[bytes]:
    if depth == 0:
        return _PART
    return st.lists(st.one_of(_PART, _tree(depth - 1)), min_size=1, max_size=4).map(
        lambda parts: (
            f"Content-Type: multipart/mixed; boundary=d{depth}\r\n\r\n".encode()
            + b"".join(f"--d{depth}\r\n".encode() + part + b"\r\n" for part in parts)
            + f"--d{depth}--\r\n".encode()
        )
    )


@settings(max_examples=100, deadline=None)
@given(_tree(3))
def test_random_mime_trees_parse(raw: bytes) -> None:
    email = parse_email(b"Subject: tree\r\n" + raw)
    assert email.subject == "tree"
    assert email.size == len(raw) + len(b"Subject: tree\r\n")
