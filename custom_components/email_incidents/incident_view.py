"""An incident as the panel, the card and `get_incidents` show it: a summary, and in detail its
e-mails (bodies read from disk) and its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .const import incident_url
from .core.models import Actor, EmailRecord, Incident, LogKind

UNREADABLE_EMAIL: Final = "[e-mail not available: {error}]"

if TYPE_CHECKING:
    from .runtime import EmailIncidentsRuntime


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def actor_name(actor: Actor | None) -> str | None:
    """A user's or rule's name, else what acted (timeout, heartbeat, ...)."""
    return (actor.name or actor.kind.value) if actor is not None else None


def incident_summary(runtime: EmailIncidentsRuntime, incident: Incident) -> dict[str, Any]:
    """What a list of incidents shows of one."""
    escalation = incident.escalation
    return {
        "id": incident.id,
        "source_id": incident.source_id,
        "source_name": runtime.source_name(incident.source_id),
        "status": incident.status.value,
        "summary": incident.summary,
        "key": incident.key,
        "priority": incident.priority.value,
        "created": incident.created.isoformat(),
        "last_email": _iso(incident.last_email),
        "accepted_at": _iso(incident.accepted),
        "accepted_by": actor_name(incident.accepted_by),
        "resolved_at": _iso(incident.resolved),
        "resolved_by": actor_name(incident.resolved_by),
        "email_count": incident.email_count,
        "snoozed_until": _iso(escalation.snoozed_until if escalation is not None else None),
        "escalation_level": incident.escalation_level,
        "url": incident_url(incident.id),
    }


def incident_log(incident: Incident) -> list[dict[str, Any]]:
    """The timeline, oldest first."""
    # An e-mail with the incident's own sender and subject is logged without text.
    same_email = f"{incident.from_address}: {incident.summary}"
    return [
        {
            "kind": entry.kind.value,
            "time": entry.at.isoformat(),
            "text": entry.message or (same_email if entry.kind is LogKind.EMAIL else ""),
            "actor": actor_name(entry.actor),
        }
        for entry in incident.log
    ]


async def async_incident_emails(
    runtime: EmailIncidentsRuntime, incident: Incident
) -> list[dict[str, Any]]:
    """The e-mails the incident keeps, oldest first, with their bodies."""
    created = incident.created
    return [
        _email_data(email)
        if isinstance(email, EmailRecord)
        else _email_data(
            EmailRecord(
                received=created,
                from_address="",
                to=(),
                subject="",
                message_id="",
                attachments=(),
                body=UNREADABLE_EMAIL.format(error=email),
            )
        )
        for email in await runtime.async_read_emails(incident.emails)
    ]


def _email_data(email: EmailRecord) -> dict[str, Any]:
    return {
        "received": email.received.isoformat(),
        "from": email.from_address,
        "to": list(email.to),
        "subject": email.subject,
        "message_id": email.message_id or None,
        "attachments": [
            {"name": item.filename, "content_type": item.content_type, "size": item.size}
            for item in email.attachments
        ],
        "body": email.body,
        "body_truncated": email.body_truncated,
    }
