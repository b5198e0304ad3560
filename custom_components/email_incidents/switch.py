"""Maintenance switch per alert source: e-mails are counted and logged, nothing opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_SOURCE
from .entity import EmailIncidentsEntity, async_add_subentry_entities
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
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [MaintenanceSwitch(runtime, MAINTENANCE, source_id)],
        SUBENTRY_SOURCE,
    )


class MaintenanceSwitch(EmailIncidentsEntity, SwitchEntity):
    """Stored with the incidents, so it survives restarts. Turned on, it stays on until turned
    off, or, when the source has a default maximum, ends by itself after it."""

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
        engine = self.runtime.engine

        def change(now: datetime) -> None:
            until = None
            if enabled and not engine.in_maintenance(source_id):
                # The source's default maximum, if it has one, makes it a window; maintenance
                # that is on already keeps its end (or none), also when the option changed.
                source = engine.sources.get(source_id)
                if source is not None and source.maintenance_max is not None:
                    until = now + source.maintenance_max
            engine.set_maintenance(source_id, enabled, now, until)

        await async_apply_change(self.runtime, change)

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_set(False)
