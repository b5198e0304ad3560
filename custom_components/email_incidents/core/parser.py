"""Raw e-mail bytes into an `InboundEmail`, bounded in time and memory for any input.

Python's `email` package takes quadratic time on long encoded-word subjects, seconds on 10,000
MIME parts and raises RecursionError on deep nesting (SPEC 8). So the header block is split and
capped here, header values are cut before RFC 2047 decoding, and the MIME tree is walked with an
explicit stack under part and depth limits. Only small, bounded pieces go through the standard
library (address lists, dates, parameters).
"""

from __future__ import annotations

import binascii
import codecs
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
import re

from .html_text import html_to_text
from .models import Attachment, Headers, InboundEmail
from .text import clean_line, clean_text

FORWARD_SEPARATOR = "---------- Forwarded message ----------"
MAX_DEFECTS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseLimits:
    """Bounds applied before any decoding work."""

    max_header_bytes: int = 256 * 1024
    max_header_value_chars: int = 16 * 1024
    max_headers: int = 1000
    max_parts: int = 200
    max_depth: int = 20
    max_body_chars: int = 256 * 1024


DEFAULT_PARSE_LIMITS = ParseLimits()

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"\?=[ \t\r\n]+=\?")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")


class _Defects:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, defect: str) -> None:
        if defect not in self.items and len(self.items) < MAX_DEFECTS:
            self.items.append(defect)


@dataclass(slots=True)
class _Part:
    headers: Headers
    body: bytes
    depth: int


@dataclass(slots=True)
class _Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def normalise_address(address: str) -> str:
    """Lower-cased bare address from 'Name <Addr@Dom>', '<addr>' or 'addr'; '' if none."""
    bare = parseaddr(address)[1] or address.strip().strip("<>")
    bare = bare.strip().lower()
    return bare if "@" in bare or bare else ""


def _decode_bytes(data: bytes, charset: str | None, defects: _Defects) -> str:
    """Text from bytes in a declared, wrong or missing charset; never raises."""
    codec: codecs.CodecInfo | None = None
    if charset:
        try:
            codec = codecs.lookup(charset.strip().strip('"').lower())
        except LookupError:
            defects.add(f"unknown charset {charset!r}")
    if codec is not None and codec.name != "ascii":
        try:
            return data.decode(codec.name)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None and codec.name != "ascii":
        return data.decode(codec.name, errors="replace")
    return data.decode("cp1252", errors="replace")


def _decode_word_payload(encoding: str, payload: str) -> bytes:
    if encoding in "bB":
        cleaned = payload.encode("ascii", "ignore")
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            return binascii.a2b_base64(cleaned)
        except binascii.Error:
            return b""
    return binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "ignore"), header=True)


def decode_header_value(raw: str, defects: _Defects) -> str:
    """RFC 2047 words decoded; adjacent words in one charset are joined as bytes first, so a
    character split across two words survives."""
    text = _BETWEEN_WORDS.sub("?==?", raw)
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_charset = ""
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(_decode_bytes(bytes(pending), pending_charset, defects))
        pending = bytearray()

    for match in _ENCODED_WORD.finditer(text):
        if match.start() > position:
            flush()
            pieces.append(text[position : match.start()])
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 language suffix
        if charset != pending_charset:
            flush()
            pending_charset = charset
        pending += _decode_word_payload(match.group(2), match.group(3))
        position = match.end()
    flush()
    pieces.append(text[position:])
    return "".join(pieces)


