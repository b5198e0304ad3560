"""Event entity per alert source: created, updated, accepted, resolved, escalated."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .core.outcomes import IncidentEvent, IncidentEventType
from .entity import EmailIncidentsEntity, async_add_source_entities
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
    async_add_source_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [IncidentEventEntity(runtime, INCIDENT_EVENTS, source_id)],
    )


class IncidentEventEntity(EmailIncidentsEntity, EventEntity):
    """Fires with the incident in its attributes, for automations and the logbook."""

    # What tells one incident from the next stays out of the recorder's database: the
    # incident's own bus event, recorded next to this state, carries all of it.
    _unrecorded_attributes = frozenset({"incident_id", "summary", "key", "email_count"})

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.runtime.incident_listeners.append(self._async_incident_event)
        self.async_on_remove(
            lambda: self.runtime.incident_listeners.remove(self._async_incident_event)
        )

    @callback
    def _async_incident_event(self, event: IncidentEvent) -> None:
        if event.incident.source_id != self.source_id:
            return
        incident = event.incident
        attributes = {
            "incident_id": incident.id,
            "summary": cut(incident.summary),
            "status": incident.status.value,
            "key": cut(incident.key),
            "priority": incident.priority.value,
            "email_count": incident.email_count,
        }
        if event.level is not None:
            attributes["level"] = event.level
        self._trigger_event(event.type.value, attributes)
        self.async_write_ha_state()
