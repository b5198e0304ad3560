"""Properties of the engine over random e-mail and action sequences (hypothesis).

The basic invariants (one outcome per routed source, one open incident per key or subject,
resolved incidents frozen) are in test_engine.py; these cover the rule tester's promise, the
indexes and the deadlines while time, escalation, auto-resolve and heartbeats run too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json

from hypothesis import given, settings, strategies as st

from custom_components.email_incidents.core.config import policy_from_data, source_from_data
from custom_components.email_incidents.core.deadlines import heartbeat_at, next_moment
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.models import (
    Actor,
    ActorKind,
    InboundEmail,
    IncidentStatus,
)
from custom_components.email_incidents.core.outcomes import Outcome
from custom_components.email_incidents.core.state import state_to_data, take_changes

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
USER = Actor(kind=ActorKind.USER, name="Anna")
MODES = (
    "every_email",
    "per_subject",
    "when_all_resolved",
    "when_all_accepted_or_resolved",
    "incident_keys",
)
POLICY = policy_from_data(
    "oncall",
    {"levels": [{"delay_minutes": 0}, {"delay_minutes": 5}, {"delay_minutes": 0}], "repeat": 1},
)


def busy_engine(mode: str) -> IncidentEngine:
    """Two sources of one mode, with everything that schedules: escalation, quiet, heartbeat."""
    common = {
        "creation_mode": mode,
        "escalation_policy": "oncall",
        "auto_resolve_minutes": 45,
        "expected_interval_minutes": 60,
        "key_rules": [{"field": "subject", "method": "regex", "pattern": r"Host: (?P<key>\S+)"}],
        "resolve_conditions": [{"field": "subject", "operator": "contains", "value": "RECOVERY"}],
        "accept_conditions": [{"field": "subject", "operator": "contains", "value": "ACK"}],
    }
    sources = {
        "nas": source_from_data("nas", {**common, "name": "NAS"}, domain="ha.local"),
        "ups": source_from_data(
            "ups", {**common, "name": "UPS", "priority": "low"}, domain="ha.local"
        ),
    }
    engine = IncidentEngine()
    engine.configure(sources, {"oncall": POLICY}, T0)
    return engine


SUBJECTS = st.sampled_from(
    ["PROBLEM Host: a", "PROBLEM Host: b", "RECOVERY Host: a", "ACK Host: b", "no key", "Re: x"]
)
ACTIONS = st.one_of(
    st.tuples(st.just("mail"), SUBJECTS, st.sampled_from(["nas", "ups", "both"])),
    st.tuples(st.just("accept"), st.integers(1, 12), st.none()),
    st.tuples(st.just("resolve"), st.integers(1, 12), st.none()),
    st.tuples(st.just("wait"), st.integers(0, 90), st.none()),
    st.tuples(st.just("support_hours"), st.booleans(), st.none()),
    st.tuples(st.just("prune"), st.none(), st.none()),
)


def email_for(subject: str, target: str) -> InboundEmail:
    targets = ("nas", "ups") if target == "both" else (target,)
    return InboundEmail(
        subject=subject, envelope_recipients=tuple(f"{t}@ha.local" for t in targets)
    )


def snapshot(engine: IncidentEngine) -> str:
    return json.dumps(state_to_data(engine.state), sort_keys=True)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(MODES), st.lists(ACTIONS, max_size=30))
def test_engine_keeps_its_promises(mode: str, actions: list[tuple[str, object, object]]) -> None:
    engine = busy_engine(mode)
    now = T0
    first_seen: dict[str, tuple[datetime, str]] = {}
    written = WrittenChanges()
    for action, argument, target in actions:
        match action:
            case "mail":
                assert isinstance(argument, str)
                assert isinstance(target, str)
                email = email_for(argument, target)
                before = snapshot(engine)
                predicted = [engine.evaluate(email, source) for source in engine.route(email)]
                assert snapshot(engine) == before  # the rule tester changes nothing
                result = engine.ingest(email, now)
                for guess, outcome in zip(predicted, result.outcomes, strict=True):
                    assert (guess.source_id, guess.outcome, guess.key) == (
                        outcome.source_id,
                        outcome.outcome,
                        outcome.key,
                    )
                    if outcome.outcome is not Outcome.CREATED:
                        assert guess.incident_ids == outcome.incident_ids
            case "accept" | "resolve":
                incident = engine.get(f"INC-{argument}")
                if incident is not None and incident.status is IncidentStatus.PENDING:
                    getattr(engine, action)(incident.id, USER, now)
            case "wait":
                assert isinstance(argument, int)
                now += timedelta(minutes=argument)
                # run_due must settle: repeated calls at one moment end with nothing overdue.
                for _ in range(10):
                    if not engine.run_due(now):
                        break
                deadline = engine.next_deadline()
                assert deadline is None or deadline > now
                assert deadline == scanned_deadline(engine)
            case "support_hours":
                assert isinstance(argument, bool)
                engine.set_support_hours("ups", argument, now)
            case _:
                engine.prune(now + timedelta(days=60))
        check_indexes_and_schedules(engine, first_seen)
        written.check(engine)


def scanned_deadline(engine: IncidentEngine) -> datetime | None:
    """The next deadline from a scan of every open incident (the engine keeps it up to date
    incrementally)."""
    moments = [
        moment
        for incident in engine.incidents()
        if incident.is_open
        and (
            moment := next_moment(
                engine.sources.get(incident.source_id),
                engine.policy_of(incident.source_id),
                incident,
            )
        )
        is not None
    ]
    moments += [
        at
        for source in engine.sources.values()
        if (at := heartbeat_at(source, engine.state, engine.open_incidents(source.source_id)))
    ]
    return min(moments, default=None)


class WrittenChanges:
    """What the store would hold if it wrote only `take_changes`: always the whole state."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, object]] = {}
        self.meta: dict[str, object] = {}

    def check(self, engine: IncidentEngine) -> None:
        changes = take_changes(engine.state)
        self.meta = changes.meta
        for incident_id, record in changes.incidents.items():
            if record is None:
                del self.records[incident_id]
            else:
                self.records[incident_id] = record
        whole = json.loads(json.dumps(state_to_data(engine.state)))
        assert json.loads(json.dumps(self.meta)) == {
            key: value
            for key, value in whole.items()
            if key not in {"incidents", "recent_message_ids"}
        }
        assert json.loads(json.dumps(self.records)) == {r["id"]: r for r in whole["incidents"]}


