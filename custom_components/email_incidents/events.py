"""Bus events: the payloads automations read, kept small (the recorder caps events at 32 KiB)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback

from .const import EVENT_EMAIL_RECEIVED, EVENT_INCIDENT_PREFIX
from .core.engine import IncidentEvent, SourceOutcome
from .core.models import InboundEmail, Incident
from .core.text import clean_text

if TYPE_CHECKING:
    from .runtime import EmailIncidentsRuntime

DETAILS_EXCERPT_CHARS = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def incident_data(runtime: EmailIncidentsRuntime, incident: Incident) -> dict[str, Any]:
    """An incident as events, actions and entity attributes show it."""
    return {
        "incident_id": incident.id,
        "source_id": incident.source_id,
        "source_name": runtime.source_name(incident.source_id),
        "device_id": runtime.device_id(incident.source_id),
        "status": incident.status.value,
        "summary": incident.summary,
        "key": incident.key,
        "priority": incident.priority.value,
        "from": incident.from_address,
        "email_count": incident.email_count,
        "created": _iso(incident.created),
        "last_email": _iso(incident.last_email),
        "accepted": _iso(incident.accepted),
        "resolved": _iso(incident.resolved),
        "accepted_by": incident.accepted_by.name or incident.accepted_by.kind.value
        if incident.accepted_by
        else None,
        "resolved_by": incident.resolved_by.name or incident.resolved_by.kind.value
        if incident.resolved_by
        else None,
    }


def incident_event_data(runtime: EmailIncidentsRuntime, event: IncidentEvent) -> dict[str, Any]:
    data = incident_data(runtime, event.incident)
    data["details"] = clean_text(event.incident.details, DETAILS_EXCERPT_CHARS)
    if event.actor is not None:
        data["actor"] = event.actor.name or event.actor.kind.value
    if event.email is not None:
        data["email_subject"] = event.email.subject
        data["email_from"] = event.email.from_address
    if event.level is not None:
        data["level"] = event.level
        data["targets"] = list(event.targets)
        data["round"] = event.round
    return data


@callback
def async_fire_incident_event(runtime: EmailIncidentsRuntime, event: IncidentEvent) -> None:
    runtime.hass.bus.async_fire(
        f"{EVENT_INCIDENT_PREFIX}{event.type.value}", incident_event_data(runtime, event)
    )


@callback
def async_fire_email_received(
    runtime: EmailIncidentsRuntime,
    email: InboundEmail,
    client: str,
    outcomes: tuple[SourceOutcome, ...],
    received: datetime,
) -> None:
    runtime.hass.bus.async_fire(
        EVENT_EMAIL_RECEIVED,
        {
            "message_id": email.message_id,
            "from": email.from_address,
            "subject": email.subject,
            "client": client,
            "recipients": list(email.envelope_recipients),
            "received": received.isoformat(),
            "size": email.size,
            "outcomes": [
                {
                    "source_id": outcome.source_id,
                    "source_name": runtime.source_name(outcome.source_id),
                    "outcome": outcome.outcome.value,
                    "incident_ids": list(outcome.incident_ids),
                    "key": outcome.key,
                }
                for outcome in outcomes
            ],
        },
    )
