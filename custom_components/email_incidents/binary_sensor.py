"""Binary sensors: a problem per alert source; the listener running."""

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

from .entity import EmailIncidentsEntity, async_add_source_entities
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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([EmailIncidentsBinarySensor(entry.runtime_data, RUNNING)])
    async_add_source_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [EmailIncidentsBinarySensor(runtime, PROBLEM, source_id)],
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
