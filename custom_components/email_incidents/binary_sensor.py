"""Binary sensors: a problem per alert source; the listener running; a mailbox connected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_MAILBOX, SUBENTRY_SOURCE
from .entity import (
    EmailIncidentsEntity,
    MailboxEntity,
    async_add_subentry_entities,
)
from .runtime import EmailIncidentsConfigEntry, EmailIncidentsRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EmailIncidentsBinarySensorDescription(BinarySensorEntityDescription):
    """`source_id` is None for the listener's own sensor."""

    is_on_fn: Callable[[EmailIncidentsRuntime, str | None], bool]


PROBLEM = EmailIncidentsBinarySensorDescription(
    key="problem",
    translation_key="problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    is_on_fn=lambda runtime, source_id: bool(source_id and runtime.engine.open_count(source_id)),
)
RUNNING = EmailIncidentsBinarySensorDescription(
    key="running",
    translation_key="running",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    is_on_fn=lambda runtime, _source_id: runtime.listener is not None and runtime.listener.running,
)
CONNECTED = BinarySensorEntityDescription(
    key="connected",
    translation_key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([EmailIncidentsBinarySensor(entry.runtime_data, RUNNING)])
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [EmailIncidentsBinarySensor(runtime, PROBLEM, source_id)],
        SUBENTRY_SOURCE,
    )
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, mailbox_id: [MailboxConnectedSensor(runtime, CONNECTED, mailbox_id)],
        SUBENTRY_MAILBOX,
    )


class EmailIncidentsBinarySensor(EmailIncidentsEntity, BinarySensorEntity):
    entity_description: EmailIncidentsBinarySensorDescription

    @property
    def available(self) -> bool:
        # The running sensor reports the listener being down instead of going unavailable.
        return self.entity_description is RUNNING or super().available

    @property
    def is_on(self) -> bool:
        return self.entity_description.is_on_fn(self.runtime, self.source_id)


class MailboxConnectedSensor(MailboxEntity, BinarySensorEntity):
    """On while the mailbox's server is connected and its folder selected."""

    @property
    def is_on(self) -> bool:
        return self.reader is not None and self.reader.status.connected

    @property
    def extra_state_attributes(self) -> dict[str, str]:
        # Why it is not connected, as the flow's error names it (invalid_auth, cannot_connect).
        error = self.reader.status.error if self.reader is not None else ""
        return {"error": error} if error else {}
