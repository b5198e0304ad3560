"""Mailboxes as data: a mailbox's settings, what has been taken from its folder, which messages
to take next and in which batches, and the IMAP answers that say so.

A mailbox is a second way into the same path as the SMTP listener. What it must never do is
take a message twice or lose one: the folder's UIDVALIDITY and the highest UID taken (the
mark) are kept in the engine's state, written in the same durable write as the incidents the
messages made. The UIDs whose after-step (mark seen, move, delete) is not confirmed yet are
kept with the mark, so a crash between the write and that step repeats only the step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import re
from typing import Any

from .outcomes import IngestResult
from .state import EngineState, MailboxMark

DEFAULT_FOLDER = "INBOX"
DEFAULT_POLL_SECONDS = 60
# A batch is fetched, stored in one write and then flagged: small enough to bound memory and
# the time an answer waits, large enough that a backlog of thousands is one write per batch.
BATCH_MESSAGES = 50
BATCH_BYTES = 8 * 1024 * 1024
# UIDs per FETCH of sizes: aioimaplib reads each line of an answer in a nested call, so an
# answer of thousands of short lines would exhaust Python's recursion limit.
SIZE_CHUNK = 200


class Security(StrEnum):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class AfterStore(StrEnum):
    MARK_SEEN = "mark_seen"
    MOVE = "move"
    DELETE = "delete"


DEFAULT_PORTS = {Security.SSL: 993, Security.STARTTLS: 143, Security.NONE: 143}


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxConfig:
    """A mailbox as its reader uses it."""

    mailbox_id: str
    name: str
    host: str
    port: int
    security: Security = Security.SSL
    verify_certificate: bool = True
    username: str
    password: str = field(repr=False)
    folder: str = DEFAULT_FOLDER
    after_store: AfterStore = AfterStore.MARK_SEEN
    move_to: str = ""
    default_source: str | None = None
    poll_seconds: int = DEFAULT_POLL_SECONDS


def mailbox_from_data(mailbox_id: str, data: Mapping[str, Any]) -> MailboxConfig:
    security = Security(data.get("security", Security.SSL))
    return MailboxConfig(
        mailbox_id=mailbox_id,
        name=str(data.get("name") or data.get("username") or mailbox_id),
        host=str(data["host"]),
        port=int(data.get("port") or DEFAULT_PORTS[security]),
        security=security,
        verify_certificate=bool(data.get("verify_certificate", True)),
        username=str(data["username"]),
        password=str(data.get("password", "")),
        folder=str(data.get("folder") or DEFAULT_FOLDER),
        after_store=AfterStore(data.get("after_store", AfterStore.MARK_SEEN)),
        move_to=str(data.get("move_to") or ""),
        default_source=data.get("default_source") or None,
        poll_seconds=int(data.get("poll_seconds") or DEFAULT_POLL_SECONDS),
    )


# --- what to take ---------------------------------------------------------------------------


def search_criteria(mark: MailboxMark | None, uidvalidity: int) -> tuple[str, ...]:
    """After the mark of the same folder generation: everything newer. A first look, or a
    folder whose UIDVALIDITY changed, takes what is unread (Message-IDs keep a message already
    taken under the old UIDs from opening an incident again)."""
    if mark is not None and mark.uidvalidity == uidvalidity:
        return ("UID", f"{mark.uid + 1}:*")
    return ("UNSEEN",)


def uids_to_take(found: Iterable[int], mark: MailboxMark | None, uidvalidity: int) -> list[int]:
    """The UIDs of a search answer still to take, oldest first. `N:*` always names the newest
    message, even one below N: the mark filters it out."""
    after = mark.uid if mark is not None and mark.uidvalidity == uidvalidity else 0
    return sorted(uid for uid in set(found) if uid > after)


def plan_batches(
    sizes: Mapping[int, int], max_message_size: int
) -> tuple[list[int], list[list[int]]]:
    """The messages too large to take (left in the folder), and the others in batches of at
    most BATCH_MESSAGES messages and BATCH_BYTES bytes (a larger single message alone)."""
    too_large = sorted(uid for uid, size in sizes.items() if size > max_message_size)
    batches: list[list[int]] = []
    batch: list[int] = []
    batch_bytes = 0
    for uid in sorted(uid for uid, size in sizes.items() if size <= max_message_size):
        size = sizes[uid]
        if batch and (len(batch) >= BATCH_MESSAGES or batch_bytes + size > BATCH_BYTES):
            batches.append(batch)
            batch, batch_bytes = [], 0
        batch.append(uid)
        batch_bytes += size
    if batch:
        batches.append(batch)
    return too_large, batches


def uid_set(uids: Sequence[int]) -> str:
    """An IMAP sequence set of UIDs, with runs collapsed: 1:3,7,9:10."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an empty set of UIDs")
    start = previous = ordered[0] if ordered else 0
    for uid in ordered[1:] + [0]:
        if uid == previous + 1:
            previous = uid
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = uid
    return ",".join(parts)


