"""Base entity and devices: the listener's device, and one device per alert source under it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import math

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    DOMAIN,
    LISTENER_DEVICE,
    SUBENTRY_MAILBOX,
    SUBENTRY_ROTATION,
    SUBENTRY_SOURCE,
    state_changed_signal,
)
from .core.config import SourceConfig
from .mailbox import MailboxReader
from .runtime import EmailIncidentsConfigEntry, EmailIncidentsRuntime

MANUFACTURER = "Email Incidents"
# Entities whose value changes with every e-mail (counters, the last e-mail, the open incidents)
# are written at once after a quiet second, and during a burst of e-mails at most once a second,
# the last time with the values the burst ended with.
BURST_WRITE_INTERVAL = 1.0


def subentry_ids(entry: ConfigEntry, subentry_type: str) -> list[str]:
    """The entry's subentries of one type: alert sources, policies, mailboxes or rotations."""
    return [
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == subentry_type
    ]


def source_ids(entry: ConfigEntry) -> list[str]:
    return subentry_ids(entry, SUBENTRY_SOURCE)


@callback
def async_add_subentry_entities(
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    create: Callable[[EmailIncidentsRuntime, str], Iterable[Entity]],
    subentry_type: str,
) -> None:
    """Add the entities of each subentry of a type (alert source, mailbox, rotation) with it, so
    they leave when it is deleted; those added later get theirs the same way."""
    runtime = entry.runtime_data

    @callback
    def _async_add(subentry_id: str) -> None:
        async_add_entities(create(runtime, subentry_id), config_subentry_id=subentry_id)

    runtime.entity_adders[subentry_type].append(_async_add)
    for subentry_id in subentry_ids(entry, subentry_type):
        _async_add(subentry_id)


def listener_device_info(runtime: EmailIncidentsRuntime) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, runtime.entry.entry_id)},
        name="Email Incidents listener",
        manufacturer=MANUFACTURER,
        model="LMTP listener" if runtime.settings.lmtp else "SMTP listener",
        entry_type=DeviceEntryType.SERVICE,
    )


def _subentry_device_info(
    runtime: EmailIncidentsRuntime, subentry_id: str, model: str
) -> DeviceInfo:
    subentry = runtime.entry.subentries.get(subentry_id)
    return DeviceInfo(
        identifiers={(DOMAIN, subentry_id)},
        name=subentry.title if subentry is not None else subentry_id,
        manufacturer=MANUFACTURER,
        model=model,
        entry_type=DeviceEntryType.SERVICE,
    )


def mailbox_device_info(runtime: EmailIncidentsRuntime, mailbox_id: str) -> DeviceInfo:
    return _subentry_device_info(runtime, mailbox_id, "IMAP mailbox")


def rotation_device_info(runtime: EmailIncidentsRuntime, rotation_id: str) -> DeviceInfo:
    return _subentry_device_info(runtime, rotation_id, "Rotation")


def source_device_info(runtime: EmailIncidentsRuntime, source_id: str) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, source_id)},
        name=runtime.source_name(source_id),
        manufacturer=MANUFACTURER,
        model="Alert source",
        entry_type=DeviceEntryType.SERVICE,
    )


