"""Incidents' e-mails on disk: append-only segment files next to the incident state.

Incidents keep only where each e-mail is (`EmailRef`: segment, offset, length); its headers,
attachments and body are read when someone looks at them. An e-mail gets its place on the event
loop when the engine records it and is written to its segment by the store's next write.

An acknowledged e-mail is on disk with the write that acknowledged it, with one sync per write:
a journal line carries its e-mails too, and the segments are synced only before a snapshot
replaces the journal. A crash that lost part of a segment still written in memory (power loss)
is repaired at the next start from the journal (`restore`). Each start writes to a new segment,
and a segment rolls over at `SEGMENT_BYTES`; a segment no stored incident refers to any more is
deleted after the pruning that freed it is written.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path
from typing import BinaryIO, Final

from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import json_loads

from .core.models import EmailRecord, EmailRef
from .core.state import email_from_data, email_to_data

SEGMENT_BYTES: Final = 16 * 1024 * 1024
# The newest e-mails stay in memory up to this size, so what is shown right after it arrived
# (an alert storm's new to-do items, an incident opened from its notification) is not read
# back from disk.
RECENT_BYTES: Final = 1024 * 1024

type PendingEmails = list[tuple[EmailRef, bytes]]


def emails_folder(state_path: Path) -> Path:
    return state_path.with_name(f"{state_path.name}.emails")


def _segment_path(folder: Path, segment: int) -> Path:
    return folder / f"{segment:08d}"


class EmailFiles:
    """The e-mail segments of one config entry."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._segment = 0
        self._size = 0
        self._pending: PendingEmails = []
        self._fd: int | None = None
        self._fd_segment = -1
        # Segments written since the last sync (the journal holds their e-mails meanwhile).
        self._unsynced: set[int] = set()
        self._recent: dict[EmailRef, EmailRecord] = {}
        self._recent_bytes = 0

    def load(self) -> None:
        """In the executor, at start: new e-mails go to a segment after every existing one."""
        with contextlib.suppress(FileNotFoundError):
            numbers = [int(path.name) for path in self.folder.iterdir() if path.name.isdecimal()]
            self._segment = max(numbers, default=0) + 1
        self._size = 0

    # --- on the event loop ----------------------------------------------------------------------

    def reserve(self, email: EmailRecord) -> EmailRef:
        """The place of an e-mail; it is written with the next store write."""
        data = json_bytes(email_to_data(email))
        if self._size and self._size + len(data) > SEGMENT_BYTES:
            self._segment += 1
            self._size = 0
        ref = EmailRef(self._segment, self._size, len(data))
        self._size += len(data)
        self._pending.append((ref, data))
        self._recent[ref] = email
        self._recent_bytes += ref.length
        while self._recent_bytes > RECENT_BYTES:
            oldest = next(iter(self._recent))
            del self._recent[oldest]
            self._recent_bytes -= oldest.length
        return ref

    def recent(self, ref: EmailRef) -> EmailRecord | None:
        """The e-mail at `ref` if it is among the newest, which are kept in memory too."""
        return self._recent.get(ref)

    def take_pending(self) -> PendingEmails:
        pending, self._pending = self._pending, []
        return pending

    def abandon_segment(self) -> None:
        """After a failed write: what was written of the segment may be incomplete, so no new
        e-mail goes after it, and the e-mails waiting for a write belong to changes that are
        undone (the incidents are restored as they are on disk)."""
        self._pending = []
        self._segment += 1
        self._size = 0

    # --- in the executor ------------------------------------------------------------------------

    def write(self, pending: PendingEmails) -> None:
        """Append the e-mails, one write per segment as they follow each other in it; synced
        later (`sync`)."""
        for segment, emails in itertools.groupby(pending, key=lambda email: email[0].segment):
            fd = self._open(segment)
            view = memoryview(b"".join(data for _ref, data in emails))
            while view:
                view = view[os.write(fd, view) :]
            self._unsynced.add(segment)

    def sync(self) -> None:
        """Make every e-mail written so far durable: before a snapshot replaces the journal
        lines that carry them. A segment deleted meanwhile holds nothing anyone refers to."""
        for segment in sorted(self._unsynced):
            if segment == self._fd_segment and self._fd is not None:
                os.fsync(self._fd)
            else:
                with contextlib.suppress(FileNotFoundError):
                    fd = os.open(_segment_path(self.folder, segment), os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            self._unsynced.discard(segment)

    def restore(self, emails: PendingEmails) -> int:
        """At start, in the executor: put back what a crash lost of the e-mails that journal
        lines carry (their segments were not synced yet); returns how many were put back. Only
        into segments that exist: the folder is synced when one is created, so a missing one
        was deleted because nothing refers to it."""
        restored = 0
        for segment, entries in itertools.groupby(emails, key=lambda email: email[0].segment):
            try:
                fd = os.open(_segment_path(self.folder, segment), os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                written = 0
                for ref, data in entries:
                    if os.pread(fd, ref.length, ref.offset) != data:
                        os.pwrite(fd, data, ref.offset)
                        written += 1
                if written:
                    os.fsync(fd)
                restored += written
            finally:
                os.close(fd)
        return restored

    def _open(self, segment: int) -> int:
        if self._fd is not None and self._fd_segment == segment:
            return self._fd
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = _segment_path(self.folder, segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._fd_segment = segment
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new name must survive a crash too
        finally:
            os.close(directory)
        return self._fd

    def read(self, refs: list[EmailRef]) -> list[EmailRecord | str]:
        """The e-mails at `refs`, in order; in place of one that cannot be read, why. Each
        segment is opened once however many of its e-mails are asked for."""
        emails: list[EmailRecord | str] = []
        with contextlib.ExitStack() as files:
            opened: dict[int, BinaryIO] = {}
            for ref in refs:
                try:
                    if (file := opened.get(ref.segment)) is None:
                        path = _segment_path(self.folder, ref.segment)
                        file = opened[ref.segment] = files.enter_context(path.open("rb"))
                    file.seek(ref.offset)
                    emails.append(email_from_data(json_loads(file.read(ref.length))))  # type: ignore[arg-type]
                except OSError as err:
                    emails.append(str(err.strerror or err))
                except (ValueError, TypeError) as err:
                    emails.append(f"damaged: {err}")
        return emails

    def remove_unused(self, used: set[int]) -> None:
        """Delete the segments no incident refers to (never the one being written)."""
        with contextlib.suppress(FileNotFoundError):
            for path in self.folder.iterdir():
                if (
                    path.name.isdecimal()
                    and int(path.name) not in used
                    and int(path.name) < self._segment
                ):
                    path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._fd_segment = -1
