"""Raw e-mail bytes into an `InboundEmail`, bounded in time and memory for any input.

Python's `email` package takes quadratic time on long encoded-word subjects, seconds on 10,000
MIME parts and raises RecursionError on deep nesting (SPEC 8). So the header block is split off
and capped here, header values are cut before RFC 2047 decoding (done here, linearly), and the
MIME tree is walked with an explicit stack under part and depth limits. Only small, bounded
pieces go through the standard library: address lists, dates and Content-* parameters.

Message-ID and In-Reply-To are kept as written, angle brackets included ("<123@zabbix>"), only
sanitised: rules and incident keys match them the way they appear in the mail.
"""

from __future__ import annotations

import binascii
import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from functools import lru_cache
from itertools import islice
import re
import string

from .html_text import html_to_text
from .models import Attachment, Headers, InboundEmail
from .text import TRUNCATION_MARK, clean_line, clean_text

FORWARD_SEPARATOR = "---------- Forwarded message ----------"
FORWARD_HEADERS = ("From", "Date", "Subject", "To")
MAX_DEFECTS = 20
FALLBACK_CHARSET = "cp1252"  # latin-1 with the printable characters Windows puts in 0x80-0x9f

# An encoded word spends up to about 16 characters on one decoded character ("=?utf-8?q?a?= "),
# so this much raw text still fills a value up to its cap after decoding.
_RAW_CHARS_PER_DECODED_CHAR = 16
# Content-* parameters are parsed by the email package, whose parameter splitting is quadratic
# in the number of ';' (once per parameter looked up). Real values are a few hundred characters
# long with a handful of parameters; RFC 2231 continuations of a long file name add a few more.
_MAX_PARAMETER_CHARS = 1024
_MAX_PARAMETERS = 32
_MAX_CHARSET_CHARS = 64

_LINE_END = re.compile(rb"\r?\n")
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BASE64_ALPHABET = (string.ascii_letters + string.digits + "+/").encode()
_NOT_BASE64 = bytes(sorted(set(range(256)).difference(_BASE64_ALPHABET)))
_WHITESPACE = re.compile(r"\s")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_BODY_TYPES = frozenset({"text/plain", "text/html"})


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


class _Defects:
    """What was wrong with an e-mail, each once, at most MAX_DEFECTS of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, defect: str) -> None:
        if defect not in self.items and len(self.items) < MAX_DEFECTS:
            self.items.append(defect)


@dataclass(frozen=True, slots=True)
class _Entity:
    """A message or MIME part: its header fields (unfolded, not RFC 2047 decoded) in order and
    by name, and its body."""

    fields: tuple[tuple[str, str], ...]
    raw_headers: Headers
    body: bytes
    depth: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _ContentInfo:
    content_type: str
    charset: str | None
    boundary: str | None
    filename: str
    is_attachment: bool
    transfer_encoding: str


@dataclass(slots=True)
class _Texts:
    """What one message contributes to the body: its own text and its forwarded messages."""

    plain: str = ""
    html: str = ""
    forwarded: list[str] = field(default_factory=list)


# The same few addresses arrive with every e-mail and the stdlib's address parser is slow:
# results for values up to this length are kept (at most this many).
_CACHED_ADDRESS_CHARS = 512
_CACHED_ADDRESSES = 2048


def normalise_address(address: str) -> str:
    """Lower-cased bare address from 'Name <Addr@Dom>', '<addr>' or 'addr'; '' if none."""
    if len(address) <= _CACHED_ADDRESS_CHARS:
        return _normalise_address_cached(address)
    return _normalise_address(address)


def _normalise_address(address: str) -> str:
    return _bare_address(parseaddr(clean_line(address))[1])


_normalise_address_cached = lru_cache(maxsize=_CACHED_ADDRESSES)(_normalise_address)
_parseaddr_cached = lru_cache(maxsize=_CACHED_ADDRESSES)(parseaddr)


def _sender(value: str) -> tuple[str, str]:
    """The display name and address of a From header (its result is a tuple, never changed)."""
    return _parseaddr_cached(value) if len(value) <= _CACHED_ADDRESS_CHARS else parseaddr(value)


def _bare_address(address: str) -> str:
    bare = address.lower()
    return "" if _WHITESPACE.search(bare) else bare


def _codec(charset: str) -> str | None:
    """Python's codec for a charset name; None when Python knows none by that name."""
    try:
        return codecs.lookup(charset.strip().strip("\"'")[:_MAX_CHARSET_CHARS]).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return None


