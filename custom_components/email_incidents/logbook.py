"""The logbook tells what happened to incidents: "NAS: INC-42 'disk full' accepted by Anna"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.logbook.models import LazyEventPartialState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.translation import async_get_cached_translations

from .const import DOMAIN, EVENT_INCIDENT_PREFIX
from .core.outcomes import IncidentEventType

TEXTS: Final = f"component.{DOMAIN}.selector.logbook.options"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[
        [str, str, Callable[[LazyEventPartialState], dict[str, Any]]], None
    ],
) -> None:
    """Describe every incident event."""

    @callback
    def _describe(event: LazyEventPartialState) -> dict[str, Any]:
        data = event.data
        event_type = str(event.event_type).removeprefix(EVENT_INCIDENT_PREFIX)
        # Loaded at start by the panel's registration, in Home Assistant's language.
        texts = async_get_cached_translations(hass, hass.config.language, "selector", DOMAIN)
        template = texts.get(f"{TEXTS}.{event_type}") or texts.get(f"{TEXTS}.updated", "")
        if data.get("actor") and (by := texts.get(f"{TEXTS}.by")):
            template += by
        return {
            LOGBOOK_ENTRY_NAME: data.get("source_name") or DOMAIN,
            LOGBOOK_ENTRY_MESSAGE: template.format(
                incident=data.get("incident_id", ""),
                summary=data.get("summary", ""),
                actor=data.get("actor", ""),
                level=data.get("level", ""),
            ),
        }

    for event_type in IncidentEventType:
        async_describe_event(DOMAIN, f"{EVENT_INCIDENT_PREFIX}{event_type.value}", _describe)
