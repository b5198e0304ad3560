"""Diagnostics: settings without secrets, counters, recent e-mails without bodies, incidents."""

from __future__ import annotations

from collections import Counter
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_AUTH_PASSWORD, CONF_AUTH_USERNAME
from .runtime import EmailIncidentsConfigEntry, RecentEmail

TO_REDACT = {CONF_AUTH_PASSWORD, CONF_AUTH_USERNAME}


def _recent_email(recent: RecentEmail) -> dict[str, Any]:
    email = recent.email
    return {
        "received": recent.received.isoformat(),
        "client": recent.client,
        "mail_from": recent.mail_from,
        "rcpt_tos": list(recent.rcpt_tos),
        "from": email.from_address,
        "subject": email.subject,
        "size": email.size,
        "attachments": len(email.attachments),
        "defects": list(email.defects),
        "refusal": recent.refusal,
        "outcomes": [
            {
                "source_id": outcome.source_id,
                "outcome": outcome.outcome.value,
                "incident_ids": list(outcome.incident_ids),
                "key": outcome.key,
            }
            for outcome in recent.outcomes
        ],
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EmailIncidentsConfigEntry
) -> dict[str, Any]:
    runtime = entry.runtime_data
    engine = runtime.engine
    listener = runtime.listener
    incidents: dict[str, Counter[str]] = {}
    for incident in engine.incidents():
        incidents.setdefault(incident.source_id, Counter())[incident.status.value] += 1
    return {
        "settings": async_redact_data(dict(entry.data), TO_REDACT),
        "subentries": [
            {
                "subentry_id": subentry_id,
                "type": subentry.subentry_type,
                "title": subentry.title,
                "data": dict(subentry.data),
            }
            for subentry_id, subentry in entry.subentries.items()
        ],
        "listener": {
            "running": listener is not None and listener.running,
            "addresses": [f"{host}:{port}" for host, port in listener.addresses]
            if listener
            else [],
            "sessions": len(listener.sessions) if listener else 0,
        },
        "counters": dict(engine.state.counters),
        "maintenance": sorted(filter(engine.in_maintenance, engine.sources)),
        "incidents": {source_id: dict(counts) for source_id, counts in incidents.items()},
        "recent_emails": [_recent_email(recent) for recent in reversed(runtime.recent)],
    }
