"""Base entity: the listener's device or an alert source's device, updated on every change."""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN, SIGNAL_STATE_CHANGED
from .core.config import SourceConfig
from .runtime import EmailIncidentsRuntime

MANUFACTURER = "Email Incidents"


class EmailIncidentsEntity(Entity):
    """Belongs to the listener device, or to an alert source's device when `source_id` is set."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        runtime: EmailIncidentsRuntime,
        description: EntityDescription,
        source_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.entity_description = description
        self.source_id = source_id
        entry_id = runtime.entry.entry_id
        self._attr_unique_id = f"{source_id or entry_id}_{description.key}"
        if source_id is None:
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, entry_id)},
                name="Email Incidents listener",
                manufacturer=MANUFACTURER,
                model="LMTP listener" if runtime.settings.lmtp else "SMTP listener",
                entry_type=DeviceEntryType.SERVICE,
            )
        else:
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, source_id)},
                name=runtime.source_name(source_id),
                manufacturer=MANUFACTURER,
                model="Alert source",
                entry_type=DeviceEntryType.SERVICE,
                via_device=(DOMAIN, entry_id),
            )

    @property
    def source(self) -> SourceConfig:
        assert self.source_id is not None
        return self.runtime.engine.sources[self.source_id]

    @property
    def available(self) -> bool:
        return self.runtime.listener is not None and self.runtime.listener.running

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_STATE_CHANGED.format(self.runtime.entry.entry_id),
                self._async_state_changed,
            )
        )

    @callback
    def _async_state_changed(self) -> None:
        self.async_write_ha_state()
