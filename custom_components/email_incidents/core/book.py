"""The incident book the engine's parts share: the state, the configuration it is read with,
the limits, and an index of the open incidents.

Open incidents are indexed per source (oldest first), by key and by normalised subject, and
counted per status: what an e-mail does is decided without a pass over every open incident.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Final

from .config import SourceConfig
from .models import EscalationPolicy, Incident, IncidentStatus
from .rotation import Rotation
from .rules import normalise_subject
from .state import EngineState
from .text import clean_line

LOG_KEEP_FIRST: Final = 10
NO_SUBJECT: Final = "(no subject)"

type _Lookup = dict[tuple[str, str], dict[str, Incident]]


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


@lru_cache(maxsize=4096)
def normalised_subject(subject: str, summary_chars: int, strip_reply_tags: bool) -> str:
    """Cached: each e-mail of a per-subject source is compared with every open incident."""
    summary = clean_line(subject, summary_chars) or NO_SUBJECT
    return normalise_subject(summary, strip_reply_tags_first=strip_reply_tags)


class IncidentBook:
    """The state and configuration, with the index of open incidents kept up to date."""

    def __init__(
        self,
        state: EngineState,
        sources: Mapping[str, SourceConfig],
        policies: Mapping[str, EscalationPolicy],
        limits: EngineLimits,
    ) -> None:
        self.state = state
        self.sources = dict(sources)
        self.policies = dict(policies)
        self.rotations: dict[str, Rotation] = {}
        self.limits = limits
        self._open: dict[str, dict[str, Incident]] = {}
        self._open_by_key: _Lookup = {}
        self._open_by_subject: _Lookup = {}
        self._open_counts: dict[str, dict[IncidentStatus, int]] = {}
        # Incidents changed since the next deadline was last computed: only their moments are
        # computed again (the next deadline is asked for after every change).
        self.changed_ids: set[str] = set()
        self.index_open()

    def policy_of(self, source: SourceConfig | None) -> EscalationPolicy | None:
        """The escalation policy of a source, if it has one (that still exists)."""
        if source is None or source.escalation_policy_id is None:
            return None
        return self.policies.get(source.escalation_policy_id)

    def index_open(self) -> None:
        """Index the open incidents anew (a new state, or subjects compared differently)."""
        self._open = {}
        self._open_by_key = {}
        self._open_by_subject = {}
        self._open_counts = {}
        for incident in self.state.incidents.values():
            if incident.is_open:
                self.add_open(incident)
        self.changed_ids = {incident.id for incident in self.open_all()}

    def changed(self, incident: Incident) -> None:
        """Every change to an incident is told here: the next write takes it, and the next
        deadline looks at it again."""
        self.state.unsaved_incidents[incident.id] = None
        self.changed_ids.add(incident.id)

    def subject_key(self, source: SourceConfig, subject: str) -> str:
        return normalised_subject(subject, self.limits.summary_chars, source.strip_reply_tags)

    def _lookups(self, incident: Incident) -> list[tuple[_Lookup, tuple[str, str]]]:
        source = self.sources.get(incident.source_id)
        subject = normalised_subject(
            incident.summary,
            self.limits.summary_chars,
            source.strip_reply_tags if source is not None else False,
        )
        lookups = [(self._open_by_subject, (incident.source_id, subject))]
        if incident.key is not None:
            lookups.append((self._open_by_key, (incident.source_id, incident.key)))
        return lookups

    def count_open(self, incident: Incident, change: int) -> None:
        counts = self._open_counts.setdefault(incident.source_id, {})
        counts[incident.status] = counts.get(incident.status, 0) + change

    def add_open(self, incident: Incident) -> None:
        self._open.setdefault(incident.source_id, {})[incident.id] = incident
        self.count_open(incident, 1)
        for lookup, key in self._lookups(incident):
            lookup.setdefault(key, {})[incident.id] = incident

    def remove_open(self, incident: Incident) -> None:
        """Before its status changes: the incident is counted under its open status."""
        if self._open.get(incident.source_id, {}).pop(incident.id, None) is not None:
            self.count_open(incident, -1)
        for lookup, key in self._lookups(incident):
            same = lookup.get(key, {})
            same.pop(incident.id, None)
            if not same:
                lookup.pop(key, None)

    def open_of(self, source_id: str) -> Iterable[Incident]:
        """The source's open incidents, oldest first."""
        return self._open.get(source_id, {}).values()

    def newest_open(self, source_id: str) -> Iterator[Incident]:
        """The source's open incidents, newest first."""
        return reversed(self._open.get(source_id, {}).values())

    def open_with_key(self, source_id: str, key: str) -> list[Incident]:
        return list(self._open_by_key.get((source_id, key), {}).values())

    def newest_with_subject(self, source_id: str, subject_key: str) -> Incident | None:
        same = self._open_by_subject.get((source_id, subject_key), {}).values()
        return next(reversed(same), None)

    def open_all(self) -> Iterable[Incident]:
        for incidents in self._open.values():
            yield from incidents.values()

    def open_count(self, source_id: str, status: IncidentStatus | None = None) -> int:
        """How many incidents of a source are open (with that open status)."""
        counts = self._open_counts.get(source_id, {})
        return sum(counts.values()) if status is None else counts.get(status, 0)
