"""The rule tester's replay: recent e-mails, oldest first, through a scratch copy of a source's
incidents with rules that are not saved yet.

The copy starts as the source's incidents were when the first replayed e-mail arrived (those
opened later are left out, those resolved or accepted later are open and pending again), so
three e-mails that became one incident show as one incident opened and two appended, and a
recovery e-mail shows what it resolves. Nothing of the real state changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from .config import SourceConfig
from .engine import IncidentEngine
from .models import InboundEmail, Incident, IncidentStatus
from .outcomes import Outcome, SourceOutcome
from .routing import addressed_to
from .state import EngineState


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayStep:
    """What one e-mail did in the replay.

    `opened` names incidents the replay opened (A, B, ... in order), so they cannot be taken
    for real incidents; `filter_rule` is the number (from 1) of the filter that stopped the
    e-mail, None when the filters match any of them and none did.
    """

    received: datetime
    email: InboundEmail
    outcome: SourceOutcome
    incidents: tuple[str, ...]
    filter_rule: int | None = None


def _as_of(incident: Incident, moment: datetime) -> Incident | None:
    """A copy of the incident as it was at `moment`; None if it did not exist yet."""
    if incident.created >= moment:
        return None
    copy = replace(incident, log=list(incident.log), emails=list(incident.emails), escalation=None)
    if copy.resolved is not None and copy.resolved >= moment:
        copy.resolved = copy.resolved_by = None
    if copy.accepted is not None and copy.accepted >= moment:
        copy.accepted = copy.accepted_by = None
    if copy.resolved is None:
        copy.status = IncidentStatus.ACCEPTED if copy.accepted else IncidentStatus.PENDING
    return copy


def reaches(source: SourceConfig, email: InboundEmail, others: Iterable[SourceConfig]) -> bool:
    """Whether the e-mail reaches the source: by address, or as catch-all of nobody's mail."""
    if addressed_to(source, email):
        return True
    return source.catch_all and not any(addressed_to(other, email) for other in others)


def replay(
    engine: IncidentEngine,
    source: SourceConfig,
    emails: Iterable[tuple[datetime, InboundEmail]],
) -> list[ReplayStep]:
    """Replay the e-mails (oldest first) that reach `source` with its rules as given."""
    others = [s for s in engine.sources.values() if s.source_id != source.source_id]
    received = [(when, email) for when, email in emails if reaches(source, email, others)]
    if not received:
        return []
    start = received[0][0]
    real = engine.state
    state = EngineState(next_number=real.next_number)
    for incident_id, incident in real.incidents.items():
        if incident.source_id == source.source_id and (copy := _as_of(incident, start)):
            state.incidents[incident_id] = copy
    if source.source_id in real.maintenance:
        state.maintenance.add(source.source_id)
    scratch = IncidentEngine(limits=engine.limits)
    scratch.state = state
    scratch.configure({source.source_id: source}, {}, start)
    names: dict[str, str] = {}
    steps = []
    for when, email in received:
        [outcome] = scratch.ingest(email, when).outcomes
        if outcome.outcome is Outcome.CREATED:
            names |= {incident_id: _name(len(names)) for incident_id in outcome.incident_ids}
        steps.append(
            ReplayStep(
                received=when,
                email=email,
                outcome=outcome,
                incidents=tuple(names.get(i, i) for i in outcome.incident_ids),
                filter_rule=source.filters.first_failing(email)
                if outcome.outcome is Outcome.FILTERED
                else None,
            )
        )
    return steps


def _name(number: int) -> str:
    """A, B, ... Z, AA, BB, ... for the incidents a replay opens."""
    return chr(ord("A") + number % 26) * (1 + number // 26)
