"""What the incident engine reports: each e-mail's outcome per alert source, the events of the
incidents it changed, and the error of an action that cannot be done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .models import Actor, InboundEmail, Incident


class Outcome(StrEnum):
    """What one e-mail did for one alert source."""

    DUPLICATE = "duplicate"
    MAINTENANCE = "maintenance"
    FILTERED = "filtered"
    CREATED = "created"
    APPENDED = "appended"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    ORPHAN_RESOLVE = "orphan_resolve"
    ORPHAN_ACCEPT = "orphan_accept"
    IGNORED_NO_KEY = "ignored_no_key"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceOutcome:
    source_id: str
    outcome: Outcome
    incident_ids: tuple[str, ...] = ()
    key: str | None = None


class IncidentEventType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    SNOOZED = "snoozed"
    UNACCEPTED = "unaccepted"


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentEvent:
    """Something happened to an incident; `incident` is the live object."""

    type: IncidentEventType
    incident: Incident
    at: datetime
    actor: Actor | None = None
    email: InboundEmail | None = None
    level: int | None = None
    targets: tuple[str, ...] = ()
    round: int = 0
    # The incident's details as they were (a resolved incident's are dropped).
    details: str = ""
    # Of an escalation level: the targets whose notification waits for their summary
    # (bundling), and whether the level's notifications are critical.
    bundled: tuple[str, ...] = ()
    critical: bool = False


def incident_event(
    event_type: IncidentEventType,
    incident: Incident,
    now: datetime,
    *,
    actor: Actor | None = None,
    email: InboundEmail | None = None,
) -> IncidentEvent:
    return IncidentEvent(
        type=event_type,
        incident=incident,
        at=now,
        actor=actor,
        email=email,
        details=incident.details,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    outcomes: tuple[SourceOutcome, ...]
    events: tuple[IncidentEvent, ...]


class IncidentError(Exception):
    """An action on an incident that cannot be done; `reason` is a translation key."""

    def __init__(
        self, reason: str, *, incident_id: str | None = None, source_id: str | None = None
    ) -> None:
        super().__init__(f"{reason}: {incident_id or source_id}")
        self.reason = reason
        self.incident_id = incident_id
        self.source_id = source_id