def _decode_bytes(data: bytes, charset: str | None, defects: _Defects) -> str:
    """Text in the declared charset; without one (or with ASCII, often declared for 8-bit
    text, or UTF-8 that does not decode) UTF-8 when valid, else cp1252. Never raises."""
    codec = _codec(charset) if charset else None
    if codec is not None and codec != "ascii":
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            if codec != "utf-8":
                return data.decode(codec, errors="replace")
        except LookupError:  # a bytes-to-bytes codec such as "base64" or "zlib"
            codec = None
    try:
        text, used = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, used = data.decode(FALLBACK_CHARSET, errors="replace"), FALLBACK_CHARSET
    if charset and codec is None:
        defects.add(
            f"unknown charset {clean_line(charset, _MAX_CHARSET_CHARS)!r}, decoded as {used}"
        )
    return text


def _decode_base64(data: bytes) -> bytes:
    """Lenient base64: noise dropped, missing padding tolerated, a dangling character ignored."""
    cleaned = data.split(b"=", 1)[0].translate(None, delete=_NOT_BASE64)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # one lone character carries no whole byte
    return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))


def _decode_word(encoding: str, payload: str) -> bytes:
    if encoding in "bB":
        return _decode_base64(payload.encode("ascii", "ignore"))
    return binascii.a2b_qp(payload.encode(), header=True)


