"""Bus events: the payloads automations read, kept small (the recorder caps events at 32 KiB)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from homeassistant.core import HomeAssistant, callback

from .const import EVENT_EMAIL_RECEIVED, EVENT_INCIDENT_PREFIX, incident_url
from .core.models import Actor, InboundEmail, Incident
from .core.outcomes import IncidentEvent, SourceOutcome
from .core.text import clean_text

DETAILS_EXCERPT_CHARS = 500
# Whatever the e-mail, an event stays far below the recorder's 32 KiB and an entity's
# attributes below 16 KiB: each text an e-mail controls is cut (visibly) and lists are capped.
TEXT_CHARS = 1000
ADDRESS_CHARS = 320
LIST_ITEMS = 20
CUT_MARK = " [… cut]"


def cut(value: str | None, limit: int = TEXT_CHARS) -> str | None:
    """`value` at most `limit` characters long, a cut marked at its end."""
    if value is None or len(value) <= limit:
        return value
    return value[: limit - len(CUT_MARK)] + CUT_MARK


def cut_list(values: Iterable[str], limit: int = ADDRESS_CHARS) -> list[str]:
    """At most LIST_ITEMS values, each cut to `limit`; the last item says how many more."""
    items = list(values)
    if len(items) > LIST_ITEMS:
        items[LIST_ITEMS - 1 :] = [f"[… {len(items) - LIST_ITEMS + 1} more]"]
    return [text for item in items if (text := cut(item, limit)) is not None]


class SourceDirectory(Protocol):
    """How an alert source is named and which device it is (the runtime answers)."""

    def source_name(self, source_id: str) -> str: ...

    def device_id(self, source_id: str) -> str | None: ...


def _actor_name(actor: Actor | None) -> str | None:
    return cut(actor.name or actor.kind.value, ADDRESS_CHARS) if actor is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def incident_data(sources: SourceDirectory, incident: Incident) -> dict[str, Any]:
    """An incident as events, actions and entity attributes show it."""
    return {
        "incident_id": incident.id,
        "source_id": incident.source_id,
        "source_name": sources.source_name(incident.source_id),
        "device_id": sources.device_id(incident.source_id),
        "status": incident.status.value,
        "summary": cut(incident.summary),
        "key": cut(incident.key),
        "priority": incident.priority.value,
        "from": cut(incident.from_address, ADDRESS_CHARS),
        "email_count": incident.email_count,
        "created": _iso(incident.created),
        "last_email": _iso(incident.last_email),
        "accepted": _iso(incident.accepted),
        "resolved": _iso(incident.resolved),
        "accepted_by": _actor_name(incident.accepted_by),
        "resolved_by": _actor_name(incident.resolved_by),
        "url": incident_url(incident.id),
    }


def incident_event_data(sources: SourceDirectory, event: IncidentEvent) -> dict[str, Any]:
    data = incident_data(sources, event.incident)
    data["details"] = clean_text(event.details, DETAILS_EXCERPT_CHARS)
    if event.actor is not None:
        data["actor"] = _actor_name(event.actor)
    if event.email is not None:
        data["email_subject"] = cut(event.email.subject)
        data["email_from"] = cut(event.email.from_address, ADDRESS_CHARS)
    if event.level is not None:
        data["level"] = event.level
        data["targets"] = cut_list(event.targets)
        data["round"] = event.round
        # Sent now, or held for the target's summary (bundling); critical rings through DND.
        data["bundled"] = cut_list(event.bundled)
        data["critical"] = event.critical
    return data


@callback
def async_fire_incident_event(
    hass: HomeAssistant, sources: SourceDirectory, event: IncidentEvent
) -> None:
    hass.bus.async_fire(
        f"{EVENT_INCIDENT_PREFIX}{event.type.value}", incident_event_data(sources, event)
    )


@callback
def async_fire_email_received(
    hass: HomeAssistant,
    sources: SourceDirectory,
    email: InboundEmail,
    client: str,
    outcomes: tuple[SourceOutcome, ...],
    received: datetime,
) -> None:
    bus = hass.bus
    # Only when something listens for it by name (an automation, a script waiting for it, a
    # subscription): the recorder, which listens to every event, would otherwise store a row
    # for each e-mail that nobody reads, hundreds a second in an alert storm.
    if not bus.async_listeners().get(EVENT_EMAIL_RECEIVED):
        return
    bus.async_fire(
        EVENT_EMAIL_RECEIVED,
        {
            "message_id": cut(email.message_id),
            "from": cut(email.from_address, ADDRESS_CHARS),
            "subject": cut(email.subject),
            "client": client,
            "recipients": cut_list(email.envelope_recipients),
            "received": received.isoformat(),
            "size": email.size,
            "outcomes": [
                {
                    "source_id": outcome.source_id,
                    "source_name": sources.source_name(outcome.source_id),
                    "outcome": outcome.outcome.value,
                    "incident_ids": list(outcome.incident_ids),
                    "key": cut(outcome.key),
                }
                for outcome in outcomes
            ],
        },
    )
