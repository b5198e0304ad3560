"""The incident engine: the facade the Home Assistant side talks to.

Pure and synchronous: every method takes `now`, mutates the state and returns the domain events
the Home Assistant side turns into bus events, notifications and entity updates. It composes
one-way parts: the book (state, configuration, open-incident index), routing, decisions, the
incident life cycle and deadlines.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from itertools import islice

from .book import EngineLimits, IncidentBook
from .config import SourceConfig
from .deadlines import Deadlines
from .decisions import decide
from .lifecycle import EmailSink, Lifecycle
from .models import Actor, EscalationPolicy, InboundEmail, Incident, IncidentStatus, Priority
from .outcomes import (
    IncidentError,
    IncidentEvent,
    IncidentEventType,
    IngestResult,
    Outcome,
    SourceOutcome,
    incident_event,
)
from .paging import Pager
from .rotation import OnCall, OnCallOverride, Rotation, on_call
from .routing import Router, forget_old_message_ids, is_duplicate
from .state import EngineState
from .statistics import IncidentStatistics
from .text import clean_line


class IncidentEngine:
    """Owns the state; the only code that changes incidents."""

    def __init__(
        self,
        state: EngineState | None = None,
        *,
        sources: Mapping[str, SourceConfig] | None = None,
        policies: Mapping[str, EscalationPolicy] | None = None,
        limits: EngineLimits | None = None,
        store_email: EmailSink | None = None,
    ) -> None:
        self._book = IncidentBook(
            state or EngineState(), sources or {}, policies or {}, limits or EngineLimits()
        )
        self._router = Router(self._book.sources)
        self._lifecycle = Lifecycle(self._book, store_email)
        self._deadlines = Deadlines(self._book, self._lifecycle)

    # --- configuration -------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self._book.state

    @state.setter
    def state(self, state: EngineState) -> None:
        self._book.state = state
        self._index_open()

    @property
    def sources(self) -> Mapping[str, SourceConfig]:
        return self._book.sources

    @property
    def policies(self) -> Mapping[str, EscalationPolicy]:
        return self._book.policies

    def policy_of(self, source_id: str) -> EscalationPolicy | None:
        """The escalation policy of an alert source, if it has one."""
        return self._book.policy_of(self._book.sources.get(source_id))

    @property
    def rotations(self) -> Mapping[str, Rotation]:
        return self._book.rotations

    def on_call(self, rotation_id: str, now: datetime) -> OnCall | None:
        """Who is on call in a rotation at `now` (None: no such rotation, or no members)."""
        rotation = self._book.rotations.get(rotation_id)
        if rotation is None:
            return None
        return on_call(rotation, now, self._book.state.on_call_overrides.get(rotation_id))

    def set_on_call(self, rotation_id: str, person: str, until: datetime) -> None:
        """Put a member of a rotation on call until a moment (the caller checks that the
        rotation has that member); the schedule goes on underneath."""
        self._book.state.on_call_overrides[rotation_id] = OnCallOverride(person=person, until=until)

    def end_on_call_override(self, rotation_id: str) -> None:
        """Back to the schedule now."""
        self._book.state.on_call_overrides.pop(rotation_id, None)

    @property
    def limits(self) -> EngineLimits:
        return self._book.limits

    def configure(
        self,
        sources: Mapping[str, SourceConfig],
        policies: Mapping[str, EscalationPolicy],
        now: datetime,
        rotations: Mapping[str, Rotation] | None = None,
    ) -> None:
        """Apply a changed configuration; incidents stay, heartbeats start counting now."""
        self._book.sources = dict(sources)
        self._book.policies = dict(policies)
        self._book.rotations = dict(rotations or {})
        overrides = self._book.state.on_call_overrides
        for rotation_id, override in list(overrides.items()):
            if rotation_id not in self._book.rotations or override.until <= now:
                del overrides[rotation_id]
        self._router = Router(self._book.sources)
        self._index_open()  # subjects are compared the way each source's settings say
        for source in self._book.sources.values():
            if source.expected_interval is not None:
                self._book.state.heartbeat_anchor.setdefault(source.source_id, now)

    def _index_open(self) -> None:
        self._book.index_open()
        self._deadlines.forget_moments()

    # --- e-mail --------------------------------------------------------------------------------

    def route(self, email: InboundEmail) -> tuple[SourceConfig, ...]:
        return self._router.route(email)

    def accepts_recipient(self, address: str) -> bool:
        return self._router.accepts_recipient(address)

    def ingest(self, email: InboundEmail, now: datetime) -> IngestResult:
        """What the e-mail does for each source it reaches, done."""
        state = self._book.state
        counters = state.counters
        counters["received"] = counters.get("received", 0) + 1
        sources = self._router.route(email)
        forget_old_message_ids(state, self._book.limits.duplicate_window, now)
        outcomes: list[SourceOutcome] = []
        events: list[IncidentEvent] = []
        for source in sources:
            if is_duplicate(state, source, email, now):
                outcomes.append(
                    SourceOutcome(source_id=source.source_id, outcome=Outcome.DUPLICATE)
                )
                continue
            state.source_last_email[source.source_id] = now
            events.extend(self._deadlines.end_heartbeat(source, now))
            decision = decide(self._book, source, email)
            events.extend(self._lifecycle.apply(source, decision, email, now))
            outcomes.append(
                SourceOutcome(
                    source_id=source.source_id,
                    outcome=decision.outcome,
                    incident_ids=tuple(incident.id for incident in decision.incidents)
                    if decision.outcome is not Outcome.CREATED
                    else tuple(event.incident.id for event in events[-1:]),
                    key=decision.key,
                )
            )
            per_source = f"source_emails_{source.source_id}"
            counters[per_source] = counters.get(per_source, 0) + 1
        if outcomes and all(outcome.outcome is Outcome.DUPLICATE for outcome in outcomes):
            counters["duplicate"] = counters.get("duplicate", 0) + 1
        elif outcomes and all(
            outcome.outcome in (Outcome.FILTERED, Outcome.DUPLICATE) for outcome in outcomes
        ):
            counters["filtered"] = counters.get("filtered", 0) + 1
        else:
            counters["accepted"] = counters.get("accepted", 0) + 1
        return IngestResult(outcomes=tuple(outcomes), events=tuple(events))

    def evaluate(self, email: InboundEmail, source: SourceConfig) -> SourceOutcome:
        """What the e-mail would do for `source` (possibly unsaved rules); changes nothing."""
        decision = decide(self._book, source, email)
        return SourceOutcome(
            source_id=source.source_id,
            outcome=decision.outcome,
            incident_ids=tuple(incident.id for incident in decision.incidents),
            key=decision.key,
        )

    # --- actions (a manual incident, and what a person or a notification does) ------------------

    def accept(self, incident_id: str, actor: Actor, now: datetime) -> tuple[IncidentEvent, ...]:
        return self._lifecycle.accept(incident_id, actor, now)

    def resolve(self, incident_id: str, actor: Actor, now: datetime) -> tuple[IncidentEvent, ...]:
        return self._lifecycle.resolve(incident_id, actor, now)

    def resolve_by_key(
        self, source_id: str, key: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        return self._lifecycle.resolve_by_key(source_id, key, actor, now)

    def create(
        self,
        source_id: str,
        *,
        summary: str,
        details: str = "",
        key: str | None = None,
        priority: Priority | None = None,
        actor: Actor,
        now: datetime,
    ) -> tuple[IncidentEvent, ...]:
        source = self._book.sources.get(source_id)
        if source is None:
            raise IncidentError("unknown_source", source_id=source_id)
        incident = self._lifecycle.open_incident(
            source,
            summary=summary,
            details=details,
            key=clean_line(key, 255) or None if key else None,
            priority=priority or source.priority,
            from_address="",
            actor=actor,
            now=now,
        )
        return (incident_event(IncidentEventType.CREATED, incident, now, actor=actor),)

    def add_note(
        self, incident_id: str, note: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        return self._lifecycle.add_note(incident_id, note, actor, now)

    def snooze(
        self, incident_id: str, duration: timedelta, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        return self._lifecycle.snooze(incident_id, duration, actor, now)

    def escalate_now(
        self, incident_id: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        return self._lifecycle.escalate_now(incident_id, actor, now)

    def record_notification(
        self, incident_id: str, *, target: str, ok: bool, message: str, now: datetime
    ) -> None:
        self._lifecycle.record_notification(
            incident_id, target=target, ok=ok, message=message, now=now
        )

    @property
    def pager(self) -> Pager:
        """Which targets' notifications wait for a summary, and when summaries are due."""
        return self._lifecycle.pager

    def record_bundled(
        self, incident_id: str, *, target: str, level: int | None, now: datetime
    ) -> None:
        self._lifecycle.record_bundled(incident_id, target=target, level=level, now=now)

    def set_maintenance(
        self, source_id: str, enabled: bool, now: datetime, until: datetime | None = None
    ) -> None:
        self._lifecycle.set_maintenance(source_id, enabled, now, until)

    def maintenance_ends(self, source_id: str) -> datetime | None:
        """When the source's maintenance window ends by itself, if it does."""
        return self._book.state.maintenance_until.get(source_id)

    def in_maintenance(self, source_id: str) -> bool:
        return source_id in self._book.state.maintenance

    def set_support_hours(self, source_id: str, active: bool, now: datetime) -> None:
        self._lifecycle.set_support_hours(source_id, active, now)

    # --- deadlines -----------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        return self._deadlines.next_deadline()

    def run_due(self, now: datetime) -> tuple[IncidentEvent, ...]:
        return self._deadlines.run_due(now)

    # --- queries and housekeeping --------------------------------------------------------------

    @property
    def statistics(self) -> IncidentStatistics:
        """Per source: incidents opened, and the mean times to accept and to resolve."""
        return self._book.state.statistics

    def get(self, incident_id: str) -> Incident | None:
        return self._book.state.incidents.get(incident_id)

    def open_incidents(self, source_id: str, limit: int | None = None) -> list[Incident]:
        """Open incidents of a source, newest first (the newest `limit` of them)."""
        return list(islice(self._book.newest_open(source_id), limit))

    def open_count(self, source_id: str, status: IncidentStatus | None = None) -> int:
        return self._book.open_count(source_id, status)

    def incidents(
        self,
        *,
        source_id: str | None = None,
        statuses: Collection[IncidentStatus] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Incident]:
        """Incidents, newest first, filtered."""
        found: list[Incident] = []
        for incident in reversed(self._book.state.incidents.values()):
            if limit is not None and len(found) >= limit:
                break
            if source_id is not None and incident.source_id != source_id:
                continue
            if statuses is not None and incident.status not in statuses:
                continue
            if since is not None and incident.created < since:
                continue
            found.append(incident)
        return found

    def prune(self, now: datetime) -> int:
        """Drop resolved incidents past the retention period or beyond the per-source cap."""
        state = self._book.state
        # The statistics' days that left their window go too (they outlive the incidents).
        state.statistics.drop_old(now)
        cutoff = now - self._book.limits.retention
        kept_per_source: dict[str, int] = {}
        doomed: list[str] = []
        for incident in reversed(state.incidents.values()):
            if incident.status is not IncidentStatus.RESOLVED:
                continue
            kept = kept_per_source.get(incident.source_id, 0)
            if (incident.resolved or incident.created) < cutoff or (
                kept >= self._book.limits.resolved_per_source
            ):
                doomed.append(incident.id)
            else:
                kept_per_source[incident.source_id] = kept + 1
        for incident_id in doomed:
            del state.incidents[incident_id]
            self._book.state.unsaved_incidents[incident_id] = None
        return len(doomed)