def _decode_encoded_words(value: str, defects: _Defects) -> str:
    """RFC 2047: words decoded, whitespace between adjacent words dropped, and adjacent words in
    one charset joined as bytes first, so that a character split across two words survives.
    One regular-expression pass: linear in the length of the value."""
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending = bytearray()
    pending_charset = ""
    position = 0  # end of the previous encoded word; 0 before the first one
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 language suffix
        adjacent = position > 0 and not gap.strip()
        if not adjacent or charset != pending_charset:
            pieces.append(_decode_bytes(bytes(pending), pending_charset, defects))
            pending.clear()
            pending_charset = charset
        if not adjacent:
            pieces.append(gap)
        pending += _decode_word(match.group(2), match.group(3))
        position = match.end()
    pieces.append(_decode_bytes(bytes(pending), pending_charset, defects))
    pieces.append(value[position:])
    return "".join(pieces)


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body, split at the first empty line (CRLF or bare LF)."""
    if raw.startswith((b"\r\n", b"\n")):  # a MIME part without headers
        return b"", raw[2 if raw.startswith(b"\r\n") else 1 :]
    # bytes.find, not a regex: a search through megabytes of header holds the GIL, and so
    # Home Assistant's loop, for as long as it runs.
    ends = [
        (found, found + len(separator))
        for separator in (b"\n\n", b"\n\r\n")
        if (found := raw.find(separator)) >= 0
    ]
    if not ends:
        return raw, b""
    start, end = min(ends)
    return raw[: start - 1 if raw[start - 1 : start] == b"\r" else start], raw[end:]


def _read_entity(raw: bytes, depth: int, limits: ParseLimits, defects: _Defects) -> _Entity:
    block, body = _split_head(raw)
    if len(block) > limits.max_header_bytes:
        defects.add(f"header block truncated at {limits.max_header_bytes} bytes")
        block = block[: limits.max_header_bytes]
    raw_value_limit = limits.max_header_value_chars * _RAW_CHARS_PER_DECODED_CHAR
    fields: list[tuple[str, list[bytes]]] = []
    for line in _LINE_END.split(block):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1].append(line)  # unfolding keeps the whitespace, drops the line end
            continue
        name, colon, value = line.partition(b":")
        name = name.strip()
        if not colon or not _FIELD_NAME.fullmatch(name):
            if line.strip():
                defects.add("malformed header line ignored")
            continue
        if len(fields) >= limits.max_headers:
            defects.add(f"headers beyond {limits.max_headers} ignored")
            break
        fields.append((name.decode("ascii"), [value]))
    decoded = tuple(
        (name, _decode_bytes(b"".join(lines)[:raw_value_limit], None, defects).strip())
        for name, lines in fields
    )
    return _Entity(decoded, Headers(decoded), body, depth)


def _header_text(raw_value: str, limits: ParseLimits, defects: _Defects) -> str:
    return clean_line(_decode_encoded_words(raw_value, defects), limits.max_header_value_chars)


def _bounded_parameters(value: str) -> str:
    value = value[:_MAX_PARAMETER_CHARS]
    position = -1
    for _ in range(_MAX_PARAMETERS):
        position = value.find(";", position + 1)
        if position < 0:
            return value
    return value[:position]


def _content_info(entity: _Entity, defects: _Defects) -> _ContentInfo:
    holder = Message()
    for name in ("Content-Type", "Content-Disposition"):
        value = entity.raw_headers.first(name)
        if value:
            holder[name] = _bounded_parameters(value)
    disposition = holder.get("Content-Disposition", "").split(";", 1)[0].strip().lower()
    content_type = holder.get_content_type()
    # Each parameter lookup parses the header anew: asked for only where it can be there
    # (a file name is a `filename` or `name` parameter, a boundary is a multipart's).
    named = (
        "name" in f"{holder.get('Content-Type', '')}{holder.get('Content-Disposition', '')}".lower()
    )
    filename = clean_line(
        _decode_encoded_words((named and holder.get_filename()) or "", defects), 255
    )
    return _ContentInfo(
        content_type=content_type,
        charset=holder.get_content_charset(),
        boundary=holder.get_boundary() if content_type.startswith("multipart/") else None,
        filename=filename,
        is_attachment=disposition == "attachment"
        or (bool(filename) and content_type not in _BODY_TYPES),
        transfer_encoding=entity.raw_headers.first("Content-Transfer-Encoding").strip().lower(),
    )


def _transfer_decode(body: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return _decode_base64(body)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    return body  # 7bit, 8bit, binary and unknown encodings are taken as they are


def _multipart_bodies(body: bytes, boundary: str, defects: _Defects) -> Iterator[bytes]:
    """The raw parts between the boundary lines, lazily, without preamble and epilogue."""
    delimiter = re.compile(
        rb"^--" + re.escape(boundary.encode(errors="replace")) + rb"(--)?[ \t]*\r?$", re.MULTILINE
    )
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            # The line end before a delimiter belongs to the delimiter.
            end = match.start() - 1
            if end > start and body[end - 1 : end] == b"\r":
                end -= 1
            yield body[start : max(start, end)]
        if match.group(1):
            return
        start = match.end() + 1  # past the "\n" the delimiter line ends with
    if start is not None:
        defects.add("closing MIME boundary missing")
        yield body[start:]


class _MimeWalker:
    """Walks a message's MIME tree depth first with an explicit stack, so that nesting costs
    no recursion, and counts parts over the whole e-mail, forwarded messages included."""

    def __init__(self, limits: ParseLimits, defects: _Defects) -> None:
        self._limits = limits
        self._defects = defects
        self._parts = 1
        self.attachments: list[Attachment] = []

    def body_text(self, message: _Entity) -> str:
        """The readable text of a message, its forwarded messages after it."""
        texts = _Texts()
        stack = [message]
        while stack:
            entity = stack.pop()
            info = _content_info(entity, self._defects)
            if info.content_type.startswith("multipart/"):
                stack.extend(reversed(self._children(entity, info)))
            elif info.content_type == "message/rfc822":
                self._forward(entity, info, texts)
            elif info.is_attachment:
                self._record_attachment(entity, info)
            elif info.content_type == "text/plain" and not texts.plain:
                texts.plain = self._decoded_text(entity, info)
            elif info.content_type == "text/html" and not texts.html:
                texts.html = self._decoded_text(entity, info)
        main = texts.plain or self._html_text(texts.html)
        parts = (main, *texts.forwarded)
        return "\n\n".join(text.strip("\r\n") for text in parts if text.strip())

    def _children(self, entity: _Entity, info: _ContentInfo) -> list[_Entity]:
        if entity.depth >= self._limits.max_depth:
            self._defects.add(f"MIME nesting beyond {self._limits.max_depth} levels ignored")
            return []
        if not info.boundary:
            self._defects.add("multipart without boundary")
            return []
        budget = self._limits.max_parts - self._parts
        bodies = list(
            islice(_multipart_bodies(entity.body, info.boundary, self._defects), budget + 1)
        )
        if len(bodies) > budget:
            self._defects.add(f"MIME parts beyond {self._limits.max_parts} ignored")
            bodies = bodies[:budget]
        self._parts += len(bodies)
        return [_read_entity(raw, entity.depth + 1, self._limits, self._defects) for raw in bodies]

    def _forward(self, entity: _Entity, info: _ContentInfo, texts: _Texts) -> None:
        if info.is_attachment:
            self._record_attachment(entity, info)
        if entity.depth >= self._limits.max_depth:
            self._defects.add(f"MIME nesting beyond {self._limits.max_depth} levels ignored")
            return
        data = _transfer_decode(entity.body, info.transfer_encoding)
        inner = _read_entity(data, entity.depth + 1, self._limits, self._defects)
        lines = [FORWARD_SEPARATOR]
        for name in FORWARD_HEADERS:
            value = _header_text(inner.raw_headers.first(name), self._limits, self._defects)
            if value:
                lines.append(f"{name}: {value}")
        texts.forwarded.append("\n".join(lines) + "\n\n" + self.body_text(inner))

    def _record_attachment(self, entity: _Entity, info: _ContentInfo) -> None:
        size = len(_transfer_decode(entity.body, info.transfer_encoding))
        self.attachments.append(
            Attachment(filename=info.filename, content_type=info.content_type, size=size)
        )

    def _decoded_text(self, entity: _Entity, info: _ContentInfo) -> str:
        """The part's text; empty when it has only whitespace, so that the next part counts."""
        data = _transfer_decode(entity.body, info.transfer_encoding)
        text = _decode_bytes(data, info.charset, self._defects)
        return text if text.strip() else ""

    def _html_text(self, html: str) -> str:
        """HTML is cut before conversion, which takes about a second per million characters."""
        limit = self._limits.max_body_chars
        if len(html) <= limit:
            return html_to_text(html)
        self._defects.add(f"HTML body cut at {limit} characters before conversion")
        return html_to_text(html[:limit]) + TRUNCATION_MARK


