"""The parser: decoding, structure, limits and sanitising, with exact expected values."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
import re
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.email_incidents.core import parser
from custom_components.email_incidents.core.models import Attachment, InboundEmail
from custom_components.email_incidents.core.parser import (
    DEFAULT_PARSE_LIMITS,
    FORWARD_SEPARATOR,
    MAX_DEFECTS,
    ParseLimits,
    normalise_address,
    parse_email,
)
from custom_components.email_incidents.core.text import TRUNCATION_MARK, clean_line, clean_text


def _mail(headers: str, body: bytes = b"body") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def _multipart(boundary: str, *parts: bytes, close: bool = True) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary.encode() + b"--\r\n" if close else b"")


# --- headers -------------------------------------------------------------------------------------


def test_plain_message_fields() -> None:
    email = parse_email(
        _mail(
            "From: Nagios Monitor <Nagios@Example.COM>\n"
            "To: nas@homeassistant.local, Other <b@example.org>\n"
            "Cc: c@example.org\nBcc: d@example.org\nDelivered-To: fwd@homeassistant.local\n"
            "Subject: ** PROBLEM Service Alert: web/HTTP is CRITICAL **\n"
            "Message-ID: <123@nagios>\nIn-Reply-To: <100@zabbix>\n"
            "References: <99@zabbix>\n <100@zabbix>\n"
            "Date: Tue, 24 Nov 2026 10:02:03 +0100\nX-Custom: yes",
            b"Host: web\r\nState: CRITICAL\r\n",
        ),
        envelope_sender="<Bounce@Example.com>",
        envelope_recipients=["NAS@HomeAssistant.local", "<nas@homeassistant.local>", "", "<>"],
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
    assert list(email.headers)[:3] == ["From", "To", "Cc"]
    assert email.body == "Host: web\nState: CRITICAL"
    assert email.defects == ()


def test_size_is_the_raw_length() -> None:
    raw = _mail("Subject: x", b"0123456789")
    assert parse_email(raw).size == len(raw)


def test_repeated_headers_keep_every_value_in_order() -> None:
    email = parse_email(_mail("Received: from a\nReceived: from b\nTo: A@x\nTo: b@x, a@X"))
    assert email.headers["received"] == ("from a", "from b")
    assert email.to == ("a@x", "b@x")


def test_encoded_word_split_inside_a_character_and_folded() -> None:
    # "🔴" is F0 9F 94 B4: the first word ends after two of its four bytes.
    email = parse_email(_mail("Subject: =?UTF-8?B?W/Cf?=\n =?UTF-8?B?lLQgRG93bl0gTXkgU2l0ZQ==?="))
    assert email.subject == "[🔴 Down] My Site"


def test_q_encoding_with_underscores_and_plain_text_around() -> None:
    email = parse_email(_mail("Subject: Re: =?iso-8859-1?q?Sauvegarde_=E9chou=E9e?= sur NAS"))
    assert email.subject == "Re: Sauvegarde échouée sur NAS"


def test_folded_subject_and_words_in_different_charsets() -> None:
    folded = parse_email(_mail("Subject: Disk almost\n\tfull on\n   nas01"))
    assert folded.subject == "Disk almost full on nas01"
    mixed = parse_email(
        _mail("Subject: =?iso-8859-1?q?=E9?=  =?utf-8?q?=C3=A9?= x =?UTF-8?Q?y?=\n =?utf-8?q?z?=")
    )
    assert mixed.subject == "éé x yz"


def test_header_injection_is_flattened() -> None:
    email = parse_email(_mail("Subject: =?utf-8?q?Alert=0D=0ABcc:_victim@example.com?=\u2028x"))
    assert email.subject == "Alert Bcc: victim@example.com x"


def test_raw_8bit_headers_in_utf8_or_latin1() -> None:
    assert parse_email("Subject: Störung ✓\r\n\r\nx".encode()).subject == "Störung ✓"
    assert parse_email(b"Subject: caf\xe9 cr\xe8me\r\n\r\nx").subject == "café crème"


def test_unknown_charsets_fall_back_with_a_defect() -> None:
    email = parse_email(
        "Subject: =?x-foo?q?abc?= =?base64?q?d=C3=A9?=\r\n"
        "Content-Type: text/plain; charset=x-unknown\r\n\r\nDäta".encode()
    )
    assert email.subject == "abcdé"
    assert email.body == "Däta"
    assert email.defects == (
        "unknown charset 'x-foo', decoded as utf-8",
        "unknown charset 'base64', decoded as utf-8",
        "unknown charset 'x-unknown', decoded as utf-8",
    )
    latin = parse_email(_mail('Content-Type: text/plain; charset="x-\0"', b"caf\xe9"))
    assert latin.body == "café"
    assert latin.defects == ("unknown charset 'x-', decoded as cp1252",)


def test_broken_base64_in_encoded_words() -> None:
    # Missing padding, and a dangling character that carries no whole byte.
    email = parse_email(_mail("Subject: =?utf-8?b?SGVsbG8?= =?utf-8?b?IQ=?= =?utf-8?b?IQX?="))
    assert email.subject == "Hello!!"


def test_from_with_an_encoded_name_containing_a_comma() -> None:
    email = parse_email(
        _mail(
            "From: =?utf-8?q?M=C3=BCller=2C_Hans?= <Hans@X.example>\n"
            'To: "=?utf-8?q?A=2C_B?=" <a@x.example>, c@x.example'
        )
    )
    assert (email.from_name, email.from_address) == ("Müller, Hans", "hans@x.example")
    assert email.to == ("a@x.example", "c@x.example")


def test_cron_style_from_and_garbage_addresses() -> None:
    email = parse_email(_mail("From: root@server01 (Cron Daemon)\nTo: ,,, <>, @@"))
    assert (email.from_name, email.from_address) == ("Cron Daemon", "root@server01")
    assert email.to == ()


def test_references_without_angle_brackets_and_ids_kept_as_written() -> None:
    email = parse_email(
        _mail("Message-ID:  <A.1@Zabbix>  \nIn-Reply-To: <1234.5678@zabbix>\nReferences: a@b c@d")
    )
    assert email.message_id == "<A.1@Zabbix>"
    assert email.in_reply_to == "<1234.5678@zabbix>"
    assert email.references == ("a@b", "c@d")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 24 Nov 2026 10:02:03 +0100", datetime(2026, 11, 24, 9, 2, 3, tzinfo=UTC)),
        ("24 Nov 2026 10:00:00", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),  # naive: UTC
        ("not a date", None),
        ("Tue, 24 Nov 99999999999 10:00:00 +0000", None),
        ("", None),
    ],
)
def test_dates(value: str, expected: datetime | None) -> None:
    assert parse_email(_mail(f"Date: {value}")).date == expected


def test_malformed_header_lines() -> None:
    email = parse_email(
        b" leading continuation\r\nFrom nagios@host Mon Nov 23 12:00:00 2026\r\n"
        b"Subject : ok\r\nno colon here\r\n\r\nx"
    )
    assert email.subject == "ok"
    assert email.defects == ("malformed header line ignored",)
    assert parse_email(b"just a body without headers").subject == ""
    headerless = parse_email(b"\r\nbody only")
    assert (headerless.subject, headerless.body) == ("", "body only")


def test_normalise_address() -> None:
    assert normalise_address("Name <A@B.C>") == "a@b.c"
    assert normalise_address("<x@y.z>") == "x@y.z"
    assert normalise_address(" Root ") == "root"
    assert normalise_address("") == ""
    assert normalise_address("a@b, c@d") == ""
    assert normalise_address("Name a@b") == ""
    assert normalise_address("A\r\n@B") == "a@b"


# --- bodies --------------------------------------------------------------------------------------


def test_wrong_or_missing_charset_declarations() -> None:
    body = "Température élevée".encode()
    assert parse_email(_mail("Content-Type: text/plain; encoding=UTF-8", body)).body == (
        "Température élevée"
    )
    assert parse_email(_mail("Content-Type: text/plain; charset=us-ascii", body)).body == (
        "Température élevée"
    )
    latin = "Température".encode("latin-1")
    assert parse_email(_mail("Content-Type: text/plain", latin)).body == "Température"
    # Declared UTF-8 that is not: cp1252, whose 0x80 is the euro sign.
    assert parse_email(_mail("Content-Type: text/plain; charset=utf-8", b"5 \x80")).body == "5 €"
    # Other declarations are trusted; their undecodable bytes are replaced.
    assert parse_email(_mail("Content-Type: text/plain; charset=shift_jis", b"a\xff")).body == (
        "a\ufffd"
    )


def test_iso_8859_1_quoted_printable_body() -> None:
    email = parse_email(
        _mail(
            "Content-Type: text/plain; charset=ISO-8859-1\n"
            "Content-Transfer-Encoding: quoted-printable",
            b"Sauvegarde =E9chou=E9e sur le NAS, tr=\r\nop long.",
        )
    )
    assert email.body == "Sauvegarde échouée sur le NAS, trop long."


def test_shift_jis_base64_and_gb2312_8bit_bodies() -> None:
    payload = base64.encodebytes("ディスク障害".encode("shift_jis"))
    email = parse_email(
        _mail(
            "Content-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: base64",
            payload,
        )
    )
    assert email.body == "ディスク障害"
    chinese = parse_email(
        _mail(
            'Content-Type: text/plain; charset="gb2312"\nContent-Transfer-Encoding: 8bit',
            "硬盘故障".encode("gb2312"),
        )
    )
    assert chinese.body == "硬盘故障"


def test_transfer_encodings_that_need_no_decoding() -> None:
    for encoding in ("7bit", "8bit", "binary", "x-uuencode"):
        email = parse_email(_mail(f"Content-Transfer-Encoding: {encoding}", b"as is =41"))
        assert email.body == "as is =41"


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
    alternative = b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n" + _multipart(
        "inner",
        b"Content-Type: text/html\r\n\r\n<p>html version</p>",
        b"Content-Type: text/plain\r\n\r\nplain version",
    )
    body = (
        b"preamble\r\n"
        + _multipart(
            "outer",
            alternative,
            b"Content-Type: text/plain; name=log.txt\r\n"
            b"Content-Disposition: attachment; filename=backup.log\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=",
            b"Content-Type: image/png; name=graph.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"iVBORw0KGgo=",
            b"Content-Type: image/gif\r\n\r\nGIF89a",  # inline without a name: not an attachment
            b"Content-Type: text/csv; name*=utf-8''caf%C3%A9.csv\r\n\r\na,b",
            b"Content-Type: application/pdf\r\n"
            b'Content-Disposition: attachment; filename="=?utf-8?q?R=C3=A9sum=C3=A9.pdf?="\r\n'
            b"\r\n%PDF",
            b"Content-Type: text/plain\r\n\r\nsecond plain part, not the body",
        )
        + b"epilogue\r\n"
    )
    email = parse_email(_mail("Content-Type: multipart/mixed; boundary=outer", body))
    assert email.body == "plain version"
    assert email.attachments == (
        Attachment(filename="backup.log", content_type="text/plain", size=11),
        Attachment(filename="graph.png", content_type="image/png", size=8),
        Attachment(filename="café.csv", content_type="text/csv", size=3),
        Attachment(filename="Résumé.pdf", content_type="application/pdf", size=4),
    )
    assert email.defects == ()


def test_html_used_when_the_plain_part_is_empty() -> None:
    body = _multipart(
        "b",
        b"Content-Type: text/plain\r\n\r\n  \r\n",
        b"Content-Type: text/html\r\n\r\n<p>from <b>html</b></p>",
        b"Content-Type: text/html\r\n\r\n<p>second html</p>",
    )
    email = parse_email(_mail("Content-Type: multipart/alternative; boundary=b", body))
    assert email.body == "from html"


def test_boundary_with_transport_padding_and_lf_line_ends() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="a b"\n\n'
        b"--a b  \nContent-Type: text/plain\n\nfirst\n\n--a b--\n"
    )
    assert parse_email(raw).body == "first"


def test_missing_closing_boundary_and_missing_boundary() -> None:
    email = parse_email(
        _mail(
            "Content-Type: multipart/mixed; boundary=b",
            _multipart("b", b"Content-Type: text/plain\r\n\r\ntruncated", close=False),
        )
    )
    assert email.body == "truncated"
    assert email.defects == ("closing MIME boundary missing",)
    no_boundary = parse_email(_mail("Content-Type: multipart/mixed", b"x"))
    assert (no_boundary.body, no_boundary.defects) == ("", ("multipart without boundary",))
    no_delimiter = parse_email(_mail("Content-Type: multipart/mixed; boundary=b", b"text"))
    assert (no_delimiter.body, no_delimiter.defects) == ("", ())


def test_attached_forwarded_message_is_readable() -> None:
    inner = (
        b"From: =?utf-8?q?UPS_=E2=9A=A1?= <ups@example.com>\r\nSubject: UPS on battery\r\n"
        b"Date: Mon, 23 Nov 2026 03:00:00 +0000\r\n\r\nPower failure at 03:00\r\n"
    )
    body = _multipart(
        "b",
        b"Content-Type: text/plain\r\n\r\nSee below.\r\n",
        b"Content-Type: message/rfc822\r\n\r\n" + inner,
    )
    email = parse_email(_mail("Subject: Fwd: UPS\nContent-Type: multipart/mixed; boundary=b", body))
    assert email.body == (
        f"See below.\n\n{FORWARD_SEPARATOR}\nFrom: UPS ⚡ <ups@example.com>\n"
        "Date: Mon, 23 Nov 2026 03:00:00 +0000\nSubject: UPS on battery\n\n"
        "Power failure at 03:00"
    )
    assert email.attachments == ()


def test_forwarded_messages_nest_within_the_depth_limit() -> None:
    message = b"Subject: level 0\r\n\r\ninnermost"
    for level in range(1, 4):
        message = (
            f"Subject: level {level}\r\nContent-Type: message/rfc822\r\n\r\n".encode() + message
        )
    email = parse_email(message, limits=ParseLimits(max_depth=2))
    assert email.body == (
        f"{FORWARD_SEPARATOR}\nSubject: level 2\n\n{FORWARD_SEPARATOR}\nSubject: level 1"
    )
    assert email.defects == ("MIME nesting beyond 2 levels ignored",)
    assert parse_email(message).body.endswith("Subject: level 0\n\ninnermost")


def test_bare_lf_nul_bytes_and_invalid_utf8() -> None:
    email = parse_email(b"Subject: a\x00b\xff\nFrom: x@example.com\n\nline\x00one\nline two\xfe\n")
    assert email.subject == "a bÿ"
    assert email.from_address == "x@example.com"
    assert email.body == "lineone\nline twoþ"


def test_invalid_base64_body() -> None:
    assert parse_email(_mail("Content-Transfer-Encoding: base64", b"!!!!")).body == ""
    assert parse_email(_mail("Content-Transfer-Encoding: base64", b"aGk\r\n=\r\nxx")).body == "hi"


# --- limits --------------------------------------------------------------------------------------


def test_one_megabyte_encoded_subject_is_cut_at_the_cap() -> None:
    subject = b"Subject: " + b" ".join([b"=?utf-8?q?abcd?="] * 62_000)  # about 1 MB
    email = parse_email(subject + b"\r\n\r\nbody")
    assert len(email.subject) == DEFAULT_PARSE_LIMITS.max_header_value_chars
    assert email.subject == "abcd" * (DEFAULT_PARSE_LIMITS.max_header_value_chars // 4)
    assert email.defects == ("header block truncated at 262144 bytes",)
    assert email.body == "body"


def test_many_folded_lines_stay_linear() -> None:
    email = parse_email(b"Subject: x\r\n" + b" a\r\n" * 85_000 + b"\r\nbody")
    # Cut at the cap, which falls after a space that is then stripped.
    assert email.subject == "x" + " a" * (DEFAULT_PARSE_LIMITS.max_header_value_chars // 2 - 1)


def test_ten_thousand_mime_parts() -> None:
    parts = [b"Content-Type: text/plain\r\n\r\npart %d" % i for i in range(10_000)]
    email = parse_email(_mail("Content-Type: multipart/mixed; boundary=b", _multipart("b", *parts)))
    assert email.body == "part 0"
    assert email.defects == ("MIME parts beyond 200 ignored",)


def test_parts_are_counted_across_forwarded_messages() -> None:
    inner = b"Content-Type: multipart/mixed; boundary=i\r\n\r\n" + _multipart(
        "i", *[b"Content-Type: image/png; name=%d.png\r\n\r\nx" % i for i in range(10)]
    )
    forwarded = [b"Content-Type: message/rfc822\r\n\r\n" + inner for _ in range(10)]
    email = parse_email(
        _mail("Content-Type: multipart/mixed; boundary=o", _multipart("o", *forwarded)),
        limits=ParseLimits(max_parts=30),
    )
    assert len(email.attachments) == 30 - 1 - 10  # the root and the ten forwarded parts
    assert email.defects == ("MIME parts beyond 30 ignored",)


def test_nesting_a_thousand_deep() -> None:
    nested = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i)
        for i in range(1, 1000)
    )
    email = parse_email(nested)
    assert email.body == ""
    assert "MIME nesting beyond 20 levels ignored" in email.defects


def test_ten_thousand_headers() -> None:
    email = parse_email(b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\nok")
    assert email.defects == ("headers beyond 1000 ignored",)
    assert len(email.headers) == 1000
    assert email.headers.first("X-H999") == "v"
    assert email.body == "ok"


def test_long_parameter_lists_stay_cheap() -> None:
    content_type = b'Content-Type: text/plain; a="' + b";" * 200_000 + b'"'
    email = parse_email(content_type + b"\r\n\r\nstill read")
    assert email.body == "still read"


def test_header_block_cap() -> None:
    limits = ParseLimits(max_header_bytes=100)
    email = parse_email(b"Subject: " + b"x" * 200 + b"\r\n\r\nbody", limits=limits)
    assert email.defects == ("header block truncated at 100 bytes",)
    assert email.subject == "x" * 91


def test_body_caps() -> None:
    limits = ParseLimits(max_body_chars=50)
    cut = parse_email(_mail("Subject: x", b"y" * 80), limits=limits)
    assert cut.body == "y" * (50 - len(TRUNCATION_MARK)) + TRUNCATION_MARK
    assert cut.defects == ()
    # Far beyond the cap, the text is cut before cleaning; the cut stays marked even when
    # cleaning (here: dropping NULs) leaves less than the cap.
    huge = parse_email(_mail("Subject: x", b"\x00" * 5000 + b"y" * 5000), limits=limits)
    assert huge.body == TRUNCATION_MARK.lstrip("\n")
    html = parse_email(
        _mail("Content-Type: text/html", b"<p>" + b"z" * 200 + b"</p>"), limits=limits
    )
    assert html.body == "z" * (50 - len(TRUNCATION_MARK)) + TRUNCATION_MARK
    assert html.defects == ("HTML body cut at 50 characters before conversion",)


def test_defects_are_capped() -> None:
    subject = " ".join(f"=?x-{i}?q?a?= b" for i in range(MAX_DEFECTS + 5))
    email = parse_email(_mail(f"Subject: {subject}"))
    assert len(email.defects) == MAX_DEFECTS
    assert email.defects[0] == "unknown charset 'x-0', decoded as utf-8"


def test_a_parser_bug_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("boom\r\nline")

    monkeypatch.setattr(parser, "_read_entity", broken)
    raw = b"Subject: x\r\n\r\nbody\x00"
    email = parse_email(raw, envelope_sender="A@B", envelope_recipients=["C@D"])
    assert email == InboundEmail(
        envelope_sender="a@b",
        envelope_recipients=("c@d",),
        body="Subject: x\n\nbody",
        size=len(raw),
        defects=("parser error RuntimeError: boom line",),
    )


# --- sanitising helpers --------------------------------------------------------------------------


def test_clean_line() -> None:
    assert clean_line(" a\tb\r\nc\x00d\u2028e\x85f\x7fg\xa0h ") == "a b c d e f g h"
    assert clean_line("abc def", 4) == "abc"
    assert clean_line("abcdef", 3) == "abc"


def test_clean_text() -> None:
    assert clean_text("\r\na  \r\nb\r\r\n\n\n\n\nc\x07\t \n") == "a\nb\n\n\nc"
    assert clean_text("keep\ttabs\nand\n\n\ntwo blank lines") == (
        "keep\ttabs\nand\n\n\ntwo blank lines"
    )
    assert clean_text("x" * 30, 20) == "x" * (20 - len(TRUNCATION_MARK)) + TRUNCATION_MARK
    assert clean_text("x" * 30, 5) == "xxxxx"
    assert clean_text("short", 20) == "short"


def _clean_text_by_patterns(value: str) -> str:
    """`clean_text` as its docstring defines it, one pattern after the other."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", "", text)
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)
    return re.sub(r"\n{4,}", "\n\n\n", text).strip("\n")


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [
                "a",
                " ",
                "\t",
                "\n",
                "\r",
                "\x00",
                "\x07",
                "\x0b",
                "\x1f",
                "\x7f",
                "\x85",
                "\u2028",
                "é",
            ]
        ),
        max_size=60,
    )
)
def test_clean_text_matches_its_definition(value: str) -> None:
    """The fast paths (ASCII text, patterns skipped where they cannot match) change nothing."""
    assert clean_text(value) == _clean_text_by_patterns(value)
    assert clean_text(value.encode("ascii", "ignore").decode()) == _clean_text_by_patterns(
        value.encode("ascii", "ignore").decode()
    )


