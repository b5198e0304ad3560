"""What an e-mail does for one alert source (filters, creation mode, keys, resolve and accept
rules), decided without changing anything, so the rule tester can ask the same question."""

from __future__ import annotations

from dataclasses import dataclass
import logging

from .book import IncidentBook
from .config import CreationMode, SourceConfig
from .models import InboundEmail, Incident, IncidentStatus
from .outcomes import Outcome
from .rules import NoKeyFallback, first_key

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    incidents: tuple[Incident, ...] = ()
    key: str | None = None


def decide(book: IncidentBook, source: SourceConfig, email: InboundEmail) -> Decision:
    """In maintenance an e-mail opens nothing; what it does to open incidents it does."""
    decision = _decide_outside_maintenance(book, source, email)
    if decision.outcome is Outcome.CREATED and source.source_id in book.state.maintenance:
        return Decision(Outcome.MAINTENANCE, key=decision.key)
    return decision


def _decide_outside_maintenance(
    book: IncidentBook, source: SourceConfig, email: InboundEmail
) -> Decision:
    if not source.filters.matches(email):
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("%s: the filters do not match %r", source.name, email.subject)
        return Decision(Outcome.FILTERED)
    newest_open = book.newest_open(source.source_id)
    newest: Incident | None
    match source.creation_mode:
        case CreationMode.EVERY_EMAIL:
            return Decision(Outcome.CREATED)
        case CreationMode.PER_SUBJECT:
            wanted = book.subject_key(source, email.subject)
            if (newest := book.newest_with_subject(source.source_id, wanted)) is not None:
                return Decision(Outcome.APPENDED, (newest,))
            return Decision(Outcome.CREATED)
        case CreationMode.WHEN_ALL_RESOLVED:
            if (newest := next(newest_open, None)) is not None:
                return Decision(Outcome.APPENDED, (newest,))
            return Decision(Outcome.CREATED)
        case CreationMode.WHEN_ALL_ACCEPTED_OR_RESOLVED:
            pending = (i for i in newest_open if i.status is IncidentStatus.PENDING)
            if (newest := next(pending, None)) is not None:
                return Decision(Outcome.APPENDED, (newest,))
            return Decision(Outcome.CREATED)
    return _decide_by_key(book, source, email)


def _decide_by_key(book: IncidentBook, source: SourceConfig, email: InboundEmail) -> Decision:
    key = first_key(source.key_rules, email)
    if key is None:
        match source.no_key_fallback:
            case NoKeyFallback.IGNORE:
                return Decision(Outcome.IGNORED_NO_KEY)
            case NoKeyFallback.SUBJECT_AS_KEY:
                key = book.subject_key(source, email.subject) or None
    resolves = source.resolve_rule is not None and source.resolve_rule.matches(email)
    accepts = not resolves and source.accept_rule is not None and source.accept_rule.matches(email)
    matching = tuple(book.open_with_key(source.source_id, key)) if key is not None else ()
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
        return Decision(Outcome.RESOLVED if matching else Outcome.ORPHAN_RESOLVE, matching, key)
    if accepts:
        return Decision(Outcome.ACCEPTED if matching else Outcome.ORPHAN_ACCEPT, matching, key)
    if matching:
        return Decision(Outcome.APPENDED, (matching[-1],), key)
    return Decision(Outcome.CREATED, (), key)
