"""Maintenance switch per alert source: e-mails are counted and logged, nothing opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import EmailIncidentsEntity, async_add_source_entities
from .runtime import EmailIncidentsConfigEntry
from .services import async_apply_change

PARALLEL_UPDATES = 1

MAINTENANCE = SwitchEntityDescription(
    key="maintenance", translation_key="maintenance", entity_category=EntityCategory.CONFIG
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_source_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [MaintenanceSwitch(runtime, MAINTENANCE, source_id)],
    )


class MaintenanceSwitch(EmailIncidentsEntity, SwitchEntity):
    """Stored with the incidents, so it survives restarts."""

    @property
    def is_on(self) -> bool:
        assert self.source_id is not None
        return self.runtime.engine.in_maintenance(self.source_id)

    @property
    def extra_state_attributes(self) -> dict[str, str]:
        """When a maintenance window ends by itself (start_maintenance)."""
        assert self.source_id is not None
        ends = self.runtime.engine.maintenance_ends(self.source_id)
        return {"ends": ends.isoformat()} if ends is not None and self.is_on else {}

    async def _async_set(self, enabled: bool) -> None:
        source_id = self.source_id
        assert source_id is not None

        def change(now: datetime) -> None:
            self.runtime.engine.set_maintenance(source_id, enabled, now)

        await async_apply_change(self.runtime, change)

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_set(False)
