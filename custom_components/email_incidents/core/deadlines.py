"""When the incidents change by themselves: auto-resolve, escalation levels that are due, and
heartbeats (a source that has sent nothing for longer than expected).

The next deadline is asked for after every change, so each open incident's next moment is
kept and computed again only for the incidents the book says changed since.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from .book import IncidentBook
from .config import SourceConfig
from .lifecycle import Lifecycle
from .models import Actor, ActorKind, EscalationPolicy, Incident, IncidentStatus
from .outcomes import IncidentEvent, IncidentEventType, incident_event
from .state import EngineState
from .text import human_interval

HEARTBEAT_KEY: Final = "heartbeat"


def is_heartbeat(incident: Incident) -> bool:
    first = incident.log[0] if incident.log else None
    return (
        incident.key == HEARTBEAT_KEY
        and first is not None
        and first.actor is not None
        and first.actor.kind is ActorKind.HEARTBEAT
    )


def auto_resolve_at(source: SourceConfig | None, incident: Incident) -> datetime | None:
    if source is None or source.auto_resolve_after is None or is_heartbeat(incident):
        return None
    return incident.last_activity + source.auto_resolve_after


def ack_timeout_at(policy: EscalationPolicy | None, incident: Incident) -> datetime | None:
    """When an accepted incident goes back to pending, if its policy says so."""
    if (
        policy is None
        or policy.ack_timeout is None
        or incident.status is not IncidentStatus.ACCEPTED
        or incident.accepted is None
    ):
        return None
    return incident.accepted + policy.ack_timeout


def next_moment(
    source: SourceConfig | None, policy: EscalationPolicy | None, incident: Incident
) -> datetime | None:
    """When an open incident escalates, resolves by itself or goes back to pending, whichever
    comes first."""
    moments = [
        at
        for at in (
            incident.escalation.due if incident.escalation is not None else None,
            auto_resolve_at(source, incident),
            ack_timeout_at(policy, incident),
        )
        if at is not None
    ]
    return min(moments, default=None)


def heartbeat_at(
    source: SourceConfig, state: EngineState, open_incidents: Iterable[Incident]
) -> datetime | None:
    """When the source's "no e-mail" incident opens, given its open incidents."""
    if source.expected_interval is None or source.source_id in state.maintenance:
        return None
    if any(map(is_heartbeat, open_incidents)):
        return None
    anchors = [
        at
        for at in (
            state.source_last_email.get(source.source_id),
            state.heartbeat_anchor.get(source.source_id),
        )
        if at is not None
    ]
    return max(anchors) + source.expected_interval if anchors else None


class Deadlines:
    """Finds and runs what is due."""

    def __init__(self, book: IncidentBook, lifecycle: Lifecycle) -> None:
        self._book = book
        self._lifecycle = lifecycle
        self._moments: dict[str, datetime] = {}

    def forget_moments(self) -> None:
        """After the book indexed its open incidents anew (each counts as changed)."""
        self._moments = {}

    def _heartbeat_at(self, source: SourceConfig) -> datetime | None:
        heartbeats = self._book.open_with_key(source.source_id, HEARTBEAT_KEY)
        return heartbeat_at(source, self._book.state, heartbeats)

    def next_deadline(self) -> datetime | None:
        """The earliest escalation, auto-resolve or heartbeat moment, if any."""
        book = self._book
        for incident_id in book.changed_ids:
            incident = book.state.incidents.get(incident_id)
            moment = (
                None
                if incident is None or not incident.is_open
                else next_moment(
                    source := book.sources.get(incident.source_id),
                    book.policy_of(source),
                    incident,
                )
            )
            if moment is None:
                self._moments.pop(incident_id, None)
            else:
                self._moments[incident_id] = moment
        book.changed_ids.clear()
        heartbeats = (self._heartbeat_at(source) for source in book.sources.values())
        windows = min(book.state.maintenance_until.values(), default=None)
        return min(
            (at for at in (*heartbeats, windows, min(self._moments.values(), default=None)) if at),
            default=None,
        )

    def run_due(self, now: datetime) -> tuple[IncidentEvent, ...]:
        """Everything due at or before `now`: maintenance windows that end, auto-resolve,
        escalation levels, heartbeats."""
        book = self._book
        lifecycle = self._lifecycle
        events: list[IncidentEvent] = []
        for source_id, until in list(book.state.maintenance_until.items()):
            if until <= now:
                lifecycle.set_maintenance(source_id, False, now)
        for incident in sorted(book.open_all(), key=lambda i: i.created):
            source = book.sources.get(incident.source_id)
            if (at := auto_resolve_at(source, incident)) is not None and at <= now:
                events.append(
                    lifecycle.resolve_incident(incident, Actor(kind=ActorKind.TIMEOUT), now)
                )
                continue
            policy = book.policy_of(source)
            if (at := ack_timeout_at(policy, incident)) is not None and at <= now:
                assert policy is not None
                book.changed(incident)
                events.append(lifecycle.unaccept_incident(incident, policy, now))
            escalation = incident.escalation
            if escalation is None or escalation.due is None or escalation.due > now:
                continue
            book.changed(incident)
            if incident.status is not IncidentStatus.PENDING:
                incident.escalation = None
                continue
            if (event := lifecycle.run_level(incident, escalation, now)) is not None:
                events.append(event)
        for source in book.sources.values():
            if (at := self._heartbeat_at(source)) is not None and at <= now:
                assert source.expected_interval is not None
                book.state.heartbeat_anchor[source.source_id] = now
                incident = lifecycle.open_incident(
                    source,
                    summary=(
                        f"No e-mail from {source.name} for "
                        f"{human_interval(source.expected_interval)}"
                    ),
                    details="",
                    key=HEARTBEAT_KEY,
                    priority=source.priority,
                    from_address="",
                    actor=Actor(kind=ActorKind.HEARTBEAT),
                    now=now,
                )
                events.append(
                    incident_event(
                        IncidentEventType.CREATED,
                        incident,
                        now,
                        actor=Actor(kind=ActorKind.HEARTBEAT),
                    )
                )
        return tuple(events)

    def end_heartbeat(self, source: SourceConfig, now: datetime) -> list[IncidentEvent]:
        """Any e-mail from a source ends its "no e-mail" incident."""
        return [
            self._lifecycle.resolve_incident(incident, Actor(kind=ActorKind.HEARTBEAT), now)
            for incident in self._book.open_with_key(source.source_id, HEARTBEAT_KEY)
            if is_heartbeat(incident)
        ]
