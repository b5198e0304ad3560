"""The engine's whole state and its JSON form, with schema versions and migrations.

The data built here holds new containers only (no list or dict of the live state is shared), so
it can be encoded on another thread while the engine goes on changing the state. Besides the
whole state (`state_to_data`), the state hands out what changed since it was last asked
(`take_changes`), so that a write can carry only that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
import sys
from typing import Any, Final

from .models import (
    Actor,
    ActorKind,
    Attachment,
    EmailRecord,
    EmailRef,
    EscalationState,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
    Priority,
)
from .rotation import OnCallOverride
from .statistics import IncidentStatistics

SCHEMA_VERSION: Final = 2
INCIDENT_ID_PREFIX: Final = "INC-"


class StateError(ValueError):
    """Stored data that cannot be read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxMark:
    """How far a mailbox's folder has been taken: its UIDVALIDITY, the highest UID done, and
    the UIDs taken whose after-step (mark seen, move, delete) is not confirmed yet."""

    uidvalidity: int
    uid: int
    unflagged: tuple[int, ...] = ()


@dataclass(slots=True, kw_only=True)
class EngineState:
    """Everything that must survive a restart."""

    incidents: dict[str, Incident] = field(default_factory=dict)
    next_number: int = 1
    counters: dict[str, int] = field(default_factory=dict)
    source_last_email: dict[str, datetime] = field(default_factory=dict)
    maintenance: set[str] = field(default_factory=set)
    support_hours_off: set[str] = field(default_factory=set)
    recent_message_ids: dict[str, datetime] = field(default_factory=dict)
    heartbeat_anchor: dict[str, datetime] = field(default_factory=dict)
    # When a source's maintenance window ends by itself.
    maintenance_until: dict[str, datetime] = field(default_factory=dict)
    mailbox_marks: dict[str, MailboxMark] = field(default_factory=dict)
    # Incidents opened and the times to accept and resolve per source, kept up to date by
    # every change (reading them passes over no incident).
    statistics: IncidentStatistics = field(default_factory=IncidentStatistics)
    # Members put on call by hand, per rotation.
    on_call_overrides: dict[str, OnCallOverride] = field(default_factory=dict)
    # Not yet taken by `take_changes`: the incidents created, changed or removed, in that
    # order (a dict as an ordered set, so new incidents keep their creation order), and the
    # Message-IDs recorded.
    unsaved_incidents: dict[str, None] = field(default_factory=dict, compare=False, repr=False)
    unsaved_message_ids: list[str] = field(default_factory=list, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanges:
    """What changed since the previous `take_changes`, as JSON-able data."""

    meta: dict[str, Any]
    # The records of created or changed incidents; None for a removed one.
    incidents: dict[str, dict[str, Any] | None]
    message_ids: dict[str, str]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@lru_cache(maxsize=4096)
def _log_time_text(value: datetime, _offset: timedelta | None) -> str:
    """A log entry's time as text. An incident's record is encoded again with every change,
    with up to 100 log entries: their times are written out once each, not every time (a
    quarter of an appended e-mail's cost). Keyed by the offset too: equal instants in other
    time zones read differently."""
    return value.isoformat()


# Thousands of stored incidents are read at start, each with several equal times (created and
# its first log entry, ...) and actors (an e-mail's sender, a user) and the same sender
# addresses: equal values share one object instead of one each.
_shared_time = lru_cache(maxsize=64)(datetime.fromisoformat)
_shared_text = sys.intern


def _parse_time(value: str | None) -> datetime | None:
    return _shared_time(value) if value else None


@lru_cache(maxsize=1024)
def _shared_actor(kind: str, name: str) -> Actor:
    return Actor(kind=ActorKind(kind), name=_shared_text(name))


def _actor(actor: Actor | None) -> list[str] | None:
    return [actor.kind.value, actor.name] if actor is not None else None


def _parse_actor(value: list[str] | None) -> Actor | None:
    return _shared_actor(value[0], value[1]) if value else None


def email_to_data(email: EmailRecord) -> list[Any]:
    """An e-mail as a JSON-able list (on disk, or in an incident's record)."""
    return [
        email.received.isoformat(),
        email.from_address,
        list(email.to),
        email.subject,
        email.message_id,
        [[item.filename, item.content_type, item.size] for item in email.attachments],
        email.body,
        email.body_truncated,
    ]


def email_from_data(data: list[Any]) -> EmailRecord:
    received, from_address, to, subject, message_id, attachments, body, truncated = data
    return EmailRecord(
        received=datetime.fromisoformat(received),
        from_address=from_address,
        to=tuple(to),
        subject=subject,
        message_id=message_id,
        attachments=tuple(
            Attachment(filename=name, content_type=content_type, size=size)
            for name, content_type, size in attachments
        ),
        body=body,
        body_truncated=truncated,
    )


def incident_to_data(incident: Incident) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": incident.id,
        "source": incident.source_id,
        "status": incident.status.value,
        "summary": incident.summary,
        "priority": incident.priority.value,
        "created": incident.created.isoformat(),
        "emails": incident.email_count,
        "log": [
            [
                _log_time_text(entry.at, entry.at.utcoffset()),
                entry.kind.value,
                entry.message,
                _actor(entry.actor),
            ]
            for entry in incident.log
        ],
    }
    optional = {
        "details": incident.details,
        "from": incident.from_address,
        "last_email": _time(incident.last_email),
        "accepted": _time(incident.accepted),
        "resolved": _time(incident.resolved),
        "accepted_by": _actor(incident.accepted_by),
        "resolved_by": _actor(incident.resolved_by),
        "log_dropped": incident.log_dropped,
        "emails_omitted": incident.emails_omitted,
        "escalation_level": incident.escalation_level,
        # Lists, not mappings: every incident's record is kept encoded in memory.
        "email_records": [
            list(email) if isinstance(email, EmailRef) else email_to_data(email)
            for email in incident.emails
        ],
    }
    data.update((name, value) for name, value in optional.items() if value)
    if incident.key is not None:  # an empty key is still a key
        data["key"] = incident.key
    if (escalation := incident.escalation) is not None:
        data["escalation"] = {
            "policy": escalation.policy_id,
            "level": escalation.next_level,
            "round": escalation.round,
            "due": _time(escalation.due),
        }
        if escalation.snoozed_until is not None:
            data["escalation"]["snoozed_until"] = escalation.snoozed_until.isoformat()
    return data