def _addresses(entity: _Entity, name: str, limits: ParseLimits) -> tuple[str, ...]:
    """Normalised addresses of every occurrence of an address header, first occurrence kept.
    Parsed before RFC 2047 decoding: a decoded display name may contain commas."""
    values = tuple(
        value[: limits.max_header_value_chars] for value in entity.raw_headers.get(name, ())
    )
    if not values:
        return ()
    if sum(map(len, values)) <= _CACHED_ADDRESS_CHARS:
        return _parse_addresses_cached(values)
    return _parse_addresses(values)


def _parse_addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    found = (_bare_address(address) for _display_name, address in getaddresses(values))
    return tuple(dict.fromkeys(address for address in found if address))


_parse_addresses_cached = lru_cache(maxsize=_CACHED_ADDRESSES)(_parse_addresses)


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _references(value: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value)) or tuple(value.split())


def _parse(
    raw: bytes,
    envelope_sender: str,
    envelope_recipients: Sequence[str],
    limits: ParseLimits,
    defects: _Defects,
) -> InboundEmail:
    message = _read_entity(raw, 0, limits, defects)
    headers = Headers(
        tuple((name, _header_text(value, limits, defects)) for name, value in message.fields)
    )
    walker = _MimeWalker(limits, defects)
    body = clean_text(walker.body_text(message), limits.max_body_chars)
    from_name, from_address = _sender(
        message.raw_headers.first("From")[: limits.max_header_value_chars]
    )
    return InboundEmail(
        subject=headers.first("Subject"),
        from_address=_bare_address(from_address),
        from_name=_header_text(from_name, limits, defects),
        to=_addresses(message, "To", limits),
        cc=_addresses(message, "Cc", limits),
        bcc=_addresses(message, "Bcc", limits),
        # X-Original-To is where a mail server delivered it too: a mailbox's only envelope.
        delivered_to=_addresses(message, "Delivered-To", limits)
        + _addresses(message, "X-Original-To", limits),
        envelope_sender=normalise_address(envelope_sender),
        envelope_recipients=_envelope_recipients(envelope_recipients),
        message_id=headers.first("Message-ID"),
        in_reply_to=headers.first("In-Reply-To"),
        references=_references(headers.first("References")),
        date=_date(headers.first("Date")),
        headers=headers,
        body=body,
        attachments=tuple(walker.attachments),
        size=len(raw),
        defects=tuple(defects.items),
    )


def _envelope_recipients(recipients: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, map(normalise_address, recipients))))


def parse_email(
    raw: bytes,
    *,
    envelope_sender: str = "",
    envelope_recipients: Sequence[str] = (),
    limits: ParseLimits = DEFAULT_PARSE_LIMITS,
) -> InboundEmail:
    """Never raises for any input bytes (a bug guard records the error as a defect and keeps
    the raw text as the body). CPU-bound: the caller runs it in an executor."""
    defects = _Defects()
    try:
        return _parse(raw, envelope_sender, envelope_recipients, limits, defects)
    except Exception as err:  # noqa: BLE001 - an e-mail must never be lost to a parser bug
        defects.add(f"parser error {type(err).__name__}: {clean_line(str(err), 200)}")
        return InboundEmail(
            envelope_sender=normalise_address(envelope_sender),
            envelope_recipients=_envelope_recipients(envelope_recipients),
            body=clean_text(
                raw[: limits.max_body_chars].decode("utf-8", errors="replace"),
                limits.max_body_chars,
            ),
            size=len(raw),
            defects=tuple(defects.items),
        )
