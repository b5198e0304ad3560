"""Durable storage of the incident state with group commit.

Home Assistant's `Store.async_save` logs write errors instead of raising them and defers writes
while Home Assistant stops; an SMTP `250` must mean "on disk". So the state is written here with
`write_utf8_file_atomic` (fsync, then rename) and failures reach the caller. The file sits in
`.storage/` in `Store`'s layout (version, key, data) so backups and tools treat it as usual.
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


async def async_remove_stored_state(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's incidents (the integration was removed)."""
    await hass.async_add_executor_job(storage_path(hass, entry_id).unlink, True)


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
        self._durable: bytes | None = None
        self._writer: asyncio.Task[None] | None = None
        self._next_group: asyncio.Future[None] | None = None
        self.writes = 0

    async def async_load(self) -> dict[str, Any] | None:
        """The stored state data, or None on first start (the core migrates its schema)."""
        raw = await self._hass.async_add_executor_job(self._read)
        if raw is None:
            return None
        data = json_loads_object(raw)["data"]
        assert isinstance(data, dict)
        self._durable = json_bytes(data)
        return data

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

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
                    payload = await self._hass.async_add_executor_job(self._write, snapshot)
                except (OSError, WriteError, TypeError, ValueError) as err:
                    self._fail(group, err)
                    continue
                self._durable = payload
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
        self._restore(None if self._durable is None else json_loads_object(self._durable))

    def _write(self, snapshot: dict[str, Any]) -> bytes:
        """Encode and write in the executor; returns the encoded data for a later restore."""
        data = json_bytes(snapshot)
        envelope = b'{"version":%d,"key":"%s","data":%s}' % (
            STORAGE_VERSION,
            self.path.name.encode(),
            data,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_utf8_file_atomic(str(self.path), envelope, private=True, mode="wb")
        return data

    async def async_flush(self) -> None:
        """Write what is pending (used at unload and shutdown)."""
        if self._writer is not None or self._next_group is not None:
            await self.async_commit()
