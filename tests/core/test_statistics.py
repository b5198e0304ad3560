"""Statistics per alert source: incidents opened, and the mean times from creation to accept and
to resolve over the current UTC day and the 29 before it, kept as running sums by the engine.

Each test drives the real engine (e-mails, rules, actions, deadlines) at known moments and
checks the exact figures; the sums also survive JSON, are built once from the incidents of a
state stored before they existed, and always equal what the incidents themselves show.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.email_incidents.core.book import EngineLimits
from custom_components.email_incidents.core.config import (
    SourceConfig,
    policy_from_data,
    source_from_data,
)
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.models import (
    Actor,
    ActorKind,
    InboundEmail,
    IncidentStatus,
)
from custom_components.email_incidents.core.outcomes import IncidentError
from custom_components.email_incidents.core.state import (
    state_from_data,
    state_from_readable_data,
    state_to_data,
    take_changes,
)
from custom_components.email_incidents.core.statistics import (
    WINDOW_DAYS,
    IncidentStatistics,
    MeanDuration,
)

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
ANNA = Actor(kind=ActorKind.USER, name="Anna")
DOMAIN = "homeassistant.local"
# Nagios-like: one incident per host, "ACK" accepts it and "RECOVERY" resolves it.
KEYED = {
    "creation_mode": "incident_keys",
    "key_rules": [{"field": "subject", "method": "regex", "pattern": r"Host: (?P<key>\S+)"}],
    "resolve_conditions": [{"field": "subject", "operator": "contains", "value": "RECOVERY"}],
    "accept_conditions": [{"field": "subject", "operator": "contains", "value": "ACK"}],
}


def source(source_id: str = "nas", **data: Any) -> SourceConfig:
    data.setdefault("name", source_id.upper())
    data.setdefault("addresses", [source_id])
    return source_from_data(source_id, data, domain=DOMAIN)


def mail(subject: str, to: str = "nas") -> InboundEmail:
    return InboundEmail(
        subject=subject, from_address="tool@example.com", envelope_recipients=(f"{to}@{DOMAIN}",)
    )


def engine_with(*sources: SourceConfig, **kwargs: Any) -> IncidentEngine:
    return IncidentEngine(sources={s.source_id: s for s in sources}, **kwargs)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mean(minutes: float, incidents: int) -> MeanDuration:
    return MeanDuration(mean=timedelta(minutes=minutes), incidents=incidents)


def test_means_of_a_known_set_of_incidents() -> None:
    """Every accept counts (a person, an action, an accept rule), every resolve too (a person,
    a resolve rule, the auto-resolve timeout); an incident resolved without an accept counts
    only in the time to resolve."""
    engine = engine_with(source(**KEYED, auto_resolve_minutes=120), source("ups"))
    for host in ("web1", "web2", "web3", "web4"):
        engine.ingest(mail(f"PROBLEM Host: {host}"), T0)
    engine.accept("INC-1", ANNA, at(4))
    engine.ingest(mail("ACK Host: web2"), at(10))
    engine.ingest(mail("RECOVERY Host: web3"), at(15))
    engine.ingest(mail("RECOVERY Host: web2"), at(30))
    engine.resolve("INC-1", ANNA, at(60))
    # web4 hears nothing more: auto-resolved two hours after its last e-mail.
    engine.run_due(at(120))
    statistics = engine.statistics

    assert statistics.opened_count("nas") == 4
    assert statistics.time_to_accept("nas", at(120)) == mean((4 + 10) / 2, 2)
    assert statistics.time_to_resolve("nas", at(120)) == mean((60 + 30 + 15 + 120) / 4, 4)
    assert [incident.status for incident in engine.incidents()] == [IncidentStatus.RESOLVED] * 4
    # Another source has its own figures; one that has seen nothing has none.
    assert statistics.opened_count("ups") == 0
    assert statistics.time_to_accept("ups", at(120)) is None
    assert statistics.time_to_resolve("ups", at(120)) is None
    engine.create("ups", summary="On battery", actor=ANNA, now=at(200))
    assert statistics.opened_count("ups") == 1
    assert statistics.time_to_accept("ups", at(200)) is None


def test_a_refused_action_counts_nothing() -> None:
    engine = engine_with(source())
    engine.ingest(mail("Disk failure"), T0)
    engine.accept("INC-1", ANNA, at(5))
    with pytest.raises(IncidentError):
        engine.accept("INC-1", ANNA, at(6))
    assert engine.statistics.time_to_accept("nas", at(6)) == mean(5, 1)


def test_the_window_is_the_current_utc_day_and_the_29_before_it() -> None:
    engine = engine_with(source(creation_mode="every_email"))
    engine.ingest(mail("Old"), T0)
    engine.accept("INC-1", ANNA, at(10))
    engine.resolve("INC-1", ANNA, at(20))
    statistics = engine.statistics
    accepted_day_end = datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)
    last_moment = accepted_day_end + timedelta(days=WINDOW_DAYS - 1)
    assert statistics.time_to_accept("nas", last_moment) == mean(10, 1)
    assert statistics.time_to_resolve("nas", last_moment) == mean(20, 1)
    # At the UTC midnight 30 days after: gone from the means (31 days ago: long gone).
    assert statistics.time_to_accept("nas", last_moment + timedelta(seconds=1)) is None
    assert statistics.time_to_resolve("nas", at(31 * 24 * 60)) is None
    # An incident accepted now counts alone; the old day is dropped from the sums then.
    now = T0 + timedelta(days=31)
    engine.ingest(mail("New"), now)
    engine.accept("INC-2", ANNA, now + timedelta(minutes=3))
    assert statistics.time_to_accept("nas", now) == mean(3, 1)
    assert [len(s.to_accept) for s in statistics.sources.values()] == [1]
    assert statistics.opened_count("nas") == 2  # ever


def test_an_accept_taken_back_by_the_acknowledgement_timeout_no_longer_counts() -> None:
    """The accept that holds counts, with the time from creation to it."""
    policy = policy_from_data(
        "oncall", {"levels": [{"delay_minutes": 0, "targets": []}], "ack_timeout_minutes": 60}
    )
    engine = IncidentEngine()
    engine.configure({"nas": source(escalation_policy="oncall")}, {"oncall": policy}, T0)
    engine.ingest(mail("Disk failure"), T0)
    engine.run_due(T0)
    engine.accept("INC-1", ANNA, at(5))
    assert engine.statistics.time_to_accept("nas", at(5)) == mean(5, 1)
    engine.run_due(at(65))  # not resolved within an hour: pending again
    assert engine.get("INC-1").status is IncidentStatus.PENDING  # type: ignore[union-attr]
    assert engine.statistics.time_to_accept("nas", at(65)) is None
    engine.accept("INC-1", ANNA, at(70))
    assert engine.statistics.time_to_accept("nas", at(70)) == mean(70, 1)


def test_heartbeat_incidents_count_like_any_other() -> None:
    nightly = source("backup", expected_interval_minutes=60, creation_mode="every_email")
    engine = IncidentEngine()
    engine.configure({"backup": nightly}, {}, T0)
    engine.run_due(at(60))
    engine.ingest(mail("Backup done", to="backup"), at(75))  # ends the heartbeat incident
    statistics = engine.statistics
    assert statistics.opened_count("backup") == 2
    assert statistics.time_to_resolve("backup", at(75)) == mean(15, 1)


def _busy_engine(**limits: Any) -> IncidentEngine:
    engine = engine_with(source(creation_mode="every_email"), limits=EngineLimits(**limits))
    for number in range(1, 4):
        engine.ingest(mail(f"Problem {number}"), at(number))
    engine.accept("INC-1", ANNA, at(11))
    engine.accept("INC-2", ANNA, at(22))
    engine.resolve("INC-2", ANNA, at(42))
    return engine


def test_statistics_survive_json_with_the_state() -> None:
    engine = _busy_engine()
    data = json.loads(json.dumps(state_to_data(engine.state)))
    assert data["statistics"] == {
        "nas": {
            "opened": 3,
            "to_accept": [["2026-11-26", 2, 30 * 60.0]],
            "to_resolve": [["2026-11-26", 1, 40 * 60.0]],
        }
    }
    restored = state_from_data(data)
    assert restored.statistics == engine.state.statistics
    assert restored.statistics.time_to_accept("nas", at(60)) == mean(15, 2)
    # Written whole with every change, like the rest of the small fields.
    assert take_changes(engine.state).meta["statistics"] == data["statistics"]


def test_data_taken_for_a_write_stays_as_it_was_taken() -> None:
    """A write is encoded on another thread while the engine goes on; a source's data is
    built again only when it changes."""
    engine = _busy_engine()
    first = take_changes(engine.state).meta["statistics"]
    as_taken = json.loads(json.dumps(first))
    engine.accept("INC-3", ANNA, at(33))
    second = take_changes(engine.state).meta["statistics"]
    assert second["nas"]["to_accept"] == [["2026-11-26", 3, 60 * 60.0]]
    engine.prune(T0 + timedelta(days=WINDOW_DAYS))
    third = take_changes(engine.state).meta["statistics"]
    assert third == {"nas": {"opened": 3, "to_accept": [], "to_resolve": []}}
    assert first == as_taken
    assert second["nas"]["to_accept"] == [["2026-11-26", 3, 60 * 60.0]]


def test_a_state_from_before_statistics_builds_them_once_from_its_incidents() -> None:
    engine = _busy_engine()
    data = state_to_data(engine.state)
    del data["statistics"]
    restored = state_from_data(data)
    assert restored.statistics == engine.state.statistics
    # Stored again, they are read, not built: the count goes on past pruned incidents.
    restored.statistics.sources["nas"].opened = 500
    assert state_from_data(state_to_data(restored)).statistics.opened_count("nas") == 500
    # A damaged store: built from the incidents that could be read.
    data["incidents"][2]["status"] = "exploded"
    readable, skipped = state_from_readable_data(data)
    assert skipped == 1
    assert readable.statistics.opened_count("nas") == 2
    assert readable.statistics.time_to_accept("nas", at(60)) == mean(15, 2)


def test_unreadable_statistics_are_built_from_the_incidents() -> None:
    engine = _busy_engine()
    data = state_to_data(engine.state)
    data["statistics"] = {"nas": {"opened": "many"}}
    readable, skipped = state_from_readable_data(data)
    assert skipped == 1
    assert readable.statistics == engine.state.statistics


def test_the_figures_outlive_pruned_incidents() -> None:
    engine = _busy_engine(retention=timedelta(days=1))
    engine.resolve("INC-1", ANNA, at(61))
    assert engine.prune(T0 + timedelta(days=2)) == 2
    assert [incident.id for incident in engine.incidents()] == ["INC-3"]
    statistics = engine.statistics
    assert statistics.opened_count("nas") == 3
    assert statistics.time_to_resolve("nas", T0 + timedelta(days=2)) == mean((60 + 40) / 2, 2)
    # Pruning drops the days that left the window.
    engine.prune(T0 + timedelta(days=WINDOW_DAYS))
    assert statistics.sources["nas"].to_accept == {}
    assert statistics.sources["nas"].to_resolve == {}
    assert statistics.opened_count("nas") == 3


# Steps of a random life: an e-mail opening an incident (to a source), an accept or a resolve
# (of the n-th incident, refused when it cannot be done), time passing (deadlines run: the
# acknowledgement timeout takes accepts back, auto-resolve resolves).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("email"), st.sampled_from(["nas", "ups"])),
        st.tuples(st.just("accept"), st.integers(1, 8)),
        st.tuples(st.just("resolve"), st.integers(1, 8)),
        st.tuples(st.just("wait"), st.integers(1, 200)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_the_running_sums_equal_what_the_incidents_show(
    life: list[tuple[str, Any]],
) -> None:
    policy = policy_from_data(
        "oncall", {"levels": [{"delay_minutes": 0, "targets": []}], "ack_timeout_minutes": 45}
    )
    engine = IncidentEngine()
    engine.configure(
        {
            "nas": source(creation_mode="every_email", escalation_policy="oncall"),
            "ups": source("ups", creation_mode="every_email", auto_resolve_minutes=90),
        },
        {"oncall": policy},
        T0,
    )
    now = T0
    for step, value in life:
        if step == "email":
            engine.ingest(mail("Problem", to=value), now)
        elif step == "wait":
            now += timedelta(minutes=value)
            engine.run_due(now)
        else:
            with suppress(IncidentError):  # one already accepted or resolved, or not yet open
                (engine.accept if step == "accept" else engine.resolve)(f"INC-{value}", ANNA, now)
    # Whole minutes within days: the sums are exact, whatever their order.
    assert engine.statistics == IncidentStatistics.from_incidents(engine.incidents()[::-1])
