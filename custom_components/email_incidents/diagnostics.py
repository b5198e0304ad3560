"""Diagnostics: settings without secrets, counters, recent e-mails without bodies, incidents.

Personal data is redacted: passwords, user names, e-mail addresses (also inside subjects and
keys) and the IP addresses of clients."""

from __future__ import annotations

from collections import Counter
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_AUTH_PASSWORD, CONF_AUTH_USERNAME
from .recent import RecentEmail
from .runtime import EmailIncidentsConfigEntry

TO_REDACT = {CONF_AUTH_PASSWORD, CONF_AUTH_USERNAME}
# A mailbox's server, login and password identify a person's account.
SUBENTRY_TO_REDACT = {"addresses", "host", "username", "password"}


def _without_addresses(text: str | None) -> str | None:
    """Every word with an `@` redacted: linear in the text, however hostile (a pattern that
    looks for addresses in a long run without spaces would take quadratic time)."""
    if text is None:
        return None
    return " ".join(REDACTED if "@" in word else word for word in text.split(" "))


def _recent_email(recent: RecentEmail) -> dict[str, Any]:
    email = recent.email
    return {
        "received": recent.received.isoformat(),
        "client": REDACTED,
        "mail_from": REDACTED,
        "rcpt_tos": REDACTED,
        "from": REDACTED,
        "subject": _without_addresses(email.subject),
        "size": email.size,
        "attachments": len(email.attachments),
        "defects": [_without_addresses(defect) for defect in email.defects],
        "refusal": recent.refusal,
        "outcomes": [
            {
                "source_id": outcome.source_id,
                "outcome": outcome.outcome.value,
                "incident_ids": list(outcome.incident_ids),
                "key": _without_addresses(outcome.key),
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
                "data": async_redact_data(dict(subentry.data), SUBENTRY_TO_REDACT),
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
        "mailboxes": {
            mailbox_id: {
                "connected": reader.status.connected,
                "error": reader.status.error,
                "last_check": reader.status.last_check.isoformat()
                if reader.status.last_check
                else None,
                "mark": [mark.uidvalidity, mark.uid, len(mark.unflagged)]
                if (mark := engine.state.mailbox_marks.get(mailbox_id))
                else None,
            }
            for mailbox_id, reader in runtime.mailboxes.items()
        },
        "counters": dict(engine.state.counters),
        "maintenance": sorted(filter(engine.in_maintenance, engine.sources)),
        "incidents": {source_id: dict(counts) for source_id, counts in incidents.items()},
        "recent_emails": [_recent_email(recent) for recent in reversed(runtime.recent)],
    }