def record_batch(
    state: EngineState,
    mailbox_id: str,
    uidvalidity: int,
    uids: Sequence[int],
    results: Sequence[IngestResult],
) -> list[int]:
    """Advance the mailbox's mark past a batch just ingested (the same write stores both) and
    count it. Returns the UIDs to flag: those an alert source took; the others stay untouched
    in the folder."""
    taken = [uid for uid, result in zip(uids, results, strict=True) if result.outcomes]
    previous = state.mailbox_marks.get(mailbox_id)
    unflagged = (
        previous.unflagged if previous is not None and previous.uidvalidity == uidvalidity else ()
    )
    state.mailbox_marks[mailbox_id] = MailboxMark(
        uidvalidity=uidvalidity,
        uid=max(uids),
        unflagged=(*unflagged, *taken),
    )
    counters = state.counters
    counters[f"mailbox_taken_{mailbox_id}"] = counters.get(f"mailbox_taken_{mailbox_id}", 0) + len(
        taken
    )
    if left := len(uids) - len(taken):
        counters[f"mailbox_left_{mailbox_id}"] = (
            counters.get(f"mailbox_left_{mailbox_id}", 0) + left
        )
    return taken


def record_flagged(state: EngineState, mailbox_id: str, uids: Iterable[int]) -> None:
    """The after-step of these UIDs is done: a restart need not repeat it."""
    mark = state.mailbox_marks.get(mailbox_id)
    if mark is not None:
        done = set(uids)
        state.mailbox_marks[mailbox_id] = MailboxMark(
            uidvalidity=mark.uidvalidity,
            uid=mark.uid,
            unflagged=tuple(uid for uid in mark.unflagged if uid not in done),
        )


def record_too_large(
    state: EngineState, mailbox_id: str, uidvalidity: int, uids: Sequence[int]
) -> None:
    """Messages over the size limit stay in the folder, counted; the mark passes them."""
    counters = state.counters
    counters[f"mailbox_too_large_{mailbox_id}"] = counters.get(
        f"mailbox_too_large_{mailbox_id}", 0
    ) + len(uids)
    mark = state.mailbox_marks.get(mailbox_id)
    same = mark is not None and mark.uidvalidity == uidvalidity
    state.mailbox_marks[mailbox_id] = MailboxMark(
        uidvalidity=uidvalidity,
        uid=max(mark.uid if mark is not None and same else 0, *uids),
        unflagged=mark.unflagged if mark is not None and same else (),
    )


# --- IMAP answers ---------------------------------------------------------------------------

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_FETCH_START = re.compile(rb"^(\d+) FETCH \(", re.IGNORECASE)
_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)", re.IGNORECASE)
_LITERAL = re.compile(rb"\{(\d+)\}$")


class ImapAnswerError(ValueError):
    """An IMAP server's answer that does not say what it must."""


def uidvalidity_of(lines: Iterable[bytes | bytearray]) -> int:
    for line in lines:
        if match := _UIDVALIDITY.search(bytes(line)):
            return int(match.group(1))
    raise ImapAnswerError("the folder's SELECT answer has no UIDVALIDITY")


def search_uids(lines: Iterable[bytes | bytearray]) -> list[int]:
    """The UIDs of a SEARCH answer: its lines of numbers (aioimaplib strips the word SEARCH,
    the raw answer has it); the closing text is not one."""
    uids: list[int] = []
    for line in lines:
        words = bytes(line).split()
        if words[:1] == [b"SEARCH"]:
            words = words[1:]
        if words and all(word.isdigit() for word in words):
            uids.extend(int(word) for word in words)
    return uids


def _messages(lines: Sequence[bytes | bytearray]) -> list[list[bytes | bytearray]]:
    """The lines of a FETCH answer, grouped by message (a literal is one item of its group)."""
    messages: list[list[bytes | bytearray]] = []
    for line in lines:
        if isinstance(line, bytes) and _FETCH_START.match(line):
            messages.append([line])
        elif messages:
            messages[-1].append(line)
    return messages


def fetched_sizes(lines: Sequence[bytes | bytearray]) -> dict[int, int]:
    """UID -> RFC822.SIZE from the answer to `UID FETCH set (RFC822.SIZE)`. A FETCH without a
    size is the server's news of flags changed elsewhere, not an answer."""
    sizes: dict[int, int] = {}
    for message in _messages(lines):
        text = b" ".join(bytes(item) for item in message if isinstance(item, bytes))
        if (size := _SIZE.search(text)) is None:
            continue
        if (uid := _UID.search(text)) is None:
            raise ImapAnswerError(f"a FETCH answer without UID: {text[:80]!r}")
        sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def fetched_bodies(lines: Sequence[bytes | bytearray]) -> dict[int, bytes]:
    """UID -> the raw message from the answer to `UID FETCH set (UID BODY.PEEK[])`. The
    literal must be exactly as long as announced; a FETCH without BODY[] is news of flags."""
    bodies: dict[int, bytes] = {}
    for message in _messages(lines):
        words = [item for item in message if isinstance(item, bytes)]
        if not any(b"BODY[" in word.upper() for word in words):
            continue
        literals = [item for item in message if isinstance(item, bytearray)]
        uid = _UID.search(b" ".join(words))
        announced = next(
            (int(match.group(1)) for word in words if (match := _LITERAL.search(word))), None
        )
        if uid is None or len(literals) != 1 or announced != len(literals[0]):
            raise ImapAnswerError(f"a FETCH answer without UID or whole body: {words[:1]!r}")
        bodies[int(uid.group(1))] = bytes(literals[0])
    return bodies