def _split(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def _header_pairs(block: bytes, limits: ParseLimits, defects: _Defects) -> list[tuple[str, str]]:
    """Unfolded (name, raw value) pairs within the limits; undecoded apart from bytes->str."""
    if len(block) > limits.max_header_bytes:
        defects.add(f"header block truncated at {limits.max_header_bytes} bytes")
        block = block[: limits.max_header_bytes]
    raw_limit = limits.max_header_value_chars * 4
    pairs: list[tuple[str, list[str]]] = []
    for line_bytes in _LINE_END.split(block):
        line = line_bytes.decode("utf-8", errors="surrogateescape")
        if line[:1] in (" ", "\t"):
            if pairs and sum(map(len, pairs[-1][1])) < raw_limit:
                pairs[-1][1].append(line)
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or any(ord(c) < 33 or ord(c) > 126 for c in name):
            if line.strip():
                defects.add("malformed header line ignored")
            continue
        if len(pairs) >= limits.max_headers:
            defects.add(f"headers beyond {limits.max_headers} ignored")
            break
        pairs.append((name, [value]))
    result = []
    for name, parts in pairs:
        value = "".join(parts)[:raw_limit]
        value = value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        result.append((name, value.strip()))
    return result


def _decoded_headers(
    pairs: list[tuple[str, str]], limits: ParseLimits, defects: _Defects
) -> Headers:
    return Headers(
        tuple(
            (name, clean_line(decode_header_value(value, defects), limits.max_header_value_chars))
            for name, value in pairs
        )
    )


def _content_type(headers: Headers) -> Message:
    """A throwaway Message carrying only the Content-* headers, for their parameters."""
    holder = Message()
    for name in ("Content-Type", "Content-Disposition", "Content-Transfer-Encoding"):
        value = headers.first(name)
        if value:
            holder[name] = value
    return holder


def _transfer_decode(body: bytes, encoding: str, defects: _Defects) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "base64":
        cleaned = _BASE64_JUNK.sub(b"", body)
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            return binascii.a2b_base64(cleaned)
        except binascii.Error:
            defects.add("invalid base64 body")
            return b""
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts between `--boundary` lines, without the preamble and epilogue."""
    delimiter = b"--" + boundary.encode("utf-8", errors="replace")
    parts: list[bytes] = []
    current: list[bytes] | None = None
    for line in body.splitlines(keepends=True):
        stripped = line.rstrip(b"\r\n").rstrip(b" \t")
        if stripped == delimiter or stripped == delimiter + b"--":
            if current is not None:
                parts.append(b"".join(current))
            if stripped.endswith(b"--") and stripped != delimiter:
                return parts
            current = []
        elif current is not None:
            current.append(line)
    if current is not None:
        parts.append(b"".join(current))
    return parts


_BODY_TYPES = frozenset({"text/plain", "text/html"})


def _split_part(raw: bytes) -> tuple[bytes, bytes]:
    """A MIME part starts with its headers, or with an empty line when it has none."""
    for line_end in (b"\r\n", b"\n"):
        if raw.startswith(line_end):
            return b"", raw[len(line_end) :]
    return _split(raw)


def _not_plain_text(part: _Part) -> bool:
    return _content_type(part.headers).get_content_type() != "text/plain"


def _walk(root: _Part, limits: ParseLimits, defects: _Defects, collected: _Collected) -> None:
    """Depth-first over the MIME tree with an explicit stack (no recursion)."""
    stack = [root]
    seen = 0
    while stack:
        part = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            defects.add(f"MIME parts beyond {limits.max_parts} ignored")
            return
        params = _content_type(part.headers)
        content_type = params.get_content_type()
        disposition = (params.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = params.get_filename() or ""
        if content_type.startswith("multipart/"):
            boundary = params.get_boundary()
            if part.depth >= limits.max_depth:
                defects.add(f"MIME nesting beyond {limits.max_depth} levels ignored")
                continue
            if not boundary:
                defects.add("multipart without boundary")
                continue
            children = []
            for raw_child in _split_multipart(part.body, boundary)[: limits.max_parts + 1]:
                block, child_body = _split_part(raw_child)
                child_headers = _decoded_headers(
                    _header_pairs(block, limits, defects), limits, defects
                )
                children.append(_Part(child_headers, child_body, part.depth + 1))
            if content_type == "multipart/alternative":
                children.sort(key=_not_plain_text)
            stack.extend(reversed(children))
            continue
        data = _transfer_decode(part.body, params.get("Content-Transfer-Encoding", ""), defects)
        if content_type == "message/rfc822" and part.depth < limits.max_depth:
            collected.forwarded.append(_forwarded_text(data, part.depth + 1, limits, defects))
            continue
        if content_type not in _BODY_TYPES or disposition == "attachment":
            collected.attachments.append(
                Attachment(
                    filename=clean_line(filename, 255), content_type=content_type, size=len(data)
                )
            )
            continue
        text = _decode_bytes(data, params.get_content_charset(), defects)
        (collected.plain if content_type == "text/plain" else collected.html).append(text)


def _forwarded_text(raw: bytes, depth: int, limits: ParseLimits, defects: _Defects) -> str:
    block, body = _split(raw)
    headers = _decoded_headers(_header_pairs(block, limits, defects), limits, defects)
    inner = _Collected()
    _walk(_Part(headers, body, depth), limits, defects, inner)
    lines = [FORWARD_SEPARATOR]
    lines.extend(
        f"{name}: {headers.first(name)}"
        for name in ("From", "Date", "Subject", "To")
        if headers.first(name)
    )
    return "\n".join(lines) + "\n\n" + _body_text(inner)


def _body_text(collected: _Collected) -> str:
    if collected.plain:
        main = "\n\n".join(collected.plain)
    else:
        main = "\n\n".join(html_to_text(html) for html in collected.html)
    return "\n\n".join(text for text in (main.strip("\n"), *collected.forwarded) if text)


def _addresses(headers: Headers, name: str, limits: ParseLimits) -> tuple[str, ...]:
    found = []
    for value in headers.get(name, ()):
        for _display, address in getaddresses([value[: limits.max_header_value_chars]]):
            normalised = normalise_address(address)
            if normalised and normalised not in found:
                found.append(normalised)
    return tuple(found)


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse(
    raw: bytes,
    envelope_sender: str,
    envelope_recipients: Sequence[str],
    limits: ParseLimits,
    defects: _Defects,
) -> InboundEmail:
    block, body = _split(raw)
    headers = _decoded_headers(_header_pairs(block, limits, defects), limits, defects)
    collected = _Collected()
    _walk(_Part(headers, body, 0), limits, defects, collected)
    from_name, from_address = parseaddr(headers.first("From"))
    references = tuple(re.findall(r"<[^<>\s]+>", headers.first("References")))
    return InboundEmail(
        subject=headers.first("Subject"),
        from_address=normalise_address(from_address),
        from_name=clean_line(from_name),
        to=_addresses(headers, "To", limits),
        cc=_addresses(headers, "Cc", limits),
        bcc=_addresses(headers, "Bcc", limits),
        delivered_to=_addresses(headers, "Delivered-To", limits),
        envelope_sender=normalise_address(clean_line(envelope_sender)),
        envelope_recipients=tuple(
            address
            for address in (normalise_address(clean_line(r)) for r in envelope_recipients)
            if address
        ),
        message_id=headers.first("Message-ID"),
        in_reply_to=headers.first("In-Reply-To"),
        references=references,
        date=_date(headers.first("Date")),
        headers=headers,
        body=clean_text(_body_text(collected), limits.max_body_chars),
        attachments=tuple(collected.attachments),
        size=len(raw),
        defects=tuple(defects.items),
    )


def parse_email(
    raw: bytes,
    *,
    envelope_sender: str = "",
    envelope_recipients: Sequence[str] = (),
    limits: ParseLimits = DEFAULT_PARSE_LIMITS,
) -> InboundEmail:
    """Never raises for any input bytes; CPU-bound, so callers run it in an executor."""
    defects = _Defects()
    try:
        return _parse(raw, envelope_sender, envelope_recipients, limits, defects)
    except Exception as err:  # noqa: BLE001 - an e-mail must never be lost to a parser bug
        defects.add(f"parser error {type(err).__name__}: {clean_line(str(err), 200)}")
        return InboundEmail(
            subject="(unreadable e-mail)",
            envelope_sender=normalise_address(envelope_sender),
            envelope_recipients=tuple(normalise_address(r) for r in envelope_recipients),
            body=clean_text(raw[: limits.max_body_chars].decode("utf-8", errors="replace")),
            size=len(raw),
            defects=tuple(defects.items),
        )