@callback
def async_register_devices(hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> None:
    """Create the listener's device and each alert source's device under it before any entity,
    and remove the devices of alert sources deleted while the entry was not loaded. A source
    device is linked to the listener's by device id: every supported Home Assistant accepts
    that, while the link by identifier (`via_device`) is deprecated in newer ones."""
    registry = dr.async_get(hass)
    runtime = entry.runtime_data
    listener = registry.async_get_or_create(
        config_entry_id=entry.entry_id, **listener_device_info(runtime)
    )

    def registrar(
        device_info: Callable[[EmailIncidentsRuntime, str], DeviceInfo],
    ) -> Callable[[str], None]:
        @callback
        def _async_register(subentry_id: str) -> None:
            device = registry.async_get_or_create(
                config_entry_id=entry.entry_id,
                config_subentry_id=subentry_id,
                **device_info(runtime, subentry_id),
            )
            registry.async_update_device(device.id, via_device_id=listener.id)

        return _async_register

    for device_info, subentry_type in (
        (source_device_info, SUBENTRY_SOURCE),
        (mailbox_device_info, SUBENTRY_MAILBOX),
        (rotation_device_info, SUBENTRY_ROTATION),
    ):
        register = registrar(device_info)
        for subentry_id in subentry_ids(entry, subentry_type):
            register(subentry_id)
        # One added while running gets its device before the platforms add its entities.
        runtime.entity_adders[subentry_type].insert(0, register)
    current = {
        entry.entry_id,
        *source_ids(entry),
        *subentry_ids(entry, SUBENTRY_MAILBOX),
        *subentry_ids(entry, SUBENTRY_ROTATION),
    }
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any(domain == DOMAIN and ident in current for domain, ident in device.identifiers):
            registry.async_remove_device(device.id)


class EmailIncidentsEntity(Entity):
    """Belongs to the listener device, or to an alert source's device when `source_id` is set."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # What the state showed when it was last written: the entities of an alert source hear of
    # every batch of its e-mails, and most of them show the same as before.
    _shown: tuple[object, ...] | None = None
    # True for entities whose value changes with every e-mail: a burst of e-mails writes them
    # once a second instead of hundreds of times, each write a row in the recorder's database.
    _changes_with_every_email = False
    _last_written = -math.inf
    _deferred_write: asyncio.TimerHandle | None = None

    def __init__(
        self,
        runtime: EmailIncidentsRuntime,
        description: EntityDescription,
        source_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.entity_description = description
        self.source_id = source_id
        self._attr_unique_id = f"{source_id or runtime.entry.entry_id}_{description.key}"
        self._attr_device_info = (
            listener_device_info(runtime)
            if source_id is None
            else source_device_info(runtime, source_id)
        )

    @property
    def source(self) -> SourceConfig:
        assert self.source_id is not None
        return self.runtime.engine.sources[self.source_id]

    @property
    def available(self) -> bool:
        return self.runtime.listener is not None and self.runtime.listener.running

    async def async_added_to_hass(self) -> None:
        entry_id = self.runtime.entry.entry_id
        for signal in (
            state_changed_signal(entry_id),
            state_changed_signal(entry_id, self.source_id or LISTENER_DEVICE),
        ):
            self.async_on_remove(
                async_dispatcher_connect(self.hass, signal, self._async_state_changed)
            )
        self.async_on_remove(self._cancel_deferred_write)

    @callback
    def _async_state_changed(self, by_emails_only: bool = False) -> None:
        if self._changes_with_every_email and by_emails_only:
            if self._deferred_write is not None:
                return  # it writes what is shown by then
            wait = self._last_written + BURST_WRITE_INTERVAL - self.hass.loop.time()
            if wait > 0:
                self._deferred_write = self.hass.loop.call_later(wait, self._async_write_deferred)
                return
        self._cancel_deferred_write()
        self._async_write_if_changed()

    @callback
    def _async_write_deferred(self) -> None:
        self._deferred_write = None
        self._async_write_if_changed()

    @callback
    def _async_write_if_changed(self) -> None:
        if self._shows_something_new():
            self._last_written = self.hass.loop.time()
            self.async_write_ha_state()

    def _shows_something_new(self) -> bool:
        """Whether the state would differ from the one last written (remembered as written)."""
        shown = (self.available, self.state, self.extra_state_attributes)
        if shown == self._shown:
            return False
        self._shown = shown
        return True

    @callback
    def _cancel_deferred_write(self) -> None:
        if self._deferred_write is not None:
            self._deferred_write.cancel()
            self._deferred_write = None


class MailboxEntity(EmailIncidentsEntity):
    """Belongs to a mailbox's device and shows its reader's status (`source_id` holds the
    mailbox's subentry id: the signal of its device)."""

    def __init__(
        self, runtime: EmailIncidentsRuntime, description: EntityDescription, mailbox_id: str
    ) -> None:
        super().__init__(runtime, description, mailbox_id)
        self._attr_device_info = mailbox_device_info(runtime, mailbox_id)

    @property
    def reader(self) -> MailboxReader | None:
        assert self.source_id is not None
        return self.runtime.mailboxes.get(self.source_id)

    @property
    def available(self) -> bool:
        return self.reader is not None


class RotationEntity(EmailIncidentsEntity):
    """Belongs to a rotation's device (`source_id` holds the rotation's subentry id: the signal
    of its device)."""

    def __init__(
        self, runtime: EmailIncidentsRuntime, description: EntityDescription, rotation_id: str
    ) -> None:
        super().__init__(runtime, description, rotation_id)
        self._attr_device_info = rotation_device_info(runtime, rotation_id)