def incident_from_data(data: Mapping[str, Any]) -> Incident:
    escalation = data.get("escalation")
    summary = data["summary"]
    return Incident(
        id=data["id"],
        source_id=_shared_text(data["source"]),
        status=IncidentStatus(data["status"]),
        summary=summary,
        details=data.get("details", ""),
        key=data.get("key"),
        priority=Priority(data["priority"]),
        created=_shared_time(data["created"]),
        last_email=_parse_time(data.get("last_email")),
        accepted=_parse_time(data.get("accepted")),
        resolved=_parse_time(data.get("resolved")),
        accepted_by=_parse_actor(data.get("accepted_by")),
        resolved_by=_parse_actor(data.get("resolved_by")),
        from_address=_shared_text(data.get("from", "")),
        email_count=data.get("emails", 0),
        log=[
            LogEntry(
                at=_shared_time(at),
                kind=LogKind(kind),
                message=summary if message == summary else message,
                actor=_parse_actor(actor),
            )
            for at, kind, message, actor in data.get("log", ())
        ],
        log_dropped=data.get("log_dropped", 0),
        escalation=EscalationState(
            policy_id=escalation["policy"],
            next_level=escalation["level"],
            round=escalation["round"],
            due=_parse_time(escalation["due"]),
            snoozed_until=_parse_time(escalation.get("snoozed_until")),
        )
        if escalation
        else None,
        emails=[
            EmailRef(*email) if len(email) == len(EmailRef._fields) else email_from_data(email)
            for email in data.get("email_records", ())
        ],
        emails_omitted=data.get("emails_omitted", 0),
        escalation_level=data.get("escalation_level", 0),
    )


