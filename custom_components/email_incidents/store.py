"""Durable storage of the incident state: a snapshot, a journal of changes, group commit.

Home Assistant's `Store.async_save` logs write errors instead of raising them and defers writes
while Home Assistant stops; an SMTP `250` must mean "on disk". So the state is written here and
failures reach the caller.

Two files sit in `.storage/`:
- the snapshot, `email_incidents.<entry id>`, in `Store`'s layout (version, key, data) so that
  backups and tools treat it as usual: the whole state, written atomically (fsync, rename);
- the journal, `email_incidents.<entry id>.journal`: one JSON line per write after the
  snapshot, with what that write changed (the incidents created, changed or removed, the
  Message-IDs seen and the few small fields). Appending a line and an fsync is all a write costs,
  however many incidents are stored.

Each journal line has a sequence number and the snapshot names the last one it contains, so a
crash between writing a snapshot and emptying the journal replays nothing twice. A line cut short
by a crash was never acknowledged; loading stops there and the next write is a new snapshot.
The journal is folded into a new snapshot once it outgrows the snapshot (at least 1 MiB), which
keeps both the disk and the start-up time in proportion to the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.json import json_bytes
from homeassistant.util.file import WriteError, write_utf8_file_atomic
from homeassistant.util.json import json_loads, json_loads_object

from .const import DOMAIN, LOGGER
from .core.state import StateChanges

STORAGE_VERSION = 1
JOURNAL_MIN_COMPACT_BYTES = 1024 * 1024


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


def _encode_record(record: dict[str, Any]) -> bytes:
    # orjson's result keeps its 4 KiB working buffer; thousands of records are kept, so each
    # is copied to a bytes object of its own size.
    return bytes(memoryview(json_bytes(record)))


def _incident_number(record: dict[str, Any]) -> int:
    return int(str(record["id"]).rpartition("-")[2])


class StoreWriteError(HomeAssistantError):
    """The incident state could not be written to disk."""


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
    # The next write must be a snapshot: there is none yet, or the journal ends in a line
    # that a crash or a failed write cut short (a line appended after it would be lost).
    needs_snapshot: bool = True

    def data(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {**self.meta, "recent_message_ids": dict(self.message_ids), "incidents": records}


@dataclass(frozen=True, slots=True)
class _Write:
    """One write, prepared on the event loop: a journal line or a whole snapshot."""

    sequence: int
    meta: dict[str, Any]
    records: dict[str, bytes | None]
    message_ids: dict[str, str]
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
    main: dict[str, Any] = json_loads_object(snapshot)["data"]  # type: ignore[assignment]
    records = {record["id"]: record for record in main.pop("incidents", ())}
    disk.message_ids = main.pop("recent_message_ids", {})
    disk.sequence = main.pop("journal", 0)
    disk.meta = main
    disk.needs_snapshot = _read_legacy_archive(path, records)
    disk.needs_snapshot |= _replay_journal(journal_path(path), disk, records)
    ordered = sorted(records.values(), key=_incident_number)
    disk.records = {record["id"]: _encode_record(record) for record in ordered}
    return disk, disk.data(ordered)


def _read_legacy_archive(path: Path, records: dict[str, dict[str, Any]]) -> bool:
    try:
        archive: Any = json_loads_object(legacy_archive_path(path).read_bytes())
    except FileNotFoundError:
        return False
    # An incident in both files was resolved just before a crash: the archive is newer.
    records.update((record["id"], record) for record in archive["data"]["incidents"])
    return True


def _replay_journal(path: Path, disk: DiskState, records: dict[str, dict[str, Any]]) -> bool:
    """Apply the journal's lines newer than the snapshot; True if it ends cut short."""
    try:
        journal = path.read_bytes()
    except FileNotFoundError:
        return False
    disk.journal_bytes = len(journal)
    *lines, tail = journal.split(b"\n")
    for line in lines:
        try:
            entry: Any = json_loads(line)
            sequence = entry["sequence"]
        except (ValueError, TypeError, KeyError):
            return True
        if sequence <= disk.sequence:
            continue  # already in the snapshot
        disk.sequence = sequence
        disk.meta = entry["meta"]
        disk.message_ids.update(entry["message_ids"])
        for incident_id in entry["removed"]:
            records.pop(incident_id, None)
        records.update((record["id"], record) for record in entry["incidents"])
    return bool(tail)


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
    ) -> None:
        self._hass = hass
        self.path = storage_path(hass, entry_id)
        self.journal = journal_path(self.path)
        self._take_changes = take_changes
        self._restore = restore
        self._disk = DiskState()
        self._journal_fd: int | None = None
        self._writer: asyncio.Task[None] | None = None
        self._next_group: asyncio.Future[None] | None = None
        self.writes = 0
        self.snapshots = 0

    # --- loading ----------------------------------------------------------------------------

    async def async_load(self) -> dict[str, Any] | None:
        """The stored state data, or None on first start (the core migrates its schema)."""
        disk, data = await self._hass.async_add_executor_job(read_files, self.path)
        self._disk = disk
        return data

    # --- writing ----------------------------------------------------------------------------

    async def async_commit(self) -> None:
        """Wait until every change made so far is on disk; raise StoreWriteError if not."""
        if self._next_group is None:
            self._next_group = self._hass.loop.create_future()
        group = self._next_group
        if self._writer is None:
            self._writer = self._hass.async_create_background_task(
                self._async_write_groups(), f"{DOMAIN} store writer"
            )
        await asyncio.shield(group)

    async def _async_write_groups(self) -> None:
        try:
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
        finally:
            self._writer = None

    def _prepare(self) -> _Write:
        """Take and encode the changes on the loop, where the state cannot change meanwhile."""
        disk = self._disk
        snapshot = disk.needs_snapshot or disk.journal_bytes > max(
            JOURNAL_MIN_COMPACT_BYTES, disk.snapshot_bytes
        )
        changes = self._take_changes(snapshot)
        records = {
            incident_id: None if record is None else _encode_record(record)
            for incident_id, record in changes.incidents.items()
        }
        sequence = disk.sequence + 1
        if snapshot:
            # Every record is encoded already: a snapshot is a join of bytes, in the executor.
            merged = {**disk.records, **records}
            head = b'{"version":%d,"key":"%s","data":%s' % (
                STORAGE_VERSION,
                self.path.name.encode(),
                json_bytes(
                    {**changes.meta, "journal": sequence, "recent_message_ids": changes.message_ids}
                )[:-1],
            )
            return _Write(
                sequence,
                changes.meta,
                records,
                changes.message_ids,
                snapshot=(head, [record for record in merged.values() if record is not None]),
            )
        line = b'{"sequence":%d,"meta":%s,"message_ids":%s,"removed":%s,"incidents":[%s]}\n' % (
            sequence,
            json_bytes(changes.meta),
            json_bytes(changes.message_ids),
            json_bytes([incident_id for incident_id, record in records.items() if record is None]),
            b",".join(record for record in records.values() if record is not None),
        )
        return _Write(
            sequence,
            changes.meta,
            records,
            changes.message_ids,
            line=line,
            journal_offset=disk.journal_bytes,
        )

    def _write(self, write: _Write) -> int:
        """In the executor: append the line and fsync, or write a snapshot and empty the
        journal. Returns the bytes written. Only a snapshot may be the first write, so only it
        makes sure the folder exists."""
        if write.snapshot is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            head, records = write.snapshot
            content = b'%s,"incidents":[%s]}}' % (head, b",".join(records))
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
                directory = os.open(self.journal.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
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
        self.close()
        if not self._disk.records and not self._disk.meta:
            self._restore(None)
            return
        records: Any = json_loads(b"[%s]" % b",".join(self._disk.records.values()))
        self._restore(self._disk.data(records))

    def close(self) -> None:
        """Release the journal's file (the entry unloads, or a write failed)."""
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