def check_indexes_and_schedules(
    engine: IncidentEngine, first_seen: dict[str, tuple[datetime, str]]
) -> None:
    everything = engine.incidents()
    # Ids are never reused: a pruned id does not come back for another incident.
    for incident in everything:
        identity = (incident.created, incident.summary)
        assert first_seen.setdefault(incident.id, identity) == identity
    for source_id in ("nas", "ups"):
        open_incidents = engine.open_incidents(source_id)
        assert open_incidents == [
            incident
            for incident in everything
            if incident.source_id == source_id and incident.is_open
        ]
        assert engine.open_count(source_id) == len(open_incidents)
        for status in (IncidentStatus.PENDING, IncidentStatus.ACCEPTED):
            assert engine.open_count(source_id, status) == sum(
                incident.status is status for incident in open_incidents
            )
        assert engine.open_incidents(source_id, 2) == open_incidents[:2]
        heartbeats = [
            i for i in open_incidents if i.log[0].actor == Actor(kind=ActorKind.HEARTBEAT)
        ]
        assert len(heartbeats) <= 1
    for incident in everything:
        if incident.status is not IncidentStatus.PENDING:
            assert incident.escalation is None  # accepting or resolving stops escalation
        elif incident.escalation is not None and incident.source_id == "ups":
            paused = "ups" in engine.state.support_hours_off
            assert (incident.escalation.due is None) is paused
