"""Durable storage of the incident state: a snapshot, a journal of changes, group commit.

Home Assistant's `Store.async_save` logs write errors instead of raising them and defers writes
while Home Assistant stops; an SMTP `250` must mean "on disk". So the state is written here and
failures reach the caller.

Two files sit in `.storage/`:
- the snapshot, `email_incidents.<entry id>`, in `Store`'s layout (version, key, data) so that
  backups and tools treat it as usual: the whole state, written atomically (fsync, rename);
- the journal, `email_incidents.<entry id>.journal`: one JSON line per write after the
  snapshot, with what that write changed (the incidents created, changed or removed, their new
  e-mails, the Message-IDs seen and the few small fields). Appending a line and an fsync is all
  a write costs, however many incidents are stored: the e-mails' segments are synced only before
  a snapshot replaces the journal, and a start puts back from the journal what a crash lost of
  them (see `email_files`).

Each journal line has a sequence number and the snapshot names the last one it contains, so a
crash between writing a snapshot and emptying the journal replays nothing twice. A last line cut
short by a crash was never acknowledged; it is left out and the next write is a new snapshot.

Loading never gives up on what can still be read. A damaged journal line is skipped and the
lines after it apply; a damaged or cut snapshot yields every incident record that still reads.
Reading changes nothing (`read_files`); a start then copies each damaged file next to itself
(`<name>.damaged-<UTC time>`) and the next write is a new snapshot, so nothing damaged is
overwritten before it is kept. `StoreDamage` tells what was skipped and where the copies are,
for a repair issue.
The journal is folded into a new snapshot once it outgrows the snapshot (at least 1 MiB), which
keeps both the disk and the start-up time in proportion to the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import re
import shutil
from typing import Any, Final, overload

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.json import json_bytes
from homeassistant.util.file import WriteError, write_utf8_file_atomic
from homeassistant.util.json import json_loads, json_loads_object

from .const import DOMAIN, LOGGER
from .core.models import EmailRef
from .core.state import StateChanges
from .email_files import EmailFiles, PendingEmails, emails_folder

STORAGE_VERSION = 1
JOURNAL_MIN_COMPACT_BYTES = 1024 * 1024
SNAPSHOT_TAIL: Final = b"\n]}}"
# Where the incident records start in a snapshot (with any spacing an older writer used).
_INCIDENTS_START = re.compile(rb'"incidents"\s*:\s*\[')
# In JSON text, `{"id":` can only open an object (inside a string the quote is escaped), so a
# damaged snapshot is read on from the next record after a damaged one.
_RECORD_START = re.compile(r'\{\s*"id"\s*:')


def storage_path(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}"))


def journal_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.journal")


def legacy_archive_path(path: Path) -> Path:
    """Release 0.1.0 kept resolved incidents in a second snapshot; it is read once, then gone."""
    return path.with_name(f"{path.name}.resolved")


async def async_remove_stored_state(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's incidents (the integration was removed)."""
    path = storage_path(hass, entry_id)
    for file in (path, journal_path(path), legacy_archive_path(path)):
        await hass.async_add_executor_job(file.unlink, True)
    await hass.async_add_executor_job(shutil.rmtree, emails_folder(path), True)


def _encode_record(record: dict[str, Any]) -> bytes:
    # orjson's result keeps its 4 KiB working buffer; thousands of records are kept, so each
    # is copied to a bytes object of its own size.
    return bytes(memoryview(json_bytes(record)))


def _incident_number(incident_id: str) -> int:
    return int(incident_id.rpartition("-")[2])


