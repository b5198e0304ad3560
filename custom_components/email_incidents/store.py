"""Durable storage of the incident state with group commit.

Home Assistant's `Store.async_save` logs write errors instead of raising them and defers writes
while Home Assistant stops; an SMTP `250` must mean "on disk". So the state is written here with
`write_utf8_file_atomic` (fsync, then rename) and failures reach the caller. The files sit in
`.storage/` in `Store`'s layout (version, key, data) so backups and tools treat them as usual.

Resolved incidents, the bulk of the state, never change again but for an occasional note; they
live in a second file that is only rewritten when that set changes, so the write that
acknowledges an e-mail stays small however long the history is. The archive is written before
the main file: after a crash between the two, an incident may already be resolved on disk,
never the other way round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.json import json_bytes
from homeassistant.util.file import WriteError, write_utf8_file_atomic
from homeassistant.util.json import json_loads_object

from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1


def storage_path(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}"))


def archive_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.resolved")


async def async_remove_stored_state(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's incidents (the integration was removed)."""
    path = storage_path(hass, entry_id)
    for file in (path, archive_path(path)):
        await hass.async_add_executor_job(file.unlink, True)


def _incident_number(record: dict[str, Any]) -> int:
    return int(str(record["id"]).rpartition("-")[2])


class StoreWriteError(HomeAssistantError):
    """The incident state could not be written to disk."""


class IncidentStore:
    """Writes snapshots of the state; concurrent commits share one write (group commit).

    `async_commit` returns once a write that started after the call succeeded, so every change
    made before the call is on disk. While a write runs, new callers wait for the next one.
    On failure every waiting caller gets `StoreWriteError` and `restore` receives the last data
    that is on disk, so memory never runs ahead of the disk.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        snapshot: Callable[[], dict[str, Any]],
        restore: Callable[[dict[str, Any] | None], None],
    ) -> None:
        self._hass = hass
        self.path = storage_path(hass, entry_id)
        self._snapshot = snapshot
        self._restore = restore
        self.archive = archive_path(self.path)
        # What the disk holds: the last data written or loaded, for a restore after a failure.
        self._durable: dict[str, Any] | None = None
        # The resolved records in the archive file, by identity: the state reuses the record
        # of an unchanged resolved incident, so an equal tuple means nothing to rewrite.
        self._archived: tuple[int, ...] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._next_group: asyncio.Future[None] | None = None
        self.writes = 0

    async def async_load(self) -> dict[str, Any] | None:
        """The stored state data, or None on first start (the core migrates its schema)."""
        data = await self._hass.async_add_executor_job(self._read)
        self._durable = data
        return data

    def _read(self) -> dict[str, Any] | None:
        main: dict[str, Any]
        archived: list[dict[str, Any]]
        try:
            main = json_loads_object(self.path.read_bytes())["data"]  # type: ignore[assignment]
        except FileNotFoundError:
            return None
        try:
            archive: Any = json_loads_object(self.archive.read_bytes())
            archived = archive["data"]["incidents"]
        except FileNotFoundError:
            archived = []
        # An incident in both files was resolved just before a crash: the archive is newer.
        resolved = {record["id"] for record in archived}
        records = archived + [r for r in main.get("incidents", ()) if r["id"] not in resolved]
        return {**main, "incidents": sorted(records, key=_incident_number)}

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
                snapshot = self._snapshot()
                try:
                    await self._hass.async_add_executor_job(self._write, snapshot)
                except (OSError, WriteError, TypeError, ValueError) as err:
                    self._fail(group, err)
                    continue
                self._durable = snapshot
                self.writes += 1
                group.set_result(None)
        finally:
            self._writer = None

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
        self._archived = None  # what the archive file holds is no longer known
        self._restore(self._durable)

    def _write(self, snapshot: dict[str, Any]) -> None:
        """Encode and write in the executor: the archive if its records changed, then the rest.
        The snapshot's containers are its own, and the records it shares with the state are
        never changed, so reading them here while the loop goes on is safe."""
        resolved = [r for r in snapshot["incidents"] if r["status"] == "resolved"]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        archived = tuple(map(id, resolved))
        if archived != self._archived:
            self._write_file(self.archive, {"incidents": resolved})
            self._archived = archived
        active = [r for r in snapshot["incidents"] if r["status"] != "resolved"]
        self._write_file(self.path, {**snapshot, "incidents": active})

    @staticmethod
    def _write_file(path: Path, data: dict[str, Any]) -> None:
        envelope = b'{"version":%d,"key":"%s","data":%s}' % (
            STORAGE_VERSION,
            path.name.encode(),
            json_bytes(data),
        )
        write_utf8_file_atomic(str(path), envelope, private=True, mode="wb")
