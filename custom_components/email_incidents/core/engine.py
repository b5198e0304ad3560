"""The incident engine: routes e-mails to alert sources and moves incidents through their life.

Pure and synchronous: every method takes `now`, mutates `state` and returns the domain events
the Home Assistant side turns into bus events, notifications and entity updates. Deciding what
an e-mail does (`_decide`) is separate from doing it, so the rule tester can ask the same
question without changing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import islice
import logging
from typing import Final

from .config import CreationMode, SourceConfig
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
from .parser import normalise_address
from .rules import NoKeyFallback, first_key, normalise_subject
from .state import INCIDENT_ID_PREFIX, EngineState
from .text import TRUNCATION_MARK, clean_line, clean_text

_LOGGER = logging.getLogger(__name__)
HEARTBEAT_KEY: Final = "heartbeat"
LOG_KEEP_FIRST: Final = 10
EMAILS_KEEP_FIRST: Final = 10
EMAILS_KEEP_LAST: Final = 40
BODY_CHARS: Final = 32 * 1024
# An e-mail incident's details are the start of its first e-mail, held while it is open; the
# e-mails themselves are on disk.
EMAIL_DETAILS_CHARS: Final = 500

type EmailSink = Callable[[EmailRecord], EmailRef]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    outcomes: tuple[SourceOutcome, ...]
    events: tuple[IncidentEvent, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineLimits:
    log_entries: int = 100
    details_chars: int = 16 * 1024
    summary_chars: int = 500
    retention: timedelta = timedelta(days=30)
    resolved_per_source: int = 500
    duplicate_window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        # The log keeps its first LOG_KEEP_FIRST entries, so it needs room for newer ones too.
        if self.log_entries <= LOG_KEEP_FIRST:
            raise ValueError(f"log_entries must be more than {LOG_KEEP_FIRST}")
        if min(self.details_chars, self.summary_chars, self.resolved_per_source) < 1:
            raise ValueError("character limits and resolved_per_source must be positive")


class IncidentError(Exception):
    """An action on an incident that cannot be done; `reason` is a translation key."""

    def __init__(
        self, reason: str, *, incident_id: str | None = None, source_id: str | None = None
    ) -> None:
        super().__init__(f"{reason}: {incident_id or source_id}")
        self.reason = reason
        self.incident_id = incident_id
        self.source_id = source_id


@dataclass(frozen=True, slots=True)
class _Decision:
    outcome: Outcome
    incidents: tuple[Incident, ...] = ()
    key: str | None = None


def human_interval(interval: timedelta) -> str:
    """'1 day', '2 hours', '90 minutes' for heartbeat summaries."""
    minutes = int(interval.total_seconds() // 60)
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0 and minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def base_address(address: str) -> str:
    """The normalised address without a plus tag: source+anything@domain -> source@domain."""
    address = normalise_address(address)
    local, at, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}" if "+" in local else address


def addressed_to(source: SourceConfig, email: InboundEmail) -> bool:
    """Whether any envelope or header recipient of the e-mail is an address of the source."""
    return any(
        base_address(address) in source.addresses
        for address in email.envelope_recipients + email.header_recipients
    )


@lru_cache(maxsize=4096)
def _normalised_subject(subject: str, summary_chars: int, strip_reply_tags: bool) -> str:
    """Cached: each e-mail of a per-subject source is compared with every open incident."""
    summary = clean_line(subject, summary_chars) or NO_SUBJECT
    return normalise_subject(summary, strip_reply_tags_first=strip_reply_tags)


PENDING: Final = IncidentStatus.PENDING
NO_SUBJECT: Final = "(no subject)"


def _is_heartbeat(incident: Incident) -> bool:
    first = incident.log[0] if incident.log else None
    return (
        incident.key == HEARTBEAT_KEY
        and first is not None
        and first.actor is not None
        and first.actor.kind is ActorKind.HEARTBEAT
    )


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
        self._limits = limits or EngineLimits()
        # Where the incidents' e-mails go (a file); without it they are kept in memory.
        self.store_email = store_email
        self._sources: dict[str, SourceConfig] = dict(sources or {})
        self._policies: dict[str, EscalationPolicy] = dict(policies or {})
        self._addresses: dict[str, list[SourceConfig]] = {}
        self._catch_all: list[SourceConfig] = []
        self._open: dict[str, dict[str, Incident]] = {}
        self._open_by_key: dict[tuple[str, str], dict[str, Incident]] = {}
        self._open_by_subject: dict[tuple[str, str], dict[str, Incident]] = {}
        self._open_counts: dict[str, dict[IncidentStatus, int]] = {}
        # Each open incident's next moment (escalation or auto-resolve), recomputed only for
        # the incidents changed since: the next deadline is asked for after every change.
        self._moments: dict[str, datetime] = {}
        self._moments_stale: set[str] = set()
        self._state = state or EngineState()
        self._index_sources()
        self._index_open()

    # --- configuration and indexes ---------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self._state

    @state.setter
    def state(self, state: EngineState) -> None:
        self._state = state
        self._index_open()

    @property
    def sources(self) -> Mapping[str, SourceConfig]:
        return self._sources

    @property
    def policies(self) -> Mapping[str, EscalationPolicy]:
        return self._policies

    @property
    def limits(self) -> EngineLimits:
        return self._limits

    def configure(
        self,
        sources: Mapping[str, SourceConfig],
        policies: Mapping[str, EscalationPolicy],
        now: datetime,
    ) -> None:
        """Apply a changed configuration; incidents stay, heartbeats start counting now."""
        self._sources = dict(sources)
        self._policies = dict(policies)
        self._index_sources()
        self._index_open()  # subjects are compared the way each source's settings say
        for source in self._sources.values():
            if source.expected_interval is not None:
                self._state.heartbeat_anchor.setdefault(source.source_id, now)

    def _index_sources(self) -> None:
        self._addresses = {}
        for source in self._sources.values():
            for address in source.addresses:
                self._addresses.setdefault(address, []).append(source)
        self._catch_all = [source for source in self._sources.values() if source.catch_all]

    def _index_open(self) -> None:
        """Open incidents per source, oldest first, also by key and by normalised subject:
        what an e-mail does is decided without a pass over every open incident."""
        self._open = {}
        self._open_by_key = {}
        self._open_by_subject = {}
        self._open_counts = {}
        self._moments = {}
        for incident in self._state.incidents.values():
            if incident.is_open:
                self._add_open(incident)
        self._moments_stale = {incident.id for incident in self._open_all()}

    def _lookups(
        self, incident: Incident
    ) -> list[tuple[dict[tuple[str, str], dict[str, Incident]], tuple[str, str]]]:
        source = self._sources.get(incident.source_id)
        subject = _normalised_subject(
            incident.summary,
            self._limits.summary_chars,
            source.strip_reply_tags if source is not None else False,
        )
        lookups = [(self._open_by_subject, (incident.source_id, subject))]
        if incident.key is not None:
            lookups.append((self._open_by_key, (incident.source_id, incident.key)))
        return lookups

    def _count_open(self, incident: Incident, change: int) -> None:
        counts = self._open_counts.setdefault(incident.source_id, {})
        counts[incident.status] = counts.get(incident.status, 0) + change

    def _add_open(self, incident: Incident) -> None:
        self._open.setdefault(incident.source_id, {})[incident.id] = incident
        self._count_open(incident, 1)
        for lookup, key in self._lookups(incident):
            lookup.setdefault(key, {})[incident.id] = incident

    def _remove_open(self, incident: Incident) -> None:
        """Before its status changes: the incident is counted under its open status."""
        if self._open.get(incident.source_id, {}).pop(incident.id, None) is not None:
            self._count_open(incident, -1)
        for lookup, key in self._lookups(incident):
            same = lookup.get(key, {})
            same.pop(incident.id, None)
            if not same:
                lookup.pop(key, None)

    def _open_with_key(self, source_id: str, key: str) -> list[Incident]:
        return list(self._open_by_key.get((source_id, key), {}).values())

    # --- routing -------------------------------------------------------------------------------

    def _sources_for(self, address: str) -> list[SourceConfig]:
        return self._addresses.get(base_address(address), [])

    def route(self, email: InboundEmail) -> tuple[SourceConfig, ...]:
        """Every source whose address is in the envelope or To/Cc/Bcc/Delivered-To, once."""
        matched: dict[str, SourceConfig] = {}
        for address in email.envelope_recipients + email.header_recipients:
            for source in self._sources_for(address):
                matched.setdefault(source.source_id, source)
        if not matched:
            return tuple(self._catch_all)
        return tuple(source for source in self._sources.values() if source.source_id in matched)

    def accepts_recipient(self, address: str) -> bool:
        return bool(self._catch_all) or bool(self._sources_for(address))

    # --- e-mail --------------------------------------------------------------------------------

    def ingest(self, email: InboundEmail, now: datetime) -> IngestResult:
        """What the e-mail does for each source it reaches, done."""
        counters = self._state.counters
        counters["received"] = counters.get("received", 0) + 1
        sources = self.route(email)
        self._forget_old_message_ids(now)
        outcomes: list[SourceOutcome] = []
        events: list[IncidentEvent] = []
        for source in sources:
            if self._is_duplicate(source, email, now):
                outcomes.append(
                    SourceOutcome(source_id=source.source_id, outcome=Outcome.DUPLICATE)
                )
                continue
            self._state.source_last_email[source.source_id] = now
            events.extend(self._end_heartbeat(source, now))
            decision = self._decide(source, email)
            events.extend(self._apply(source, decision, email, now))
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
        decision = self._decide(source, email)
        return SourceOutcome(
            source_id=source.source_id,
            outcome=decision.outcome,
            incident_ids=tuple(incident.id for incident in decision.incidents),
            key=decision.key,
        )

    def _forget_old_message_ids(self, now: datetime) -> None:
        seen = self._state.recent_message_ids
        expired = now - self._limits.duplicate_window
        # Oldest first: only the expired head is looked at, however many ids are kept.
        while seen and (oldest := next(iter(seen.items())))[1] <= expired:
            del seen[oldest[0]]

    def _is_duplicate(self, source: SourceConfig, email: InboundEmail, now: datetime) -> bool:
        """A retry of an e-mail this source has handled; duplicates are told per source (a
        relay delivers one recipient per session, each with the same Message-ID)."""
        if not email.message_id:
            return False
        seen = self._state.recent_message_ids
        key = f"{source.source_id} {email.message_id}"
        if key in seen:
            return True
        seen[key] = now
        self._state.unsaved_message_ids.append(key)
        return False

    def _decide(self, source: SourceConfig, email: InboundEmail) -> _Decision:
        """In maintenance an e-mail opens nothing; what it does to open incidents it does."""
        decision = self._decide_outside_maintenance(source, email)
        if decision.outcome is Outcome.CREATED and source.source_id in self._state.maintenance:
            return _Decision(Outcome.MAINTENANCE, key=decision.key)
        return decision

    def _decide_outside_maintenance(self, source: SourceConfig, email: InboundEmail) -> _Decision:
        if not source.filters.matches(email):
            if _LOGGER.isEnabledFor(logging.DEBUG):
                _LOGGER.debug("%s: the filters do not match %r", source.name, email.subject)
            return _Decision(Outcome.FILTERED)
        open_incidents = self._open.get(source.source_id, {}).values()
        match source.creation_mode:
            case CreationMode.EVERY_EMAIL:
                return _Decision(Outcome.CREATED)
            case CreationMode.PER_SUBJECT:
                wanted = self._subject_key(source, email.subject)
                same = self._open_by_subject.get((source.source_id, wanted), {}).values()
                if same:
                    return _Decision(Outcome.APPENDED, (next(reversed(same)),))
                return _Decision(Outcome.CREATED)
            case CreationMode.WHEN_ALL_RESOLVED:
                if open_incidents:
                    return _Decision(Outcome.APPENDED, (next(reversed(open_incidents)),))
                return _Decision(Outcome.CREATED)
            case CreationMode.WHEN_ALL_ACCEPTED_OR_RESOLVED:
                pending = (
                    i for i in reversed(open_incidents) if i.status is IncidentStatus.PENDING
                )
                if (newest := next(pending, None)) is not None:
                    return _Decision(Outcome.APPENDED, (newest,))
                return _Decision(Outcome.CREATED)
        return self._decide_by_key(source, email)

    def _subject_key(self, source: SourceConfig, subject: str) -> str:
        return _normalised_subject(subject, self._limits.summary_chars, source.strip_reply_tags)

    def _decide_by_key(self, source: SourceConfig, email: InboundEmail) -> _Decision:
        key = first_key(source.key_rules, email)
        if key is None:
            match source.no_key_fallback:
                case NoKeyFallback.IGNORE:
                    return _Decision(Outcome.IGNORED_NO_KEY)
                case NoKeyFallback.SUBJECT_AS_KEY:
                    key = self._subject_key(source, email.subject) or None
        resolves = source.resolve_rule is not None and source.resolve_rule.matches(email)
        accepts = (
            not resolves and source.accept_rule is not None and source.accept_rule.matches(email)
        )
        matching = tuple(self._open_with_key(source.source_id, key)) if key is not None else ()
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(
                "%s: key %r, resolve rule %s, accept rule %s, open incidents with the key: %s",
                source.name,
                key,
                "matches" if resolves else "does not match",
                "matches" if accepts else "does not match",
                ", ".join(incident.id for incident in matching) or "none",
            )
        if resolves:
            return _Decision(
                Outcome.RESOLVED if matching else Outcome.ORPHAN_RESOLVE, matching, key
            )
        if accepts:
            return _Decision(Outcome.ACCEPTED if matching else Outcome.ORPHAN_ACCEPT, matching, key)
        if matching:
            return _Decision(Outcome.APPENDED, (matching[-1],), key)
        return _Decision(Outcome.CREATED, (), key)

    def _apply(
        self, source: SourceConfig, decision: _Decision, email: InboundEmail, now: datetime
    ) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        match decision.outcome:
            case Outcome.CREATED:
                incident = self._open_incident(
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
                events.append(self._event(IncidentEventType.CREATED, incident, now, email=email))
            case Outcome.APPENDED:
                for incident in decision.incidents:
                    self._append_email(incident, email, now)
                    events.append(
                        self._event(IncidentEventType.UPDATED, incident, now, email=email)
                    )
            case Outcome.RESOLVED | Outcome.ACCEPTED:
                actor = Actor(kind=ActorKind.EMAIL_RULE, name=email.from_address)
                for incident in decision.incidents:
                    self._append_email(incident, email, now)
                    if decision.outcome is Outcome.RESOLVED:
                        events.append(self._resolve(incident, actor, now, email))
                    elif incident.status is IncidentStatus.PENDING:
                        events.append(self._accept(incident, actor, now, email))
                    else:
                        events.append(
                            self._event(IncidentEventType.UPDATED, incident, now, email=email)
                        )
        return events

    def _append_email(self, incident: Incident, email: InboundEmail, now: datetime) -> None:
        incident.email_count += 1
        incident.last_email = now
        self._keep_email(incident, email, now)
        self._log(incident, LogKind.EMAIL, now, f"{email.from_address}: {email.subject}")

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
        incident.emails.append(self.store_email(record) if self.store_email else record)
        if len(incident.emails) > EMAILS_KEEP_FIRST + EMAILS_KEEP_LAST:
            del incident.emails[EMAILS_KEEP_FIRST]
            incident.emails_omitted += 1

    # --- incident life cycle -------------------------------------------------------------------

    def _open_incident(
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
        number = self._state.next_number
        self._state.next_number += 1
        incident = Incident(
            id=f"{INCIDENT_ID_PREFIX}{number}",
            source_id=source.source_id,
            status=IncidentStatus.PENDING,
            summary=clean_line(summary, self._limits.summary_chars) or NO_SUBJECT,
            details=clean_text(details, self._limits.details_chars),
            key=key,
            priority=priority,
            created=now,
            from_address=from_address,
        )
        self._log(incident, LogKind.CREATED, now, incident.summary, actor)
        policy = self._policies.get(source.escalation_policy_id or "")
        if policy is not None:
            incident.escalation = first_due(
                policy, now, active=self._escalation_active(source, priority)
            )
        self._state.incidents[incident.id] = incident
        self._add_open(incident)
        return incident

    def _escalation_active(self, source: SourceConfig, priority: Priority) -> bool:
        source_id = source.source_id
        return source_id not in self._state.maintenance and (
            priority is Priority.HIGH or source_id not in self._state.support_hours_off
        )

    def _accept(
        self, incident: Incident, actor: Actor, now: datetime, email: InboundEmail | None = None
    ) -> IncidentEvent:
        self._count_open(incident, -1)
        incident.status = IncidentStatus.ACCEPTED
        self._count_open(incident, 1)
        incident.accepted = now
        incident.accepted_by = actor
        incident.escalation = None
        self._log(incident, LogKind.ACCEPTED, now, "", actor)
        return self._event(IncidentEventType.ACCEPTED, incident, now, actor=actor, email=email)

    def _resolve(
        self, incident: Incident, actor: Actor, now: datetime, email: InboundEmail | None = None
    ) -> IncidentEvent:
        self._remove_open(incident)
        incident.status = IncidentStatus.RESOLVED
        incident.resolved = now
        incident.resolved_by = actor
        incident.escalation = None
        self._log(incident, LogKind.RESOLVED, now, "", actor)
        event = self._event(IncidentEventType.RESOLVED, incident, now, actor=actor, email=email)
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
        self._changed(incident)
        incident.log.append(LogEntry(at=now, kind=kind, message=message, actor=actor))
        if len(incident.log) > self._limits.log_entries:
            # The first entries tell how it began, the newest what happens now.
            del incident.log[LOG_KEEP_FIRST]
            incident.log_dropped += 1

    def _changed(self, incident: Incident) -> None:
        """Every change to an incident goes through here or `_log`: the next write takes it,
        and the next deadline looks at it again."""
        self._state.unsaved_incidents[incident.id] = None
        self._moments_stale.add(incident.id)

    @staticmethod
    def _event(
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

    def _require(self, incident_id: str) -> Incident:
        incident = self._state.incidents.get(incident_id)
        if incident is None:
            raise IncidentError("unknown_incident", incident_id=incident_id)
        if incident.status is IncidentStatus.RESOLVED:
            raise IncidentError("already_resolved", incident_id=incident_id)
        return incident

    def accept(self, incident_id: str, actor: Actor, now: datetime) -> tuple[IncidentEvent, ...]:
        incident = self._require(incident_id)
        if incident.status is IncidentStatus.ACCEPTED:
            raise IncidentError("already_accepted", incident_id=incident_id)
        return (self._accept(incident, actor, now),)

    def resolve(self, incident_id: str, actor: Actor, now: datetime) -> tuple[IncidentEvent, ...]:
        return (self._resolve(self._require(incident_id), actor, now),)

    def resolve_by_key(
        self, source_id: str, key: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        if source_id not in self._sources:
            raise IncidentError("unknown_source", source_id=source_id)
        matching = self._open_with_key(source_id, key)
        if not matching:
            raise IncidentError("not_open", source_id=source_id)
        return tuple(self._resolve(incident, actor, now) for incident in matching)

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
        source = self._sources.get(source_id)
        if source is None:
            raise IncidentError("unknown_source", source_id=source_id)
        incident = self._open_incident(
            source,
            summary=summary,
            details=details,
            key=clean_line(key, 255) or None if key else None,
            priority=priority or source.priority,
            from_address="",
            actor=actor,
            now=now,
        )
        return (self._event(IncidentEventType.CREATED, incident, now, actor=actor),)

    def add_note(
        self, incident_id: str, note: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        incident = self._state.incidents.get(incident_id)
        if incident is None:
            raise IncidentError("unknown_incident", incident_id=incident_id)
        self._log(incident, LogKind.NOTE, now, clean_text(note, 2000), actor)
        return (self._event(IncidentEventType.UPDATED, incident, now, actor=actor),)

    def _require_pending(self, incident_id: str) -> Incident:
        incident = self._require(incident_id)
        if incident.status is IncidentStatus.ACCEPTED:
            raise IncidentError("already_accepted", incident_id=incident_id)
        return incident

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
        return (self._event(IncidentEventType.SNOOZED, incident, now, actor=actor),)

    def escalate_now(
        self, incident_id: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        """Run the next escalation level at once (a snooze ends); after the last level the
        policy starts over."""
        incident = self._require_pending(incident_id)
        escalation = incident.escalation
        if escalation is None:
            source = self._sources.get(incident.source_id)
            policy_id = source.escalation_policy_id if source is not None else None
            if policy_id is None or policy_id not in self._policies:
                raise IncidentError("no_escalation_policy", incident_id=incident_id)
            escalation = EscalationState(policy_id=policy_id)
        escalation.snoozed_until = None
        self._changed(incident)
        event = self._run_level(incident, escalation, now, actor)
        return (event,) if event is not None else ()

    def record_notification(
        self, incident_id: str, *, target: str, ok: bool, message: str, now: datetime
    ) -> None:
        incident = self._state.incidents.get(incident_id)
        if incident is not None:
            kind = LogKind.NOTIFIED if ok else LogKind.NOTIFY_FAILED
            self._log(incident, kind, now, clean_line(f"{target}: {message}", 500))

    # --- maintenance and support hours ---------------------------------------------------------

    def set_maintenance(self, source_id: str, enabled: bool, now: datetime) -> None:
        """Maintenance pauses the escalation of the source's pending incidents at the level
        each has reached, and its heartbeat; when it ends, both go on from `now`."""
        if enabled == (source_id in self._state.maintenance):
            return
        if enabled:
            self._state.maintenance.add(source_id)
        else:
            self._state.maintenance.discard(source_id)
        source = self._sources.get(source_id)
        if source is None:
            return
        if not enabled and source.expected_interval is not None:
            self._state.heartbeat_anchor[source_id] = now
        for incident in self._open.get(source_id, {}).values():
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

    def in_maintenance(self, source_id: str) -> bool:
        return source_id in self._state.maintenance

    def set_support_hours(self, source_id: str, active: bool, now: datetime) -> None:
        """Low-priority escalation pauses outside support hours and starts over at level 1."""
        if active:
            self._state.support_hours_off.discard(source_id)
        else:
            self._state.support_hours_off.add(source_id)
        for incident in self._open.get(source_id, {}).values():
            escalation = incident.escalation
            if (
                incident.priority is not Priority.LOW
                or incident.status is not IncidentStatus.PENDING
                or escalation is None
            ):
                continue
            if active and escalation.due is None and source_id not in self._state.maintenance:
                incident.escalation = EscalationState(
                    policy_id=escalation.policy_id,
                    due=max(now, escalation.snoozed_until or now),
                    snoozed_until=escalation.snoozed_until,
                )
                self._changed(incident)
            elif not active:
                incident.escalation = EscalationState(
                    policy_id=escalation.policy_id,
                    due=None,
                    snoozed_until=escalation.snoozed_until,
                )
                self._changed(incident)

    # --- deadlines -----------------------------------------------------------------------------

    def _open_all(self) -> Iterable[Incident]:
        for incidents in self._open.values():
            yield from incidents.values()

    def _auto_resolve_at(self, incident: Incident) -> datetime | None:
        source = self._sources.get(incident.source_id)
        if source is None or source.auto_resolve_after is None or _is_heartbeat(incident):
            return None
        return incident.last_activity + source.auto_resolve_after

    def _heartbeat_at(self, source: SourceConfig) -> datetime | None:
        if source.expected_interval is None or source.source_id in self._state.maintenance:
            return None
        if any(map(_is_heartbeat, self._open_with_key(source.source_id, HEARTBEAT_KEY))):
            return None
        anchors = [
            at
            for at in (
                self._state.source_last_email.get(source.source_id),
                self._state.heartbeat_anchor.get(source.source_id),
            )
            if at is not None
        ]
        return max(anchors) + source.expected_interval if anchors else None

    def _next_moment(self, incident: Incident) -> datetime | None:
        """When an open incident escalates or resolves by itself, whichever comes first."""
        moments = [
            at
            for at in (
                incident.escalation.due if incident.escalation is not None else None,
                self._auto_resolve_at(incident),
            )
            if at is not None
        ]
        return min(moments, default=None)

    def next_deadline(self) -> datetime | None:
        """The earliest escalation, auto-resolve or heartbeat moment, if any."""
        for incident_id in self._moments_stale:
            incident = self._state.incidents.get(incident_id)
            moment = (
                None if incident is None or not incident.is_open else self._next_moment(incident)
            )
            if moment is None:
                self._moments.pop(incident_id, None)
            else:
                self._moments[incident_id] = moment
        self._moments_stale.clear()
        heartbeats = (self._heartbeat_at(source) for source in self._sources.values())
        return min(
            (at for at in (*heartbeats, min(self._moments.values(), default=None)) if at),
            default=None,
        )

    def run_due(self, now: datetime) -> tuple[IncidentEvent, ...]:
        """Everything due at or before `now`: auto-resolve, escalation levels, heartbeats."""
        events: list[IncidentEvent] = []
        for incident in sorted(self._open_all(), key=lambda i: i.created):
            if (at := self._auto_resolve_at(incident)) is not None and at <= now:
                events.append(self._resolve(incident, Actor(kind=ActorKind.TIMEOUT), now))
                continue
            escalation = incident.escalation
            if escalation is None or escalation.due is None or escalation.due > now:
                continue
            self._changed(incident)
            if incident.status is not IncidentStatus.PENDING:
                incident.escalation = None
                continue
            if (event := self._run_level(incident, escalation, now)) is not None:
                events.append(event)
        for source in self._sources.values():
            if (at := self._heartbeat_at(source)) is not None and at <= now:
                assert source.expected_interval is not None
                self._state.heartbeat_anchor[source.source_id] = now
                incident = self._open_incident(
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
                    self._event(
                        IncidentEventType.CREATED,
                        incident,
                        now,
                        actor=Actor(kind=ActorKind.HEARTBEAT),
                    )
                )
        return tuple(events)

    def _run_level(
        self,
        incident: Incident,
        escalation: EscalationState,
        now: datetime,
        actor: Actor | None = None,
    ) -> IncidentEvent | None:
        """Run the incident's next escalation level now, logged with its targets."""
        policy = self._policies.get(escalation.policy_id)
        if policy is None:
            incident.escalation = None
            return None
        step, incident.escalation = advance(policy, escalation, now)
        if step is None:
            return None
        incident.escalation_level = step.level
        self._log(
            incident,
            LogKind.ESCALATED,
            now,
            f"escalated to level {step.level}"
            + (f" (round {step.round + 1})" if step.round else "")
            + (f": {', '.join(step.targets)}" if step.targets else ""),
            actor,
        )
        return IncidentEvent(
            type=IncidentEventType.ESCALATED,
            incident=incident,
            at=now,
            actor=actor,
            level=step.level,
            targets=step.targets,
            round=step.round,
            details=incident.details,
        )

    def _end_heartbeat(self, source: SourceConfig, now: datetime) -> list[IncidentEvent]:
        """Any e-mail from a source ends its "no e-mail" incident."""
        return [
            self._resolve(incident, Actor(kind=ActorKind.HEARTBEAT), now)
            for incident in self._open_with_key(source.source_id, HEARTBEAT_KEY)
            if _is_heartbeat(incident)
        ]

    # --- queries and housekeeping --------------------------------------------------------------

    def get(self, incident_id: str) -> Incident | None:
        return self._state.incidents.get(incident_id)

    def open_incidents(self, source_id: str, limit: int | None = None) -> list[Incident]:
        """Open incidents of a source, newest first (the newest `limit` of them)."""
        return list(islice(reversed(self._open.get(source_id, {}).values()), limit))

    def open_count(self, source_id: str, status: IncidentStatus | None = None) -> int:
        """How many incidents of a source are open (with that open status)."""
        counts = self._open_counts.get(source_id, {})
        return sum(counts.values()) if status is None else counts.get(status, 0)

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
        for incident in reversed(self._state.incidents.values()):
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
        cutoff = now - self._limits.retention
        kept_per_source: dict[str, int] = {}
        doomed: list[str] = []
        for incident in reversed(self._state.incidents.values()):
            if incident.status is not IncidentStatus.RESOLVED:
                continue
            kept = kept_per_source.get(incident.source_id, 0)
            if (incident.resolved or incident.created) < cutoff or (
                kept >= self._limits.resolved_per_source
            ):
                doomed.append(incident.id)
            else:
                kept_per_source[incident.source_id] = kept + 1
        for incident_id in doomed:
            del self._state.incidents[incident_id]
            self._state.unsaved_incidents[incident_id] = None
        return len(doomed)