class StoredRecords(Sequence[dict[str, Any]]):
    """The incident records a start loads, decoded one at a time as they are read: thousands
    of them decoded at once would take many times their size in memory, and much of it would
    stay with Home Assistant after they are gone."""

    def __init__(self, records: list[bytes | dict[str, Any]]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [_decoded(record) for record in self._records[index]]
        return _decoded(self._records[index])


def _decoded(record: bytes | dict[str, Any]) -> dict[str, Any]:
    return json_loads_object(record) if isinstance(record, bytes) else record


def snapshot_head(key: str, fields: dict[str, Any]) -> bytes:
    """The start of a snapshot, in `Store`'s layout: everything up to its incident records."""
    return b'{"version":%d,"key":"%s","data":%s' % (
        STORAGE_VERSION,
        key.encode(),
        json_bytes(fields)[:-1],
    )


def snapshot_content(head: bytes, records: list[bytes]) -> bytes:
    """A whole snapshot, one record per line: a start decodes them one at a time
    (`StoredRecords`)."""
    return b'%s,"incidents":[\n%s%s' % (head, b",\n".join(records), SNAPSHOT_TAIL)


def _record_lines(snapshot: bytes) -> tuple[bytes, list[bytes]] | None:
    """A snapshot's head and its records, if it has one record per line (as this release writes
    it; the records' JSON holds no line breaks); else None."""
    head, _, rest = snapshot.partition(b"\n")
    if not head.endswith(b'"incidents":[') or not rest.endswith(SNAPSHOT_TAIL):
        return None
    body = rest.removesuffix(SNAPSHOT_TAIL)
    return head, body.split(b",\n") if body else []


class StoreWriteError(HomeAssistantError):
    """The incident state could not be written to disk."""


@dataclass(slots=True)
class StoreDamage:
    """What loading had to leave out: records (journal lines, incidents, the snapshot's small
    fields) that could not be read, and the copies of the damaged files."""

    skipped: int = 0
    # Each damaged file and its copy; the content of those not copied yet.
    kept: dict[Path, Path] = field(default_factory=dict)
    to_keep: dict[Path, bytes] = field(default_factory=dict, repr=False)


@dataclass(slots=True)
class DiskState:
    """What the files hold: each incident's encoded record, the small fields, the Message-IDs.
    Kept in memory so a write needs only the changes, and a failed write can put memory back."""

    records: dict[str, bytes] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    message_ids: dict[str, str] = field(default_factory=dict)
    sequence: int = 0
    snapshot_bytes: int = 0
    journal_bytes: int = 0
    # The e-mails the journal's lines carry, until a start has made sure their segments hold
    # them.
    journal_emails: PendingEmails = field(default_factory=list)
    # The next write must be a snapshot: there is none yet, or the journal ends in a line
    # that a crash or a failed write cut short (a line appended after it would be lost), or
    # a file was damaged.
    needs_snapshot: bool = True
    damage: StoreDamage | None = None

    def skip(self, count: int) -> StoreDamage:
        """Count records that could not be read; the next write is a snapshot."""
        damage = self.damage = self.damage or StoreDamage()
        damage.skipped += count
        self.needs_snapshot = True
        return damage

    def damaged(self, skipped: int, file: Path, content: bytes) -> None:
        """Count what could not be read in `file`, whose `content` is to be kept."""
        damage = self.skip(skipped)
        if file not in damage.kept:
            damage.to_keep.setdefault(file, content)

    def keep_damaged_files(self) -> None:
        """In the executor: copy each damaged file next to itself, once."""
        if (damage := self.damage) is not None:
            for file, content in damage.to_keep.items():
                damage.kept[file] = _set_aside(file, content)
            damage.to_keep.clear()

    def data(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {**self.meta, "recent_message_ids": dict(self.message_ids), "incidents": records}


@dataclass(frozen=True, slots=True)
class _Write:
    """One write, prepared on the event loop: a journal line or a whole snapshot."""

    sequence: int
    meta: dict[str, Any]
    records: dict[str, bytes | None]
    message_ids: dict[str, str]
    # E-mails the records refer to, written before them.
    emails: PendingEmails
    # The start of the snapshot's JSON up to its incidents, and their encoded records.
    snapshot: tuple[bytes, list[bytes]] | None = None
    line: bytes | None = None
    journal_offset: int = 0


def read_files(path: Path) -> tuple[DiskState, dict[str, Any] | None]:
    """What the snapshot at `path` and its journal hold, and the state data a start loads
    from them (None if there is no snapshot)."""
    disk = DiskState()
    try:
        snapshot = path.read_bytes()
    except FileNotFoundError:
        return disk, None
    disk.snapshot_bytes = len(snapshot)
    records: dict[str, bytes | dict[str, Any]] | None = _read_lines(snapshot)
    if records is not None:
        main: dict[str, Any] = json_loads_object(  # type: ignore[assignment]
            snapshot.partition(b"\n")[0] + SNAPSHOT_TAIL
        )["data"]
        main.pop("incidents", None)
    else:
        try:
            main = json_loads_object(snapshot)["data"]  # type: ignore[assignment]
            stored = main.pop("incidents", [])
            if not isinstance(stored, list):
                raise TypeError("incidents is not a list")
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            LOGGER.error(
                "The incident snapshot %s is damaged (%s); reading what it holds", path, err
            )
            main, stored, skipped = _salvage_snapshot(snapshot)
            disk.damaged(skipped, path, snapshot)
        records = {
            record["id"]: record
            for record in stored
            if isinstance(record, dict) and isinstance(record.get("id"), str)
        }
    message_ids = main.pop("recent_message_ids", {})
    disk.message_ids = message_ids if isinstance(message_ids, dict) else {}
    sequence = main.pop("journal", 0)
    disk.sequence = sequence if isinstance(sequence, int) else 0
    disk.meta = main
    disk.needs_snapshot = _read_legacy_archive(path, records) or disk.damage is not None
    ends_cut_short = _replay_journal(journal_path(path), disk, records)
    disk.needs_snapshot |= ends_cut_short
    ordered = sorted(records, key=_incident_number)
    disk.records = {
        incident_id: record
        if isinstance(record := records[incident_id], bytes)
        # Changed by the journal or an archive of release 0.1.0.
        else _encode_record(record)
        for incident_id in ordered
    }
    return disk, disk.data(StoredRecords([records[incident_id] for incident_id in ordered]))


def _read_lines(snapshot: bytes) -> dict[str, bytes | dict[str, Any]] | None:
    """The encoded records of a snapshot with one record per line, each checked by decoding
    it alone (and letting it go at once); None for any other snapshot, or a damaged one, which
    are read whole."""
    if (found := _record_lines(snapshot)) is None:
        return None
    head, lines = found
    records: dict[str, bytes | dict[str, Any]] = {}
    try:
        json_loads_object(head + SNAPSHOT_TAIL)
        for line in lines:
            incident_id = json_loads_object(line)["id"]
            if not isinstance(incident_id, str):
                return None
            records[incident_id] = line
    except (ValueError, TypeError, KeyError):
        return None
    return records


def _salvage_snapshot(snapshot: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """From a snapshot that is not valid JSON: its small fields if their part still reads,
    every incident record that still reads, and how many records (the small fields counted as
    one) could not be read."""
    start = _INCIDENTS_START.search(snapshot)
    head = snapshot[: start.start()] if start else b""
    meta: Any = None
    with contextlib.suppress(ValueError, TypeError, KeyError):
        meta = json_loads_object(head.rstrip().removesuffix(b",") + b"}}")["data"]
    skipped = 0
    if not isinstance(meta, dict):
        meta, skipped = {}, 1
    text = snapshot[start.end() if start else 0 :].decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    records: list[dict[str, Any]] = []
    found = _RECORD_START.search(text)
    while found is not None:
        try:
            record, end = decoder.raw_decode(text, found.start())
        except ValueError:
            skipped += 1
            found = _RECORD_START.search(text, found.end())
            continue
        records.append(record)
        found = _RECORD_START.search(text, end)
    return meta, records, skipped


def _set_aside(file: Path, content: bytes) -> Path:
    """Keep a damaged file's content next to it under a new name, durably, before anything
    replaces it. The name says when: `<name>.damaged-20260101T120000Z`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = file.with_name(f"{file.name}.damaged-{stamp}")
    number = 1
    while True:
        try:
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            number += 1
            kept = file.with_name(f"{file.name}.damaged-{stamp}-{number}")
            continue
        break
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    _sync_folder(file.parent)
    return kept


def _sync_folder(folder: Path) -> None:
    """Make a new name in `folder` survive a crash."""
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read_legacy_archive(path: Path, records: dict[str, bytes | dict[str, Any]]) -> bool:
    try:
        archive: Any = json_loads_object(legacy_archive_path(path).read_bytes())
    except FileNotFoundError:
        return False
    # An incident in both files was resolved just before a crash: the archive is newer.
    records.update((record["id"], record) for record in archive["data"]["incidents"])
    return True


def _replay_journal(
    path: Path, disk: DiskState, records: dict[str, bytes | dict[str, Any]]
) -> bool:
    """Apply the journal's lines newer than the snapshot, skipping (and counting) a damaged
    one; True if the journal ends in a line cut short."""
    try:
        journal = path.read_bytes()
    except FileNotFoundError:
        return False
    disk.journal_bytes = len(journal)
    *lines, tail = journal.split(b"\n")
    damaged = 0
    error: Exception | None = None
    for line in lines:
        try:
            entry: Any = json_loads(line)
            sequence = entry["sequence"]
            if sequence <= disk.sequence:
                continue  # already in the snapshot
            meta, message_ids, removed = entry["meta"], entry["message_ids"], entry["removed"]
            changed = {record["id"]: record for record in entry["incidents"]}
            emails = _carried_emails(entry)
            if not (
                isinstance(meta, dict)
                and isinstance(message_ids, dict)
                and all(isinstance(incident_id, str) for incident_id in removed)
            ):
                raise TypeError("a field of the wrong type")
        except (ValueError, TypeError, KeyError) as err:
            damaged += 1
            error = err
            continue
        disk.sequence = sequence
        disk.meta = meta
        disk.message_ids.update(message_ids)
        disk.journal_emails += emails
        for incident_id in removed:
            records.pop(incident_id, None)
        records.update(changed)
    if damaged:
        LOGGER.error(
            "Skipped %d damaged line(s) of the incident journal %s (the last: %s)",
            damaged,
            path,
            error,
        )
        disk.damaged(damaged, path, journal)
    return bool(tail)


def _carried_emails(entry: Any) -> PendingEmails:
    """The e-mails a journal line carries, each as its exact bytes (lines written before
    e-mails moved into the journal carry none); TypeError if one is malformed."""
    emails: PendingEmails = []
    for segment, offset, text in entry.get("emails", ()):
        if not (isinstance(segment, int) and isinstance(offset, int) and isinstance(text, str)):
            raise TypeError("an e-mail of the wrong type")
        data = text.encode()
        emails.append((EmailRef(segment, offset, len(data)), data))
    return emails


class IncidentStore:
    """Writes the state's changes; concurrent commits share one write (group commit).

    `async_commit` returns once a write that started after the call succeeded, so every change
    made before the call is on disk. While a write runs, new callers wait for the next one.
    On failure every waiting caller gets `StoreWriteError` and `restore` receives the data that
    is on disk, so memory never runs ahead of the disk.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        take_changes: Callable[[bool], StateChanges],
        restore: Callable[[dict[str, Any] | None], None],
        written: Callable[[Collection[str]], None],
    ) -> None:
        self._hass = hass
        self.path = storage_path(hass, entry_id)
        self.journal = journal_path(self.path)
        self._take_changes = take_changes
        self._restore = restore
        self._announce_written = written
        self._disk = DiskState()
        self.emails = EmailFiles(emails_folder(self.path))
        self._journal_fd: int | None = None
        self._writer: asyncio.Task[None] | None = None
        self._next_group: asyncio.Future[None] | None = None
        self.writes = 0
        self.snapshots = 0

    # --- loading ----------------------------------------------------------------------------

    async def async_load(self) -> dict[str, Any] | None:
        """The stored state data, or None on first start (the core migrates its schema).
        What could not be read is in `damage`; damaged files are kept as copies."""
        disk, data = await self._hass.async_add_executor_job(self._read)
        self._disk = disk
        return data

    def _read(self) -> tuple[DiskState, dict[str, Any] | None]:
        """In the executor, at start: the files' content; damaged files kept as copies, and
        what a crash lost of the journal's e-mails put back into their segments."""
        disk, data = read_files(self.path)
        disk.keep_damaged_files()
        if restored := self.emails.restore(disk.journal_emails):
            LOGGER.warning(
                "Put back %d e-mail(s) that a crash had lost from %s (they were in the journal)",
                restored,
                self.emails.folder,
            )
        disk.journal_emails = []
        self.emails.load()
        return disk, data

    @property
    def damage(self) -> StoreDamage | None:
        return self._disk.damage

    async def async_unusable(self, skipped: int, usable: Collection[str]) -> None:
        """The loaded data held `skipped` records the state cannot use; only the incidents
        `usable` are kept. The snapshot and the journal are kept as they are before the next
        write, a snapshot, replaces them."""
        disk = self._disk

        def set_aside() -> None:
            for file in (self.path, self.journal):
                with contextlib.suppress(FileNotFoundError):
                    if content := file.read_bytes():
                        disk.damaged(0, file, content)
            disk.keep_damaged_files()

        disk.skip(skipped)
        await self._hass.async_add_executor_job(set_aside)
        disk.records = {
            incident_id: record
            for incident_id, record in disk.records.items()
            if incident_id in usable
        }

    # --- writing ----------------------------------------------------------------------------

    async def async_commit(self) -> None:
        """Wait until every change made so far is on disk; raise StoreWriteError if not."""
        if self._next_group is None:
            self._next_group = self._hass.loop.create_future()
        group = self._next_group
        # A writer started eagerly may finish before it is even assigned here (when its
        # first write fails at once), so a finished one counts as none.
        if self._writer is None or self._writer.done():
            self._writer = self._hass.async_create_background_task(
                self._async_write_groups(), f"{DOMAIN} store writer"
            )
        await asyncio.shield(group)

    async def _async_write_groups(self) -> None:
        while (group := self._next_group) is not None:
            self._next_group = None
            try:
                write = self._prepare()
                size = await self._hass.async_add_executor_job(self._write, write)
            except (OSError, WriteError, TypeError, ValueError) as err:
                self._fail(group, err)
                continue
            self._written(write, size)
            group.set_result(None)
            if write.records:
                self._announce_written(write.records.keys())

    def _prepare(self) -> _Write:
        """Take and encode the changes on the loop, where the state cannot change meanwhile."""
        disk = self._disk
        snapshot = disk.needs_snapshot or disk.journal_bytes > max(
            JOURNAL_MIN_COMPACT_BYTES, disk.snapshot_bytes
        )
        changes = self._take_changes(snapshot)
        emails = self.emails.take_pending()
        records = {
            incident_id: None if record is None else _encode_record(record)
            for incident_id, record in changes.incidents.items()
        }
        sequence = disk.sequence + 1
        if snapshot:
            # Every record is encoded already: a snapshot is a join of bytes, in the executor.
            merged = {**disk.records, **records}
            head = snapshot_head(
                self.path.name,
                {**changes.meta, "journal": sequence, "recent_message_ids": changes.message_ids},
            )
            return _Write(
                sequence,
                changes.meta,
                records,
                changes.message_ids,
                emails,
                snapshot=(head, [record for record in merged.values() if record is not None]),
            )
        line = (
            b'{"sequence":%d,"meta":%s,"message_ids":%s,"removed":%s,"incidents":[%s],"emails":%s}\n'
            % (
                sequence,
                json_bytes(changes.meta),
                json_bytes(changes.message_ids),
                json_bytes(
                    [incident_id for incident_id, record in records.items() if record is None]
                ),
                b",".join(record for record in records.values() if record is not None),
                # Each e-mail's exact bytes, as text: a start compares them with the segment's.
                json_bytes([[ref.segment, ref.offset, data.decode()] for ref, data in emails]),
            )
        )
        return _Write(
            sequence,
            changes.meta,
            records,
            changes.message_ids,
            emails,
            line=line,
            journal_offset=disk.journal_bytes,
        )

    def _write(self, write: _Write) -> int:
        """In the executor: append the line and fsync, or write a snapshot and empty the
        journal. Returns the bytes written. Only a snapshot may be the first write, so only it
        makes sure the folder exists."""
        self.emails.write(write.emails)
        if write.snapshot is not None:
            self.emails.sync()  # the journal lines that carry them are about to go
            self.path.parent.mkdir(parents=True, exist_ok=True)
            head, records = write.snapshot
            content = snapshot_content(head, records)
            write_utf8_file_atomic(str(self.path), content, private=True, mode="wb")
            legacy_archive_path(self.path).unlink(missing_ok=True)
            fd = self._open_journal()
            os.ftruncate(fd, 0)
            os.fsync(fd)
            return len(content)
        assert write.line is not None
        fd = self._open_journal()
        try:
            view = memoryview(write.line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            # Not acknowledged, so not to be replayed after a crash either. If even this
            # fails, the next write is a snapshot that empties the journal anyway.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, write.journal_offset)
            raise
        return len(write.line)

    def _open_journal(self) -> int:
        if self._journal_fd is None:
            created = not self.journal.exists()
            self._journal_fd = os.open(
                self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
            if created:  # the new name must survive a crash too
                _sync_folder(self.journal.parent)
        return self._journal_fd

    def _written(self, write: _Write, size: int) -> None:
        disk = self._disk
        disk.sequence = write.sequence
        disk.meta = write.meta
        disk.message_ids.update(write.message_ids)
        for incident_id, record in write.records.items():
            if record is None:
                disk.records.pop(incident_id, None)
            else:
                disk.records[incident_id] = record
        if write.snapshot is not None:
            disk.snapshot_bytes = size
            disk.journal_bytes = 0
            disk.needs_snapshot = False
            # A snapshot holds only the Message-IDs the engine still keeps.
            disk.message_ids = dict(write.message_ids)
            self.snapshots += 1
        else:
            disk.journal_bytes += size
        self.writes += 1

    def _fail(self, group: asyncio.Future[None], err: Exception) -> None:
        LOGGER.error("Could not write the incident state to %s: %s", self.path, err)
        error = StoreWriteError(f"Could not write the incident state: {err}")
        group.set_exception(error)
        group.exception()  # every waiter is told; no "exception never retrieved" warning
        # Changes queued behind the failed write sit on top of it in memory; they fail too so
        # that memory returns exactly to what the disk holds.
        if self._next_group is not None:
            self._next_group.set_exception(error)
            self._next_group.exception()
            self._next_group = None
        # A line may have been written in part; the next write replaces it with a snapshot.
        self._disk.needs_snapshot = True
        self.emails.abandon_segment()
        self.close()
        if not self._disk.records and not self._disk.meta:
            self._restore(None)
            return
        records: Any = json_loads(b"[%s]" % b",".join(self._disk.records.values()))
        self._restore(self._disk.data(records))

    def close(self) -> None:
        """Release the journal's and the e-mails' files (the entry unloads, or a write failed)."""
        self.emails.close()
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