def meta_to_data(state: EngineState) -> dict[str, Any]:
    """Everything but the incidents and the Message-IDs, with the schema version: small enough
    to be written whole with every change."""
    return {
        "version": SCHEMA_VERSION,
        "next_number": state.next_number,
        "counters": dict(state.counters),
        "source_last_email": {
            key: value.isoformat() for key, value in state.source_last_email.items()
        },
        "maintenance": sorted(state.maintenance),
        "support_hours_off": sorted(state.support_hours_off),
        "heartbeat_anchor": {
            key: value.isoformat() for key, value in state.heartbeat_anchor.items()
        },
        "maintenance_until": {
            key: value.isoformat() for key, value in state.maintenance_until.items()
        },
        "mailbox_marks": {
            key: [mark.uidvalidity, mark.uid, list(mark.unflagged)]
            for key, mark in state.mailbox_marks.items()
        },
        "statistics": state.statistics.to_data(),
        "on_call_overrides": {
            key: [override.person, override.until.isoformat()]
            for key, override in state.on_call_overrides.items()
        },
    }


def state_to_data(state: EngineState) -> dict[str, Any]:
    """JSON-able data of the whole state, with its schema version."""
    return {
        **meta_to_data(state),
        "recent_message_ids": {
            key: value.isoformat() for key, value in state.recent_message_ids.items()
        },
        "incidents": [incident_to_data(incident) for incident in state.incidents.values()],
    }


def take_changes(state: EngineState, *, all_message_ids: bool = False) -> StateChanges:
    """What changed since the last call; the state starts counting afresh. With
    `all_message_ids`, every Message-ID still kept, not only the new ones (for a snapshot)."""
    unsaved, state.unsaved_incidents = state.unsaved_incidents, {}
    message_ids, state.unsaved_message_ids = state.unsaved_message_ids, []
    incidents = state.incidents
    seen = state.recent_message_ids
    return StateChanges(
        meta=meta_to_data(state),
        incidents={
            incident_id: incident_to_data(incident)
            if (incident := incidents.get(incident_id)) is not None
            else None
            for incident_id in unsaved
        },
        message_ids={
            message_id: seen[message_id].isoformat()
            for message_id in (seen if all_message_ids else message_ids)
            if message_id in seen
        },
    )


def _from_version_0(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (before releases) kept incidents in a mapping by id and no message ids."""
    incidents = data.get("incidents", {})
    data["incidents"] = list(incidents.values()) if isinstance(incidents, Mapping) else incidents
    data.setdefault("recent_message_ids", {})
    return data


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept no e-mails, only the first one's body as the details of an incident
    opened by an e-mail (one with a sender): that body becomes its first e-mail."""
    data["incidents"] = [_with_first_email(incident) for incident in data.get("incidents", ())]
    return data


def _with_first_email(incident: dict[str, Any]) -> dict[str, Any]:
    if not incident.get("from") or "email_records" in incident:
        return incident
    first = [
        incident["created"],
        incident["from"],
        [],
        incident["summary"],
        "",
        [],
        incident.get("details", ""),
        False,
    ]
    return {
        **incident,
        "email_records": [first],
        "emails_omitted": max(0, incident.get("emails", 1) - 1),
    }


MIGRATIONS: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    0: _from_version_0,
    1: _from_version_1,
}


def _after_highest_id(incidents: list[Incident]) -> int:
    numbers = (incident.id.removeprefix(INCIDENT_ID_PREFIX) for incident in incidents)
    return max((int(number) for number in numbers if number.isdecimal()), default=0) + 1


