"""The incident engine: routing, creation modes, rules, life cycle, deadlines and state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.email_incidents.core.book import EngineLimits, normalised_subject
from custom_components.email_incidents.core.config import (
    SourceConfig,
    policy_from_data,
    source_from_data,
)
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.models import (
    Actor,
    ActorKind,
    EscalationState,
    Headers,
    InboundEmail,
    IncidentStatus,
    LogKind,
    Priority,
)
from custom_components.email_incidents.core.outcomes import (
    IncidentError,
    IncidentEventType,
    Outcome,
)
from custom_components.email_incidents.core.routing import addressed_to
from custom_components.email_incidents.core.rules import RuleError
from custom_components.email_incidents.core.state import (
    EngineState,
    StateError,
    state_from_data,
    state_to_data,
)
from custom_components.email_incidents.core.text import human_interval

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
USER = Actor(kind=ActorKind.USER, name="Anna")
DOMAIN = "homeassistant.local"


def source(source_id: str = "nas", **data: Any) -> SourceConfig:
    data.setdefault("name", source_id.upper())
    data.setdefault("addresses", [source_id])
    return source_from_data(source_id, data, domain=DOMAIN)


def mail(
    subject: str = "Disk failure",
    to: str = "nas@homeassistant.local",
    body: str = "details",
    message_id: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    sender: str = "tool@example.com",
) -> InboundEmail:
    return InboundEmail(
        subject=subject,
        from_address=sender,
        envelope_recipients=(to,),
        body=body,
        message_id=message_id,
        headers=Headers(headers),
    )


def engine_with(*sources: SourceConfig, **kwargs: Any) -> IncidentEngine:
    return IncidentEngine(sources={s.source_id: s for s in sources}, **kwargs)


def outcomes(engine: IncidentEngine, email: InboundEmail, at: datetime = T0) -> list[str]:
    return [o.outcome.value for o in engine.ingest(email, at).outcomes]


def test_routing_envelope_headers_plus_and_case() -> None:
    nas, ups = source("nas"), source("ups")
    engine = engine_with(nas, ups)
    forwarded = InboundEmail(
        subject="x",
        envelope_recipients=("other@x.org",),
        delivered_to=("UPS+night@HomeAssistant.local",),
    )
    assert [s.source_id for s in engine.route(forwarded)] == ["ups"]
    both = InboundEmail(
        subject="x",
        envelope_recipients=("nas@homeassistant.local",),
        cc=("ups@homeassistant.local", "nas@homeassistant.local"),
    )
    assert [s.source_id for s in engine.route(both)] == ["nas", "ups"]
    assert engine.accepts_recipient("NAS+anything@homeassistant.local")
    assert not engine.accepts_recipient("stranger@homeassistant.local")
    assert outcomes(engine, both) == ["created", "created"]


def test_catch_all_takes_what_nobody_else_does() -> None:
    engine = engine_with(source("nas"), source("other", addresses=["other"], catch_all=True))
    assert engine.accepts_recipient("whatever@example.org")
    assert [s.source_id for s in engine.route(mail(to="x@y.z"))] == ["other"]
    assert [s.source_id for s in engine.route(mail())] == ["nas"]


def test_every_email() -> None:
    engine = engine_with(source(creation_mode="every_email"))
    assert outcomes(engine, mail()) == ["created"]
    assert outcomes(engine, mail()) == ["created"]
    assert [i.id for i in engine.incidents()] == ["INC-2", "INC-1"]


def test_per_subject_ignores_case_whitespace_and_reply_tags() -> None:
    engine = engine_with(source(creation_mode="per_subject"))
    engine.ingest(mail("Disk  failure on NAS"), T0)
    result = engine.ingest(mail("Re: AW: disk failure on nas"), T0 + timedelta(minutes=1))
    assert [(o.outcome, o.incident_ids) for o in result.outcomes] == [
        (Outcome.APPENDED, ("INC-1",))
    ]
    [incident] = engine.incidents()
    assert incident.email_count == 2
    assert incident.last_email == T0 + timedelta(minutes=1)
    assert [entry.kind for entry in incident.log] == [LogKind.CREATED, LogKind.EMAIL]
    assert result.events[0].type is IncidentEventType.UPDATED
    engine.resolve("INC-1", USER, T0)
    assert outcomes(engine, mail("Disk failure on NAS")) == ["created"]  # resolved never reopens


def test_per_subject_without_tag_stripping() -> None:
    engine = engine_with(source(creation_mode="per_subject", strip_reply_tags=False))
    engine.ingest(mail("Disk failure"), T0)
    assert outcomes(engine, mail("Re: Disk failure")) == ["created"]


def test_per_subject_groups_emails_without_a_subject() -> None:
    """They open one "(no subject)" incident, not one each."""
    engine = engine_with(source(creation_mode="per_subject"))
    assert outcomes(engine, mail("")) == ["created"]
    assert outcomes(engine, mail("  ")) == ["appended"]
    [incident] = engine.incidents()
    assert (incident.summary, incident.email_count) == ("(no subject)", 2)


def test_when_all_resolved() -> None:
    engine = engine_with(source(creation_mode="when_all_resolved"))
    engine.ingest(mail("first"), T0)
    engine.accept("INC-1", USER, T0)
    result = engine.ingest(mail("second"), T0)
    assert result.outcomes[0].incident_ids == ("INC-1",)
    engine.resolve("INC-1", USER, T0)
    assert outcomes(engine, mail("third")) == ["created"]


def test_when_all_accepted_or_resolved_alerts_again_at_4am() -> None:
    """Accepted at 3 a.m.; a new problem at 4 a.m. alerts again."""
    engine = engine_with(source(creation_mode="when_all_accepted_or_resolved"))
    engine.ingest(mail("UPS on battery"), T0)
    assert outcomes(engine, mail("still on battery"), T0 + timedelta(minutes=5)) == ["appended"]
    engine.accept("INC-1", USER, T0 + timedelta(minutes=10))
    result = engine.ingest(mail("Disk failure"), T0 + timedelta(hours=1))
    assert result.outcomes[0].outcome is Outcome.CREATED
    assert result.events[0].incident.id == "INC-2"


KEYED: dict[str, Any] = {
    "creation_mode": "incident_keys",
    "key_rules": [{"field": "subject", "method": "regex", "pattern": r"Host: (?P<key>\S+)"}],
    "resolve_conditions": [{"field": "subject", "operator": "contains", "value": "RECOVERY"}],
    "accept_conditions": [{"field": "subject", "operator": "contains", "value": "ACK"}],
}


def test_incident_keys_life_cycle() -> None:
    engine = engine_with(source(**KEYED))
    assert outcomes(engine, mail("PROBLEM Host: web1")) == ["created"]
    assert outcomes(engine, mail("PROBLEM Host: web2")) == ["created"]
    assert outcomes(engine, mail("PROBLEM again Host: web1")) == ["appended"]
    result = engine.ingest(mail("ACK Host: web1", sender="ops@example.com"), T0)
    assert result.outcomes[0].outcome is Outcome.ACCEPTED
    assert result.events[0].type is IncidentEventType.ACCEPTED
    incident = engine.get("INC-1")
    assert incident is not None
    assert incident.accepted_by == Actor(kind=ActorKind.EMAIL_RULE, name="ops@example.com")
    assert outcomes(engine, mail("ACK Host: web1")) == ["accepted"]  # appended, stays accepted
    result = engine.ingest(mail("RECOVERY Host: web1"), T0 + timedelta(hours=1))
    assert result.outcomes[0].outcome is Outcome.RESOLVED
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.resolved == T0 + timedelta(hours=1)
    assert incident.email_count == 5
    assert outcomes(engine, mail("RECOVERY Host: web1")) == ["orphan_resolve"]
    assert outcomes(engine, mail("ACK Host: web9")) == ["orphan_accept"]
    assert [i.id for i in engine.open_incidents("nas")] == ["INC-2"]


@pytest.mark.parametrize(
    ("fallback", "expected", "key"),
    [
        ("open_without_key", "created", None),
        ("subject_as_key", "created", "nokeyhere"),
        ("ignore", "ignored_no_key", None),
    ],
)
def test_no_key_fallbacks(fallback: str, expected: str, key: str | None) -> None:
    engine = engine_with(source(**KEYED, no_key_fallback=fallback))
    result = engine.ingest(mail("No key here"), T0)
    assert result.outcomes[0].outcome.value == expected
    assert result.outcomes[0].key == key


def test_zabbix_key_from_in_reply_to_header() -> None:
    engine = engine_with(
        source(
            "zabbix",
            creation_mode="incident_keys",
            key_rules=[{"field": "header:In-Reply-To", "method": "whole"}],
            resolve_conditions=[
                {"field": "subject", "operator": "starts_with", "value": "Resolved"}
            ],
        )
    )
    headers = (("In-Reply-To", "<1234.5678@zabbix>"),)
    to = "zabbix@homeassistant.local"
    assert outcomes(engine, mail("Problem: CPU", to=to, headers=headers)) == ["created"]
    assert outcomes(engine, mail("Resolved: CPU", to=to, headers=headers)) == ["resolved"]


def test_filters_and_maintenance() -> None:
    engine = engine_with(
        source(filters=[{"field": "subject", "operator": "contains", "value": "PROBLEM"}])
    )
    assert outcomes(engine, mail("all good")) == ["filtered"]
    engine.set_maintenance("nas", True, T0)
    assert engine.in_maintenance("nas")
    assert outcomes(engine, mail("PROBLEM")) == ["maintenance"]
    engine.set_maintenance("nas", False, T0)
    assert outcomes(engine, mail("PROBLEM")) == ["created"]
    assert engine.state.counters == {
        "received": 3,
        "filtered": 1,
        "accepted": 2,
        "source_emails_nas": 3,
    }


def test_duplicate_message_id_within_window() -> None:
    engine = engine_with(source(creation_mode="every_email"))
    assert outcomes(engine, mail(message_id="<a@b>")) == ["created"]
    assert outcomes(engine, mail(message_id="<a@b>"), T0 + timedelta(minutes=5)) == ["duplicate"]
    assert outcomes(engine, mail(message_id="<a@b>"), T0 + timedelta(minutes=16)) == ["created"]
    assert engine.state.counters["duplicate"] == 1


def test_evaluate_changes_nothing() -> None:
    engine = engine_with(source(**KEYED))
    engine.ingest(mail("PROBLEM Host: web1"), T0)
    before = json.dumps(state_to_data(engine.state))
    tested = engine.evaluate(mail("RECOVERY Host: web1"), engine.sources["nas"])
    assert (tested.outcome, tested.incident_ids, tested.key) == (
        Outcome.RESOLVED,
        ("INC-1",),
        "web1",
    )
    assert json.dumps(state_to_data(engine.state)) == before


def test_actions_and_their_errors() -> None:
    engine = engine_with(source())
    [created] = engine.create(
        "nas", summary="Manual", key=" k1 ", priority=Priority.LOW, actor=USER, now=T0
    )
    incident = created.incident
    assert (incident.id, incident.key, incident.priority, incident.email_count) == (
        "INC-1",
        "k1",
        Priority.LOW,
        0,
    )
    engine.add_note("INC-1", "Looking into it", USER, T0)
    assert incident.log[-1].message == "Looking into it"
    engine.accept("INC-1", USER, T0)
    with pytest.raises(IncidentError) as twice:
        engine.accept("INC-1", USER, T0)
    assert twice.value.reason == "already_accepted"
    [resolved] = engine.resolve_by_key("nas", "k1", USER, T0)
    assert resolved.incident.resolved_by == USER
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: engine.resolve("INC-1", USER, T0), "already_resolved"),
        (lambda: engine.accept("INC-9", USER, T0), "unknown_incident"),
        (lambda: engine.add_note("INC-9", "x", USER, T0), "unknown_incident"),
        (lambda: engine.resolve_by_key("nas", "k1", USER, T0), "not_open"),
        (lambda: engine.resolve_by_key("zzz", "k1", USER, T0), "unknown_source"),
        (lambda: engine.create("zzz", summary="x", actor=USER, now=T0), "unknown_source"),
    ]
    for call, reason in calls:
        with pytest.raises(IncidentError) as err:
            call()
        assert err.value.reason == reason


def test_log_cap_keeps_first_and_newest_and_details_cap() -> None:
    limits = EngineLimits(log_entries=20, details_chars=100, summary_chars=10)
    engine = engine_with(source(), limits=limits)
    engine.ingest(mail("A very long subject line", body="x" * 500), T0)
    for minute in range(30):
        engine.ingest(mail("A very long subject line"), T0 + timedelta(minutes=minute))
    [incident] = engine.incidents()
    assert incident.summary == "A very lon"
    assert len(incident.details) == 100
    assert len(incident.log) == 20
    assert incident.log_dropped == 11
    assert incident.log[0].kind is LogKind.CREATED
    assert incident.log[-1].at == T0 + timedelta(minutes=29)


def test_auto_resolve_after_quiet_period() -> None:
    engine = engine_with(source(auto_resolve_minutes=30))
    engine.ingest(mail(), T0)
    engine.ingest(mail(), T0 + timedelta(minutes=20))
    assert engine.next_deadline() == T0 + timedelta(minutes=50)
    assert engine.run_due(T0 + timedelta(minutes=49)) == ()
    [event] = engine.run_due(T0 + timedelta(minutes=50))
    assert event.type is IncidentEventType.RESOLVED
    assert event.incident.resolved_by == Actor(kind=ActorKind.TIMEOUT)
    assert engine.next_deadline() is None


def test_heartbeat_opens_and_next_email_resolves() -> None:
    nightly = source("backup", expected_interval_minutes=1440, creation_mode="every_email")
    engine = IncidentEngine()
    engine.configure({"backup": nightly}, {}, T0)
    assert engine.next_deadline() == T0 + timedelta(days=1)
    [opened] = engine.run_due(T0 + timedelta(days=1))
    assert opened.incident.summary == "No e-mail from BACKUP for 1 day"
    assert engine.next_deadline() is None  # one heartbeat incident at a time
    result = engine.ingest(mail(to="backup@homeassistant.local"), T0 + timedelta(days=1, hours=2))
    assert [e.type for e in result.events] == [
        IncidentEventType.RESOLVED,
        IncidentEventType.CREATED,
    ]
    assert opened.incident.resolved_by == Actor(kind=ActorKind.HEARTBEAT)
    assert engine.next_deadline() == T0 + timedelta(days=2, hours=2)


def test_human_interval() -> None:
    assert [human_interval(timedelta(minutes=m)) for m in (1, 90, 120, 60, 2880)] == [
        "1 minute", "90 minutes", "2 hours", "1 hour", "2 days",
    ]  # fmt: skip


POLICY = policy_from_data(
    "oncall",
    {
        "name": "On call",
        "levels": [
            {"delay_minutes": 0, "targets": ["notify.phone"]},
            {"delay_minutes": 10, "targets": ["notify.partner"]},
        ],
        "repeat": 1,
    },
)


def escalating_engine(**data: Any) -> IncidentEngine:
    engine = IncidentEngine()
    engine.configure({"nas": source(escalation_policy="oncall", **data)}, {"oncall": POLICY}, T0)
    return engine


def test_escalation_levels_and_repeat_round() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    steps = []
    now = T0
    while (due := engine.next_deadline()) is not None:
        now = due
        steps += [(e.level, e.targets, e.round, now - T0) for e in engine.run_due(now)]
    assert steps == [
        (1, ("notify.phone",), 0, timedelta(0)),
        (2, ("notify.partner",), 0, timedelta(minutes=10)),
        (1, ("notify.phone",), 1, timedelta(minutes=11)),
        (2, ("notify.partner",), 1, timedelta(minutes=21)),
    ]
    [incident] = engine.incidents()
    assert [e.message for e in incident.log if e.kind is LogKind.ESCALATED] == [
        "escalated to level 1: notify.phone", "escalated to level 2: notify.partner",
        "escalated to level 1 (round 2): notify.phone",
        "escalated to level 2 (round 2): notify.partner",
    ]  # fmt: skip


def test_accept_stops_escalation_and_overdue_runs_once() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    engine.run_due(T0)
    # Home Assistant was down for an hour: level 2 runs once, the next round counts from now.
    [late] = engine.run_due(T0 + timedelta(hours=1))
    assert late.level == 2
    assert engine.next_deadline() == T0 + timedelta(hours=1, minutes=1)
    engine.accept("INC-1", USER, T0 + timedelta(hours=1))
    assert engine.next_deadline() is None


def test_no_escalation_in_maintenance_or_outside_support_hours() -> None:
    engine = escalating_engine(priority="low", support_hours_entity="schedule.office")
    engine.set_maintenance("nas", True, T0)
    engine.create("nas", summary="during maintenance", actor=USER, now=T0)
    assert engine.next_deadline() is None
    engine.set_support_hours("nas", False, T0)
    engine.set_maintenance("nas", False, T0)  # outside support hours: still paused
    engine.ingest(mail("after hours"), T0)
    assert engine.next_deadline() is None
    engine.set_support_hours("nas", True, T0 + timedelta(hours=6))
    assert engine.next_deadline() == T0 + timedelta(hours=6)
    events = engine.run_due(T0 + timedelta(hours=6))
    assert [(event.incident.summary, event.level) for event in events] == [
        ("during maintenance", 1),
        ("after hours", 1),
    ]
    # Home Assistant repeats an unchanged schedule state: level 2 stays due, nothing restarts.
    engine.set_support_hours("nas", True, T0 + timedelta(hours=6, minutes=5))
    assert engine.next_deadline() == T0 + timedelta(hours=6, minutes=10)
    engine.set_support_hours("nas", False, T0 + timedelta(hours=7))
    assert engine.next_deadline() is None


def test_shrunk_policy_ends_escalation_without_an_event() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    engine.run_due(T0)  # level 1; level 2 is next
    shorter = policy_from_data("oncall", {"levels": [{"delay_minutes": 0}]})
    engine.configure(engine.sources, {"oncall": shorter}, T0)
    assert engine.policies == {"oncall": shorter}
    assert engine.run_due(T0 + timedelta(minutes=10)) == ()
    assert engine.next_deadline() is None


def test_restored_state_is_indexed_and_tidied() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    engine.accept("INC-1", USER, T0)
    engine.ingest(mail("Fan failure"), T0)
    engine.resolve("INC-2", USER, T0)
    restored = state_from_data(state_to_data(engine.state))
    # Stored data from an older release may still schedule an accepted incident.
    restored.incidents["INC-1"].escalation = EscalationState(policy_id="oncall", due=T0)
    engine.state = restored
    assert [i.id for i in engine.open_incidents("nas")] == ["INC-1"]
    assert engine.run_due(T0) == ()
    accepted = engine.get("INC-1")
    assert accepted is not None
    assert accepted.escalation is None
    engine.state = EngineState()
    assert engine.open_incidents("nas") == []


def test_limits_are_checked() -> None:
    assert IncidentEngine(limits=EngineLimits(log_entries=11)).limits.log_entries == 11
    with pytest.raises(ValueError, match="log_entries"):
        EngineLimits(log_entries=10)
    with pytest.raises(ValueError, match="positive"):
        EngineLimits(details_chars=0)


def test_addressed_to_for_the_rule_tester() -> None:
    nas = source("nas")
    assert addressed_to(nas, mail(to="NAS+daily@homeassistant.local"))
    assert addressed_to(nas, InboundEmail(bcc=("nas@homeassistant.local",)))
    assert not addressed_to(nas, mail(to="ups@homeassistant.local"))


def test_removed_policy_stops_escalation() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    engine.configure(engine.sources, {}, T0)
    assert engine.run_due(T0) == ()
    assert engine.next_deadline() is None


def test_notifications_recorded_and_prune() -> None:
    engine = engine_with(
        source(creation_mode="every_email"),
        limits=EngineLimits(retention=timedelta(days=30), resolved_per_source=2),
    )
    for number in range(5):
        engine.ingest(mail(f"m{number}"), T0)
    engine.record_notification("INC-1", target="notify.phone", ok=False, message="boom", now=T0)
    engine.record_notification("INC-99", target="notify.phone", ok=True, message="", now=T0)
    incident = engine.get("INC-1")
    assert incident is not None
    assert incident.log[-1].kind is LogKind.NOTIFY_FAILED
    for number in (1, 2, 3, 4):
        engine.resolve(f"INC-{number}", USER, T0)
    assert engine.prune(T0) == 2  # beyond two resolved per source: the oldest go
    assert [i.id for i in engine.incidents()] == ["INC-5", "INC-4", "INC-3"]
    assert engine.prune(T0 + timedelta(days=31)) == 2
    assert [
        i.id for i in engine.incidents(statuses={IncidentStatus.PENDING}, since=T0, limit=5)
    ] == ["INC-5"]
    assert engine.incidents(source_id="other") == []
    assert engine.incidents(since=T0 + timedelta(seconds=1)) == []


def test_state_round_trip_and_migration() -> None:
    engine = escalating_engine(**KEYED)
    engine.ingest(mail("PROBLEM Host: a", message_id="<m1>"), T0)
    engine.run_due(T0)
    engine.ingest(mail("ACK Host: a"), T0)
    engine.set_maintenance("nas", True, T0)
    engine.set_support_hours("nas", False, T0)
    data = json.loads(json.dumps(state_to_data(engine.state)))
    assert state_from_data(data) == engine.state
    legacy = dict(data, version=0, incidents={i["id"]: i for i in data["incidents"]})
    del legacy["recent_message_ids"]
    migrated = state_from_data(legacy)
    assert migrated.incidents == engine.state.incidents
    assert migrated.recent_message_ids == {}
    with pytest.raises(StateError):
        state_from_data({"version": 99})
    with pytest.raises(StateError):
        state_from_data({"version": 1, "incidents": [{"id": "x"}]})


def test_invalid_source_addresses() -> None:
    for bad in ("not an address@", "a..b", "nas+tag"):
        with pytest.raises(RuleError) as err:
            source(addresses=[bad])
        assert err.value.reason == "invalid_address"
    assert source(addresses=["NAS@Example.org", "nas@example.org"]).addresses == (
        "nas@example.org",
    )


# --- invariants (hypothesis) -------------------------------------------------------------

SUBJECTS = st.sampled_from(
    [
        "PROBLEM Host: a",
        "PROBLEM Host: b",
        "RECOVERY Host: a",
        "ACK Host: b",
        "Re: PROBLEM Host: a",
        "no key",
        "Disk full",
        "disk  FULL",
    ]
)
MODES = st.sampled_from(
    [
        "every_email",
        "per_subject",
        "when_all_resolved",
        "when_all_accepted_or_resolved",
        "incident_keys",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    MODES,
    st.lists(
        st.tuples(SUBJECTS, st.sampled_from(["nas", "ups", "both"]), st.booleans()), max_size=25
    ),
)
def test_invariants(mode: str, steps: list[tuple[str, str, bool]]) -> None:
    data = {**KEYED, "creation_mode": mode}
    engine = engine_with(source("nas", **data), source("ups", **data))
    resolved_snapshots: dict[str, str] = {}
    now = T0
    for subject, target, accept_first in steps:
        now += timedelta(minutes=1)
        recipients = (
            ("nas@homeassistant.local", "ups@homeassistant.local")
            if target == "both"
            else (f"{target}@homeassistant.local",)
        )
        email = InboundEmail(subject=subject, envelope_recipients=recipients)
        result = engine.ingest(email, now)
        # exactly one outcome per routed source
        assert sorted(o.source_id for o in result.outcomes) == sorted(
            {r.split("@")[0] for r in recipients}
        )
        if accept_first and (
            pending := engine.incidents(statuses={IncidentStatus.PENDING}, limit=1)
        ):
            engine.accept(pending[0].id, USER, now)
        for incident in engine.incidents():
            if incident.status is IncidentStatus.RESOLVED:
                snapshot = json.dumps(
                    state_to_data(type(engine.state)(incidents={incident.id: incident}))
                )
                assert resolved_snapshots.setdefault(incident.id, snapshot) == snapshot
        for source_id in ("nas", "ups"):
            open_incidents = engine.open_incidents(source_id)
            if mode == "incident_keys":
                keys = [i.key for i in open_incidents if i.key is not None]
                assert len(keys) == len(set(keys))
            if mode == "per_subject":
                subjects = [
                    normalised_subject(
                        i.summary,
                        engine.limits.summary_chars,
                        engine.sources[source_id].strip_reply_tags,
                    )
                    for i in open_incidents
                ]
                assert len(subjects) == len(set(subjects))
    assert state_from_data(json.loads(json.dumps(state_to_data(engine.state)))) == engine.state
