"""The engine state's JSON form: exact round trips, compact records, migrations, bad data.

Encoding speed is measured, not asserted (shared machines make timing tests flaky): 10,000
incidents with 5 log entries each take about 0.3 s for state_to_data plus json.dumps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.email_incidents.core.models import (
    Actor,
    ActorKind,
    EscalationState,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
    Priority,
)
from custom_components.email_incidents.core.state import (
    SCHEMA_VERSION,
    EngineState,
    StateError,
    incident_to_data,
    state_from_data,
    state_to_data,
    take_changes,
)
from custom_components.email_incidents.core.statistics import (
    DurationSum,
    IncidentStatistics,
    SourceStatistics,
)

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
actors = st.builds(Actor, kind=st.sampled_from(ActorKind), name=st.text(max_size=20))
log_entries = st.builds(
    LogEntry,
    at=times,
    kind=st.sampled_from(LogKind),
    message=st.text(max_size=40),
    actor=st.none() | actors,
)
escalations = st.builds(
    EscalationState,
    policy_id=st.text(min_size=1, max_size=10),
    next_level=st.integers(0, 5),
    round=st.integers(0, 5),
    due=st.none() | times,
)


@st.composite
def incidents(draw: st.DrawFn, number: int) -> Incident:
    return Incident(
        id=f"INC-{number}",
        source_id=draw(st.sampled_from(["nas", "ups", "zabbix"])),
        status=draw(st.sampled_from(IncidentStatus)),
        summary=draw(st.text(max_size=40)),
        details=draw(st.text(max_size=80)),
        key=draw(st.none() | st.text(max_size=20)),
        priority=draw(st.sampled_from(Priority)),
        created=draw(times),
        last_email=draw(st.none() | times),
        accepted=draw(st.none() | times),
        resolved=draw(st.none() | times),
        accepted_by=draw(st.none() | actors),
        resolved_by=draw(st.none() | actors),
        from_address=draw(st.sampled_from(["", "tool@example.com"])),
        email_count=draw(st.integers(0, 1000)),
        log=draw(st.lists(log_entries, max_size=4)),
        log_dropped=draw(st.integers(0, 50)),
        escalation=draw(st.none() | escalations),
    )


@st.composite
def states(draw: st.DrawFn) -> EngineState:
    numbers = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=6))
    found = [draw(incidents(number)) for number in numbers]
    names = st.text(min_size=1, max_size=12)
    return EngineState(
        incidents={incident.id: incident for incident in found},
        next_number=max(numbers, default=0) + 1 + draw(st.integers(0, 3)),
        counters=draw(st.dictionaries(names, st.integers(0, 10**9), max_size=4)),
        source_last_email=draw(st.dictionaries(names, times, max_size=3)),
        maintenance=draw(st.sets(names, max_size=3)),
        support_hours_off=draw(st.sets(names, max_size=3)),
        recent_message_ids=draw(st.dictionaries(names, times, max_size=3)),
        heartbeat_anchor=draw(st.dictionaries(names, times, max_size=3)),
    )


@settings(max_examples=150, deadline=None)
@given(states())
def test_any_state_survives_json_exactly(state: EngineState) -> None:
    data = state_to_data(state)
    assert data["version"] == SCHEMA_VERSION
    restored = state_from_data(json.loads(json.dumps(data)))
    assert restored == state
    assert list(restored.incidents) == list(state.incidents)  # order is newest-last, kept


def _disk_failure(log: list[LogEntry]) -> Incident:
    """A pending incident with nothing but what every incident has, and the log given."""
    return Incident(
        id="INC-1",
        source_id="nas",
        status=IncidentStatus.PENDING,
        summary="Disk failure",
        details="",
        key=None,
        priority=Priority.HIGH,
        created=T0,
        log=log,
    )


def test_records_leave_out_what_is_empty() -> None:
    incident = _disk_failure([LogEntry(at=T0, kind=LogKind.CREATED, message="Disk failure")])
    assert incident_to_data(incident) == {
        "id": "INC-1",
        "source": "nas",
        "status": "pending",
        "summary": "Disk failure",
        "priority": "high",
        "created": "2026-11-26T03:00:00+00:00",
        "emails": 0,
        "log": [["2026-11-26T03:00:00+00:00", "created", "Disk failure", None]],
    }
    incident.key = ""
    assert incident_to_data(incident)["key"] == ""


def test_log_times_keep_their_own_time_zone() -> None:
    """Log times are written out once and reused; the same instant in another zone still
    reads as it was given."""
    in_berlin = T0.astimezone(timezone(timedelta(hours=1)))
    incident = _disk_failure(
        [
            LogEntry(at=T0, kind=LogKind.CREATED),
            LogEntry(at=in_berlin, kind=LogKind.EMAIL),
            LogEntry(at=T0, kind=LogKind.EMAIL),
        ]
    )
    for _ in range(2):  # written out, then reused
        assert [row[0] for row in incident_to_data(incident)["log"]] == [
            "2026-11-26T03:00:00+00:00",
            "2026-11-26T04:00:00+01:00",
            "2026-11-26T03:00:00+00:00",
        ]


def test_state_to_data_shares_no_container_with_the_live_state() -> None:
    state = EngineState(counters={"received": 1}, maintenance={"nas"})
    data = state_to_data(state)
    state.counters["received"] = 2
    state.maintenance.add("ups")
    assert (data["counters"], data["maintenance"]) == ({"received": 1}, ["nas"])


# A layout of schema 0 as it was stored before the first release: incidents in a mapping by id
# and no recently seen Message-IDs.
VERSION_0: dict[str, Any] = {
    "version": 0,
    "next_number": 3,
    "counters": {"received": 2},
    "maintenance": ["ups"],
    "incidents": {
        "INC-2": {
            "id": "INC-2",
            "source": "nas",
            "status": "accepted",
            "summary": "Disk failure",
            "priority": "low",
            "created": "2026-11-26T03:00:00+00:00",
            "emails": 1,
            "accepted": "2026-11-26T03:05:00+00:00",
            "accepted_by": ["user", "Anna"],
            "log": [["2026-11-26T03:00:00+00:00", "created", "Disk failure", ["email", ""]]],
        }
    },
}


def test_schema_0_is_migrated() -> None:
    state = state_from_data(VERSION_0)
    assert state == EngineState(
        incidents={
            "INC-2": Incident(
                id="INC-2",
                source_id="nas",
                status=IncidentStatus.ACCEPTED,
                summary="Disk failure",
                details="",
                key=None,
                priority=Priority.LOW,
                created=T0,
                accepted=T0 + timedelta(minutes=5),
                accepted_by=Actor(kind=ActorKind.USER, name="Anna"),
                email_count=1,
                log=[
                    LogEntry(
                        at=T0,
                        kind=LogKind.CREATED,
                        message="Disk failure",
                        actor=Actor(kind=ActorKind.EMAIL),
                    )
                ],
            )
        },
        next_number=3,
        counters={"received": 2},
        maintenance={"ups"},
        # Stored before statistics were kept: built from the incident.
        statistics=IncidentStatistics(
            sources={
                "nas": SourceStatistics(
                    opened=1, to_accept={T0.date(): DurationSum(count=1, seconds=300.0)}
                )
            }
        ),
    )
    assert VERSION_0["incidents"].keys() == {"INC-2"}  # the stored data is left alone
    assert state_to_data(state)["version"] == SCHEMA_VERSION


def test_incident_ids_are_never_reused_even_when_the_counter_is_behind() -> None:
    data = state_to_data(EngineState(next_number=1))
    data["incidents"] = [dict(VERSION_0["incidents"]["INC-2"], id="INC-7")]
    assert state_from_data(data).next_number == 8
    del data["next_number"]
    assert state_from_data(data).next_number == 8


@pytest.mark.parametrize(
    "data",
    [
        {"version": SCHEMA_VERSION + 1},
        {"version": -1},
        {"version": "one"},
        {"version": SCHEMA_VERSION, "incidents": [{"id": "INC-1"}]},
        {
            "version": SCHEMA_VERSION,
            "incidents": [{**VERSION_0["incidents"]["INC-2"], "status": "lost"}],
        },
        {"version": SCHEMA_VERSION, "counters": ["received"]},
        {"version": SCHEMA_VERSION, "source_last_email": {"nas": "yesterday"}},
        {"version": SCHEMA_VERSION, "statistics": {"nas": {"opened": 1}}},
        {"version": 0, "incidents": 5},
    ],
    ids=[
        "newer",
        "negative",
        "not-a-number",
        "incident-incomplete",
        "unknown-status",
        "counters-not-a-mapping",
        "bad-time",
        "statistics-incomplete",
        "version-0-garbage",
    ],
)
def test_unusable_data_raises_state_error(data: dict[str, Any]) -> None:
    with pytest.raises(StateError):
        state_from_data(data)


def test_changes_are_taken_once() -> None:
    """A write takes what changed since the previous one: created, changed, removed."""
    from datetime import UTC, datetime, timedelta

    from custom_components.email_incidents.core.config import source_from_data
    from custom_components.email_incidents.core.engine import IncidentEngine
    from custom_components.email_incidents.core.models import Actor, ActorKind, InboundEmail

    now = datetime(2026, 11, 26, tzinfo=UTC)
    actor = Actor(kind=ActorKind.USER, name="Anna")
    source = source_from_data("nas", {"name": "NAS", "addresses": ["nas"]}, domain="example.org")
    engine = IncidentEngine(sources={"nas": source})
    for summary in ("one", "two"):
        engine.create("nas", summary=summary, actor=actor, now=now)
    changes = take_changes(engine.state)
    assert list(changes.incidents) == ["INC-1", "INC-2"]  # in creation order
    assert changes.meta == {
        key: value for key, value in state_to_data(engine.state).items()
        if key not in {"incidents", "recent_message_ids"}
    }  # fmt: skip
    assert take_changes(engine.state).incidents == {}
    engine.resolve("INC-1", actor, now)
    assert [r["status"] for r in take_changes(engine.state).incidents.values()] == ["resolved"]
    engine.prune(now + timedelta(days=90))
    assert take_changes(engine.state).incidents == {"INC-1": None}
    email = InboundEmail(message_id="<a@b>", envelope_recipients=("nas@example.org",))
    engine.ingest(email, now)
    assert take_changes(engine.state).message_ids == {"nas <a@b>": now.isoformat()}
    assert take_changes(engine.state).message_ids == {}
    assert take_changes(engine.state, all_message_ids=True).message_ids == {
        "nas <a@b>": now.isoformat()
    }


def test_changes_carry_every_change_of_an_open_incident() -> None:
    """E-mails, escalation steps and support hours (which log nothing) all reach the write."""
    from datetime import UTC, datetime, timedelta

    from custom_components.email_incidents.core.config import policy_from_data, source_from_data
    from custom_components.email_incidents.core.engine import IncidentEngine
    from custom_components.email_incidents.core.models import InboundEmail

    now = datetime(2026, 11, 26, tzinfo=UTC)
    source = source_from_data(
        "ups",
        {"name": "UPS", "addresses": ["ups"], "priority": "low", "escalation_policy": "p"},
        domain="example.org",
    )
    levels = [{"delay_minutes": 0, "targets": []}, {"delay_minutes": 5, "targets": []}]
    policy = policy_from_data("p", {"name": "P", "levels": levels})
    engine = IncidentEngine(sources={"ups": source}, policies={"p": policy})
    email = InboundEmail(subject="On battery", envelope_recipients=("ups@example.org",))

    def record() -> dict[str, Any]:
        changed = take_changes(engine.state).incidents
        assert changed == {"INC-1": incident_to_data(engine.state.incidents["INC-1"])}
        return changed["INC-1"] or {}

    engine.ingest(email, now)
    assert record()["emails"] == 1
    engine.ingest(email, now + timedelta(minutes=1))
    assert record()["emails"] == 2
    engine.run_due(now + timedelta(minutes=1))
    assert record()["escalation"]["level"] == 1  # level 1 ran, level 2 is next
    engine.set_support_hours("ups", False, now)  # changes the escalation, logs nothing
    assert record()["escalation"] == {"policy": "p", "level": 0, "round": 0, "due": None}
