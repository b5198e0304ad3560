"""Event entity per alert source: created, updated, accepted, resolved, escalated."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_SOURCE
from .core.outcomes import IncidentEvent, IncidentEventType
from .entity import BURST_WRITE_INTERVAL, EmailIncidentsEntity, async_add_subentry_entities
from .events import cut
from .runtime import EmailIncidentsConfigEntry

PARALLEL_UPDATES = 0

INCIDENT_EVENTS = EventEntityDescription(
    key="incident_events",
    translation_key="incident_events",
    event_types=[event_type.value for event_type in IncidentEventType],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [IncidentEventEntity(runtime, INCIDENT_EVENTS, source_id)],
        SUBENTRY_SOURCE,
    )


class IncidentEventEntity(EmailIncidentsEntity, EventEntity):
    """Fires with the incident in its attributes, for automations and the logbook.

    An incident that takes e-mails by the hundred (an alert storm into one incident) would
    write a state, a row in the recorder's database, for each: during a burst the entity shows
    an incident's `updated` at most once a second, the latest. Every other event, another
    incident's update, and the bus event `email_incidents_incident_updated` for every e-mail are
    never held back.
    """

    # What tells one incident from the next stays out of the recorder's database: the
    # incident's own bus event, recorded next to this state, carries all of it.
    _unrecorded_attributes = frozenset({"incident_id", "summary", "key", "email_count"})
    # The incident and loop time of the last `updated` shown, and the newer one held back.
    _last_update: tuple[str, float] | None = None
    _held_update: dict[str, Any] | None = None
    _held_update_timer: asyncio.TimerHandle | None = None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.runtime.incident_listeners.append(self._async_incident_event)
        self.async_on_remove(
            lambda: self.runtime.incident_listeners.remove(self._async_incident_event)
        )
        self.async_on_remove(self._cancel_held_update)

    @callback
    def _async_incident_event(self, event: IncidentEvent) -> None:
        if event.incident.source_id != self.source_id:
            return
        incident = event.incident
        attributes: dict[str, Any] = {
            "incident_id": incident.id,
            "summary": cut(incident.summary),
            "status": incident.status.value,
            "key": cut(incident.key),
            "priority": incident.priority.value,
            "email_count": incident.email_count,
        }
        if event.level is not None:
            attributes["level"] = event.level
        now = self.hass.loop.time()
        if event.type is IncidentEventType.UPDATED and self._last_update is not None:
            shown_incident, shown_at = self._last_update
            if shown_incident == incident.id and now - shown_at < BURST_WRITE_INTERVAL:
                self._held_update = attributes
                if self._held_update_timer is None:
                    self._held_update_timer = self.hass.loop.call_at(
                        shown_at + BURST_WRITE_INTERVAL, self._show_held_update
                    )
                return
        self._show_held_update()  # it came first
        self._show(event.type.value, attributes)

    @callback
    def _show_held_update(self) -> None:
        self._cancel_held_update()
        if (attributes := self._held_update) is not None:
            self._held_update = None
            self._show(IncidentEventType.UPDATED.value, attributes)

    def _show(self, event_type: str, attributes: dict[str, Any]) -> None:
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
        self._last_update = (
            (attributes["incident_id"], self.hass.loop.time())
            if event_type == IncidentEventType.UPDATED.value
            else None
        )

    @callback
    def _cancel_held_update(self) -> None:
        if self._held_update_timer is not None:
            self._held_update_timer.cancel()
            self._held_update_timer = None
