"""The life of an incident: opened, e-mails appended, accepted, resolved, noted, snoozed,
escalated, paused by maintenance or outside support hours.

Every change is logged in the incident and told to the book; each action returns the domain
events the Home Assistant side turns into bus events, notifications and entity updates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from .book import LOG_KEEP_FIRST, NO_SUBJECT, IncidentBook
from .config import SourceConfig
from .decisions import Decision
from .escalation import advance, first_due
from .models import (
    Actor,
    ActorKind,
    EmailRecord,
    EmailRef,
    EscalationPolicy,
    EscalationState,
    InboundEmail,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
    Priority,
)
from .outcomes import IncidentError, IncidentEvent, IncidentEventType, Outcome, incident_event
from .paging import PageDecision, Pager
from .rotation import ROTATION_TARGET_PREFIX, page_targets
from .state import INCIDENT_ID_PREFIX
from .text import TRUNCATION_MARK, clean_line, clean_text, human_interval

EMAILS_KEEP_FIRST: Final = 10
EMAILS_KEEP_LAST: Final = 40
BODY_CHARS: Final = 32 * 1024
# An e-mail incident's details are the start of its first e-mail, held while it is open; the
# e-mails themselves are on disk.
EMAIL_DETAILS_CHARS: Final = 500

type EmailSink = Callable[[EmailRecord], EmailRef]


class Lifecycle:
    """Changes the incidents of the book."""

    def __init__(self, book: IncidentBook, store_email: EmailSink | None) -> None:
        self._book = book
        # Where the incidents' e-mails go (a file); without it they are kept in memory.
        self._store_email = store_email
        # Which of a level's notifications go out now and which wait for a summary.
        self.pager = Pager()

    # --- e-mail --------------------------------------------------------------------------------

    def apply(
        self, source: SourceConfig, decision: Decision, email: InboundEmail, now: datetime
    ) -> list[IncidentEvent]:
        """Do what the e-mail was decided to do for the source."""
        events: list[IncidentEvent] = []
        match decision.outcome:
            case Outcome.CREATED:
                incident = self.open_incident(
                    source,
                    summary=email.subject,
                    details=clean_text(email.body, EMAIL_DETAILS_CHARS),
                    key=decision.key,
                    priority=source.priority,
                    from_address=email.from_address,
                    actor=Actor(kind=ActorKind.EMAIL, name=email.from_address),
                    now=now,
                )
                incident.email_count = 1
                incident.last_email = now
                self._keep_email(incident, email, now)
                events.append(incident_event(IncidentEventType.CREATED, incident, now, email=email))
            case Outcome.APPENDED:
                for incident in decision.incidents:
                    self._append_email(incident, email, now)
                    events.append(
                        incident_event(IncidentEventType.UPDATED, incident, now, email=email)
                    )
            case Outcome.RESOLVED | Outcome.ACCEPTED:
                actor = Actor(kind=ActorKind.EMAIL_RULE, name=email.from_address)
                for incident in decision.incidents:
                    self._append_email(incident, email, now)
                    if decision.outcome is Outcome.RESOLVED:
                        events.append(self.resolve_incident(incident, actor, now, email))
                    elif incident.status is IncidentStatus.PENDING:
                        events.append(self._accept_incident(incident, actor, now, email))
                    else:
                        events.append(
                            incident_event(IncidentEventType.UPDATED, incident, now, email=email)
                        )
        return events

    def _append_email(self, incident: Incident, email: InboundEmail, now: datetime) -> None:
        incident.email_count += 1
        incident.last_email = now
        self._keep_email(incident, email, now)
        summary = clean_line(email.subject, self._book.limits.summary_chars) or NO_SUBJECT
        # Most e-mails of an incident repeat its sender and subject; thousands of stored
        # incidents need not keep that text twice each (the timeline shows it again).
        same = email.from_address == incident.from_address and summary == incident.summary
        self._log(
            incident, LogKind.EMAIL, now, "" if same else f"{email.from_address}: {email.subject}"
        )

    def _keep_email(self, incident: Incident, email: InboundEmail, now: datetime) -> None:
        """Record the e-mail; of a long incident the first and the newest ones are kept."""
        truncated = len(email.body) > BODY_CHARS
        record = EmailRecord(
            received=now,
            from_address=email.from_address,
            to=email.to,
            subject=email.subject,
            message_id=email.message_id,
            attachments=email.attachments,
            # The parser cleaned the body already; it is only cut here.
            body=email.body[: BODY_CHARS - len(TRUNCATION_MARK)].rstrip() + TRUNCATION_MARK
            if truncated
            else email.body,
            body_truncated=truncated,
        )
        incident.emails.append(self._store_email(record) if self._store_email else record)
        if len(incident.emails) > EMAILS_KEEP_FIRST + EMAILS_KEEP_LAST:
            del incident.emails[EMAILS_KEEP_FIRST]
            incident.emails_omitted += 1

    # --- opening, accepting, resolving ---------------------------------------------------------

    def open_incident(
        self,
        source: SourceConfig,
        *,
        summary: str,
        details: str,
        key: str | None,
        priority: Priority,
        from_address: str,
        actor: Actor,
        now: datetime,
    ) -> Incident:
        book = self._book
        number = book.state.next_number
        book.state.next_number += 1
        incident = Incident(
            id=f"{INCIDENT_ID_PREFIX}{number}",
            source_id=source.source_id,
            status=IncidentStatus.PENDING,
            summary=clean_line(summary, book.limits.summary_chars) or NO_SUBJECT,
            details=clean_text(details, book.limits.details_chars),
            key=key,
            priority=priority,
            created=now,
            from_address=from_address,
        )
        self._log(incident, LogKind.CREATED, now, incident.summary, actor)
        policy = book.policy_of(source)
        if policy is not None:
            incident.escalation = first_due(
                policy, now, active=self._escalation_active(source, priority)
            )
        book.state.incidents[incident.id] = incident
        book.add_open(incident)
        book.state.statistics.opened(incident)
        return incident

    def _escalation_active(self, source: SourceConfig, priority: Priority) -> bool:
        source_id = source.source_id
        state = self._book.state
        return source_id not in state.maintenance and (
            priority is Priority.HIGH or source_id not in state.support_hours_off
        )

    def _accept_incident(
        self, incident: Incident, actor: Actor, now: datetime, email: InboundEmail | None = None
    ) -> IncidentEvent:
        self._book.count_open(incident, -1)
        incident.status = IncidentStatus.ACCEPTED
        self._book.count_open(incident, 1)
        incident.accepted = now
        incident.accepted_by = actor
        self._book.state.statistics.accepted(incident, now)
        incident.escalation = None
        self.pager.forget(incident.id)
        self._log(incident, LogKind.ACCEPTED, now, "", actor)
        return incident_event(IncidentEventType.ACCEPTED, incident, now, actor=actor, email=email)

    def unaccept_incident(
        self, incident: Incident, policy: EscalationPolicy, now: datetime
    ) -> IncidentEvent:
        """Accepted and not resolved in time: pending again, escalating from level 1."""
        assert policy.ack_timeout is not None
        self._book.count_open(incident, -1)
        incident.status = IncidentStatus.PENDING
        self._book.count_open(incident, 1)
        # The accept did not hold: the one that does counts in the time to accept instead.
        self._book.state.statistics.unaccepted(incident)
        incident.accepted = None
        incident.accepted_by = None
        source = self._book.sources.get(incident.source_id)
        incident.escalation = first_due(
            policy,
            now,
            active=source is None or self._escalation_active(source, incident.priority),
        )
        actor = Actor(kind=ActorKind.TIMEOUT)
        message = f"not resolved within {human_interval(policy.ack_timeout)} of being accepted"
        self._log(incident, LogKind.UNACCEPTED, now, message, actor)
        return incident_event(IncidentEventType.UNACCEPTED, incident, now, actor=actor)

    def resolve_incident(
        self, incident: Incident, actor: Actor, now: datetime, email: InboundEmail | None = None
    ) -> IncidentEvent:
        self._book.remove_open(incident)
        incident.status = IncidentStatus.RESOLVED
        incident.resolved = now
        incident.resolved_by = actor
        self._book.state.statistics.resolved(incident, now)
        incident.escalation = None
        self.pager.forget(incident.id)
        self._log(incident, LogKind.RESOLVED, now, "", actor)
        event = incident_event(IncidentEventType.RESOLVED, incident, now, actor=actor, email=email)
        if incident.emails:
            # Its e-mails say it all; thousands of resolved incidents are kept.
            incident.details = ""
        return event

    def _log(
        self,
        incident: Incident,
        kind: LogKind,
        now: datetime,
        message: str = "",
        actor: Actor | None = None,
    ) -> None:
        self._book.changed(incident)
        incident.log.append(LogEntry(at=now, kind=kind, message=message, actor=actor))
        if len(incident.log) > self._book.limits.log_entries:
            # The first entries tell how it began, the newest what happens now.
            del incident.log[LOG_KEEP_FIRST]
            incident.log_dropped += 1

    def _require(self, incident_id: str) -> Incident:
        incident = self._book.state.incidents.get(incident_id)
        if incident is None:
            raise IncidentError("unknown_incident", incident_id=incident_id)
        if incident.status is IncidentStatus.RESOLVED:
            raise IncidentError("already_resolved", incident_id=incident_id)
        return incident

    def _require_pending(self, incident_id: str) -> Incident:
        incident = self._require(incident_id)
        if incident.status is IncidentStatus.ACCEPTED:
            raise IncidentError("already_accepted", incident_id=incident_id)
        return incident

    def accept(self, incident_id: str, actor: Actor, now: datetime) -> tuple[IncidentEvent, ...]:
        return (self._accept_incident(self._require_pending(incident_id), actor, now),)

    def resolve(self, incident_id: str, actor: Actor, now: datetime) -> tuple[IncidentEvent, ...]:
        return (self.resolve_incident(self._require(incident_id), actor, now),)

    def resolve_by_key(
        self, source_id: str, key: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        if source_id not in self._book.sources:
            raise IncidentError("unknown_source", source_id=source_id)
        matching = self._book.open_with_key(source_id, key)
        if not matching:
            raise IncidentError("not_open", source_id=source_id)
        return tuple(self.resolve_incident(incident, actor, now) for incident in matching)

    def add_note(
        self, incident_id: str, note: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        incident = self._book.state.incidents.get(incident_id)
        if incident is None:
            raise IncidentError("unknown_incident", incident_id=incident_id)
        self._log(incident, LogKind.NOTE, now, clean_text(note, 2000), actor)
        return (incident_event(IncidentEventType.UPDATED, incident, now, actor=actor),)

    def record_notification(
        self, incident_id: str, *, target: str, ok: bool, message: str, now: datetime
    ) -> None:
        incident = self._book.state.incidents.get(incident_id)
        if incident is not None:
            kind = LogKind.NOTIFIED if ok else LogKind.NOTIFY_FAILED
            self._log(incident, kind, now, clean_line(f"{target}: {message}", 500))

    def record_bundled(
        self, incident_id: str, *, target: str, level: int | None, now: datetime
    ) -> None:
        """A level's notification held back for the target's summary (bundling)."""
        incident = self._book.state.incidents.get(incident_id)
        if incident is not None:
            message = f"{target}: level {level}, in the next summary"
            self._log(incident, LogKind.BUNDLED, now, clean_line(message, 500))

    # --- escalation ----------------------------------------------------------------------------

    def snooze(
        self, incident_id: str, duration: timedelta, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        """Silence the escalation for `duration`; then the level that was next runs."""
        incident = self._require_pending(incident_id)
        escalation = incident.escalation
        if escalation is None:
            raise IncidentError("not_escalating", incident_id=incident_id)
        until = now + duration
        escalation.snoozed_until = until
        if escalation.due is not None:
            escalation.due = max(escalation.due, until)
        self._log(incident, LogKind.SNOOZED, now, f"snoozed for {human_interval(duration)}", actor)
        return (incident_event(IncidentEventType.SNOOZED, incident, now, actor=actor),)

    def escalate_now(
        self, incident_id: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        """Run the next escalation level at once (a snooze ends); after the last level the
        policy starts over."""
        incident = self._require_pending(incident_id)
        escalation = incident.escalation
        if escalation is None:
            source = self._book.sources.get(incident.source_id)
            policy_id = source.escalation_policy_id if source is not None else None
            if policy_id is None or policy_id not in self._book.policies:
                raise IncidentError("no_escalation_policy", incident_id=incident_id)
            escalation = EscalationState(policy_id=policy_id)
        escalation.snoozed_until = None
        self._book.changed(incident)
        event = self.run_level(incident, escalation, now, actor)
        return (event,) if event is not None else ()

    def run_level(
        self,
        incident: Incident,
        escalation: EscalationState,
        now: datetime,
        actor: Actor | None = None,
    ) -> IncidentEvent | None:
        """Run the incident's next escalation level now, logged with its targets."""
        policy = self._book.policies.get(escalation.policy_id)
        if policy is None:
            incident.escalation = None
            return None
        step, incident.escalation = advance(policy, escalation, now)
        if step is None:
            return None
        incident.escalation_level = step.level
        source = self._book.sources.get(incident.source_id)
        source_name = source.name if source is not None else incident.source_id
        paged = page_targets(
            step.targets, self._book.rotations, self._book.state.on_call_overrides, now
        )
        bundled = tuple(
            target
            for target in paged.targets
            if self.pager.page(target, incident.id, source_name, policy.bundling, now)
            is PageDecision.BUNDLED
        )
        named = [target for target in step.targets if not target.startswith(ROTATION_TARGET_PREFIX)]
        named += paged.through_rotations
        self._log(
            incident,
            LogKind.ESCALATED,
            now,
            f"escalated to level {step.level}"
            + (f" (round {step.round + 1})" if step.round else "")
            + (f": {', '.join(named)}" if named else ""),
            actor,
        )
        return IncidentEvent(
            type=IncidentEventType.ESCALATED,
            incident=incident,
            at=now,
            actor=actor,
            level=step.level,
            targets=paged.targets,
            round=step.round,
            details=incident.details,
            bundled=bundled,
            critical=policy.levels[step.level - 1].critical,
        )

    # --- maintenance and support hours ---------------------------------------------------------

    def set_maintenance(
        self, source_id: str, enabled: bool, now: datetime, until: datetime | None = None
    ) -> None:
        """Maintenance pauses the escalation of the source's pending incidents at the level
        each has reached, and its heartbeat; when it ends, both go on from `now`. With `until`
        it ends by itself then (a window); without, it stays until turned off."""
        state = self._book.state
        if enabled and until is not None:
            state.maintenance_until[source_id] = until
        elif (enabled and source_id not in state.maintenance) or not enabled:
            state.maintenance_until.pop(source_id, None)
        if enabled == (source_id in state.maintenance):
            return
        if enabled:
            state.maintenance.add(source_id)
        else:
            state.maintenance.discard(source_id)
        source = self._book.sources.get(source_id)
        if source is None:
            return
        if not enabled and source.expected_interval is not None:
            state.heartbeat_anchor[source_id] = now
        for incident in self._book.open_of(source_id):
            escalation = incident.escalation
            if incident.status is not IncidentStatus.PENDING or escalation is None:
                continue
            if enabled and escalation.due is not None:
                incident.escalation = replace(escalation, due=None)
                self._log(incident, LogKind.MAINTENANCE, now, "escalation paused: maintenance")
            elif escalation.due is None and self._escalation_active(source, incident.priority):
                # A snooze still running holds the escalation until it ends.
                due = max(now, escalation.snoozed_until or now)
                incident.escalation = replace(escalation, due=due)
                self._log(
                    incident, LogKind.MAINTENANCE, now, "escalation resumed: maintenance over"
                )

    def set_support_hours(self, source_id: str, active: bool, now: datetime) -> None:
        """Low-priority escalation pauses outside support hours and starts over at level 1."""
        state = self._book.state
        if active:
            state.support_hours_off.discard(source_id)
        else:
            state.support_hours_off.add(source_id)
        for incident in self._book.open_of(source_id):
            escalation = incident.escalation
            if (
                incident.priority is not Priority.LOW
                or incident.status is not IncidentStatus.PENDING
                or escalation is None
            ):
                continue
            if active and escalation.due is None and source_id not in state.maintenance:
                incident.escalation = EscalationState(
                    policy_id=escalation.policy_id,
                    due=max(now, escalation.snoozed_until or now),
                    snoozed_until=escalation.snoozed_until,
                )
                self._book.changed(incident)
            elif not active:
                incident.escalation = EscalationState(
                    policy_id=escalation.policy_id,
                    due=None,
                    snoozed_until=escalation.snoozed_until,
                )
                self._book.changed(incident)
