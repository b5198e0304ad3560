"""Domain types shared by the parser, the rules and the incident engine.

Nothing here imports Home Assistant: the core is plain Python, driven by a clock passed in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from .paging import Bundling


class Headers(Mapping[str, tuple[str, ...]]):
    """Decoded header values by case-insensitive name, each name keeping every occurrence."""

    __slots__ = ("_names", "_values")

    def __init__(self, pairs: tuple[tuple[str, str], ...] = ()) -> None:
        values: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for name, value in pairs:
            folded = name.lower()
            names.setdefault(folded, name)
            values.setdefault(folded, []).append(value)
        self._values = {key: tuple(found) for key, found in values.items()}
        self._names = names

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def first(self, name: str) -> str:
        """The first value of a header, or an empty string when it is absent."""
        found = self._values.get(name.lower())
        return found[0] if found else ""

    def joined(self, name: str) -> str:
        """Every value of a header joined by newlines (for rules on repeated headers)."""
        return "\n".join(self._values.get(name.lower(), ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """An attachment is recorded, never stored."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundEmail:
    """One received e-mail, decoded and sanitised (no control characters in any value)."""

    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    delivered_to: tuple[str, ...] = ()
    envelope_sender: str = ""
    envelope_recipients: tuple[str, ...] = ()
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    date: datetime | None = None
    headers: Headers = field(default_factory=Headers)
    body: str = ""
    attachments: tuple[Attachment, ...] = ()
    size: int = 0
    defects: tuple[str, ...] = ()

    @property
    def header_recipients(self) -> tuple[str, ...]:
        """Addresses from To, Cc, Bcc and Delivered-To (X-Original-To), in that order."""
        return self.to + self.cc + self.bcc + self.delivered_to


class EmailRef(NamedTuple):
    """Where one of an incident's e-mails is kept on disk: they are read when shown, never
    held in memory (thousands of stored incidents would hold megabytes of text)."""

    segment: int
    offset: int
    length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailRecord:
    """What an incident keeps of one of its e-mails: headers, attachments listed, the body."""

    received: datetime
    from_address: str
    to: tuple[str, ...]
    subject: str
    message_id: str
    attachments: tuple[Attachment, ...]
    body: str
    body_truncated: bool = False


# On disk (`EmailRef`), or in memory: e-mails stored before they moved to disk, and those of an
# engine without a place on disk (tests, the rule tester).
type KeptEmail = EmailRef | EmailRecord


class Priority(StrEnum):
    """How urgently an alert source's incidents need attention."""

    HIGH = "high"
    LOW = "low"


class IncidentStatus(StrEnum):
    """Life cycle: pending, then accepted, then resolved (or pending straight to resolved)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"


OPEN_STATUSES = frozenset({IncidentStatus.PENDING, IncidentStatus.ACCEPTED})


class ActorKind(StrEnum):
    """What accepted, resolved or created an incident."""

    EMAIL = "email"
    EMAIL_RULE = "email_rule"
    USER = "user"
    ACTION = "action"
    TIMEOUT = "timeout"
    HEARTBEAT = "heartbeat"
    NOTIFICATION = "notification"


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """Who or what acted; `name` is a user name, rule description or action name."""

    kind: ActorKind
    name: str = ""


class LogKind(StrEnum):
    """Entries of an incident's event log."""

    CREATED = "created"
    EMAIL = "email"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    NOTIFIED = "notified"
    NOTIFY_FAILED = "notify_failed"
    BUNDLED = "bundled"
    UNACCEPTED = "unaccepted"
    NOTE = "note"
    SNOOZED = "snoozed"
    ESCALATE_NOW = "escalate_now"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    """One line of an incident's history."""

    at: datetime
    kind: LogKind
    message: str = ""
    actor: Actor | None = None


@dataclass(slots=True, kw_only=True)
class EscalationState:
    """Where an incident is in its policy: the next level to run and when."""

    policy_id: str
    next_level: int = 0
    round: int = 0
    due: datetime | None = None
    # While snoozed nothing runs; then the level that was next continues.
    snoozed_until: datetime | None = None


@dataclass(slots=True, kw_only=True)
class Incident:
    """An incident of an alert source. Mutable: the engine owns it and moves it along."""

    id: str
    source_id: str
    status: IncidentStatus
    summary: str
    details: str
    key: str | None
    priority: Priority
    created: datetime
    last_email: datetime | None = None
    accepted: datetime | None = None
    resolved: datetime | None = None
    accepted_by: Actor | None = None
    resolved_by: Actor | None = None
    from_address: str = ""
    email_count: int = 0
    log: list[LogEntry] = field(default_factory=list)
    log_dropped: int = 0
    escalation: EscalationState | None = None
    # The last escalation level that ran (1-based; 0 while none has).
    escalation_level: int = 0
    # The first and the newest e-mails; those between them are only counted.
    emails: list[KeptEmail] = field(default_factory=list)
    emails_omitted: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def last_activity(self) -> datetime:
        return self.last_email or self.created


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationLevel:
    """One step of a policy: after `delay` from the previous level, notify `targets`; a
    critical level's notifications ring through Do Not Disturb."""

    delay: timedelta
    targets: tuple[str, ...] = ()
    critical: bool = False


class DoneNotice(StrEnum):
    """What the paged targets' notification becomes when the incident is accepted or
    resolved: replaced by who did it, or cleared."""

    REPLACE = "replace"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationPolicy:
    """Ordered levels, run once and then `repeat` more times while nobody accepts. With
    `bundling`, each target gets at most so many notifications per window (core.paging)."""

    policy_id: str
    name: str
    levels: tuple[EscalationLevel, ...]
    repeat: int = 0
    bundling: Bundling | None = field(default_factory=Bundling)
    done_notice: DoneNotice = DoneNotice.REPLACE
    # An incident accepted and not resolved within this time goes back to pending.
    ack_timeout: timedelta | None = None