def state_from_data(data: Mapping[str, Any]) -> EngineState:
    """The state from stored data of this or an older schema; StateError if unusable."""
    try:
        migrated = dict(data)
        version = int(migrated.get("version", 0))
    except (TypeError, ValueError) as err:
        raise StateError(f"unreadable incident state: {err!r}") from err
    if not 0 <= version <= SCHEMA_VERSION:
        raise StateError(f"stored schema {version} is unknown to this release ({SCHEMA_VERSION})")
    stored_version = version
    try:
        while version < SCHEMA_VERSION:
            migrated = MIGRATIONS[version](migrated)
            version += 1
        incidents = [incident_from_data(item) for item in migrated.get("incidents", ())]
        state = EngineState(
            incidents={incident.id: incident for incident in incidents},
            # Ids are never reused, even if the stored counter is missing or behind.
            next_number=max(int(migrated.get("next_number", 1)), _after_highest_id(incidents)),
            counters={str(k): int(v) for k, v in migrated.get("counters", {}).items()},
            source_last_email={
                k: datetime.fromisoformat(v)
                for k, v in migrated.get("source_last_email", {}).items()
            },
            maintenance=set(migrated.get("maintenance", ())),
            support_hours_off=set(migrated.get("support_hours_off", ())),
            recent_message_ids={
                k: datetime.fromisoformat(v)
                for k, v in migrated.get("recent_message_ids", {}).items()
            },
            heartbeat_anchor={
                k: datetime.fromisoformat(v)
                for k, v in migrated.get("heartbeat_anchor", {}).items()
            },
            maintenance_until={
                k: datetime.fromisoformat(v)
                for k, v in migrated.get("maintenance_until", {}).items()
            },
            mailbox_marks={
                str(k): MailboxMark(
                    uidvalidity=int(v[0]), uid=int(v[1]), unflagged=tuple(int(u) for u in v[2])
                )
                for k, v in migrated.get("mailbox_marks", {}).items()
            },
            # A state stored before statistics were kept: built once from its incidents.
            statistics=IncidentStatistics.from_data(migrated["statistics"])
            if "statistics" in migrated
            else IncidentStatistics.from_incidents(incidents),
            on_call_overrides={
                str(k): OnCallOverride(person=str(v[0]), until=datetime.fromisoformat(v[1]))
                for k, v in migrated.get("on_call_overrides", {}).items()
            },
        )
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise StateError(f"unreadable incident state: {err!r}") from err
    if stored_version < SCHEMA_VERSION:
        # Every incident's record changed form: the next write carries them all.
        state.unsaved_incidents = dict.fromkeys(state.incidents)
    return state


def state_from_readable_data(data: Mapping[str, Any]) -> tuple[EngineState, int]:
    """The state from stored data, as much of it as can be used: if `state_from_data` refuses
    it (a damaged or edited file), every incident that reads and the other fields if they
    read, with how many records (the other fields counted as one) had to be left out."""
    try:
        return state_from_data(data), 0
    except StateError:
        pass
    skipped = 0
    statistics_read = "statistics" in data
    try:
        state = state_from_data({**data, "incidents": []})
    except StateError:
        state, skipped, statistics_read = EngineState(), 1, False
    stored = data.get("incidents")
    if isinstance(stored, Mapping):
        stored = list(stored.values())
    # A list, or the store's records decoded one at a time.
    if not isinstance(stored, Sequence) or isinstance(stored, str | bytes):
        stored = ()
    for item in stored:
        try:
            incident = incident_from_data(item)
        except (AttributeError, KeyError, TypeError, ValueError):
            skipped += 1
            continue
        state.incidents[incident.id] = incident
    state.next_number = max(state.next_number, _after_highest_id(list(state.incidents.values())))
    if not statistics_read:
        # As for a state stored before statistics were kept: from the incidents that read.
        state.statistics = IncidentStatistics.from_incidents(state.incidents.values())
    return state, skipped