# --- properties ----------------------------------------------------------------------------------


def _assert_single_lines(email: InboundEmail) -> None:
    values = [
        email.subject,
        email.from_address,
        email.from_name,
        email.envelope_sender,
        email.message_id,
        email.in_reply_to,
        *email.to,
        *email.cc,
        *email.bcc,
        *email.delivered_to,
        *email.envelope_recipients,
        *email.references,
        *email.defects,
        *email.headers,
        *(value for name in email.headers for value in email.headers[name]),
        *(attachment.filename for attachment in email.attachments),
        *(attachment.content_type for attachment in email.attachments),
    ]
    for value in values:
        assert "\r" not in value
        assert "\n" not in value
    assert "\r" not in email.body


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_parse_without_exception(raw: bytes) -> None:
    email = parse_email(raw, envelope_sender="x\r\n@y", envelope_recipients=["\n"])
    _assert_single_lines(email)
    assert email.size == len(raw)
    assert not any(defect.startswith("parser error") for defect in email.defects)


_HEADER_TEXT = st.lists(
    st.sampled_from([*"aé🔴 \t\r\n=?_:;<>@\"',\x00\x85\u2028", "=?utf-8?q?=0D=0A?="]),
    max_size=40,
).map("".join)
_PART = st.builds(
    lambda content_type, body, encoding, disposition: (
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n"
        f"Content-Disposition: {disposition}\r\n\r\n".encode()
        + body
    ),
    st.sampled_from(
        [
            "text/plain; charset=utf-8",
            "text/html",
            "application/pdf; name=a.pdf",
            "text/plain; charset=bogus",
            "message/rfc822",
            "multipart/mixed",
        ]
    ),
    st.binary(max_size=200),
    st.sampled_from(["7bit", "base64", "quoted-printable", "8bit"]),
    st.one_of(st.just("inline"), _HEADER_TEXT.map(lambda name: f"attachment; filename={name}")),
)


def _tree(depth: int) -> st.SearchStrategy[bytes]:
    if depth == 0:
        return _PART
    return st.lists(st.one_of(_PART, _tree(depth - 1)), min_size=1, max_size=4).map(
        lambda parts: (
            f"Content-Type: multipart/mixed; boundary=d{depth}\r\n\r\n".encode()
            + _multipart(f"d{depth}", *parts)
        )
    )


@settings(max_examples=150, deadline=None)
@given(_tree(3), _HEADER_TEXT)
def test_random_mime_trees_parse(raw: bytes, subject: str) -> None:
    head = f"Subject: {subject}\r\nFrom: {subject} <a@b>\r\n".encode()
    email = parse_email(head + raw)
    _assert_single_lines(email)
    assert email.size == len(head) + len(raw)
    assert not any(defect.startswith("parser error") for defect in email.defects)
