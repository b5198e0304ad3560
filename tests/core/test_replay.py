"""The rule tester's replay: recent e-mails through a scratch copy of a source's incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.email_incidents.core.config import SourceConfig, source_from_data
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.models import Actor, ActorKind, InboundEmail
from custom_components.email_incidents.core.outcomes import Outcome
from custom_components.email_incidents.core.replay import replay

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DOMAIN = "homeassistant.local"
USER = Actor(kind=ActorKind.USER, name="Anna")


def _email(subject: str, to: str = "nagios@homeassistant.local") -> InboundEmail:
    return InboundEmail(subject=subject, envelope_recipients=(to,), message_id=f"<{subject}>")


def _source(source_id: str, address: str, **data: object) -> SourceConfig:
    return source_from_data(source_id, {"addresses": [address], **data}, domain=DOMAIN)


KEYED = {
    "creation_mode": "incident_keys",
    "key_rules": [{"field": "subject", "method": "regex", "pattern": r"on (?P<key>\w+)"}],
    "resolve_conditions": [{"field": "subject", "operator": "starts_with", "value": "OK"}],
    "accept_conditions": [{"field": "subject", "operator": "starts_with", "value": "ACK"}],
}


def test_the_scratch_copy_starts_as_the_incidents_were_before_the_first_email() -> None:
    nagios = _source("nagios", "nagios", **KEYED)
    engine = IncidentEngine()
    engine.configure({"nagios": nagios}, {}, T0)
    for number, key in enumerate(("db1", "db2", "db3")):
        engine.create(
            "nagios", summary=key, key=key, actor=USER, now=T0 + timedelta(minutes=number)
        )
    engine.accept("INC-1", USER, T0 + timedelta(minutes=5))  # before the e-mails: stays
    engine.accept("INC-2", USER, T0 + timedelta(minutes=20))  # after: pending in the copy
    engine.resolve("INC-3", USER, T0 + timedelta(minutes=30))  # after: open in the copy
    emails = [
        (T0 + timedelta(minutes=10), _email("ACK on db1")),
        (T0 + timedelta(minutes=11), _email("ACK on db2")),
        (T0 + timedelta(minutes=12), _email("OK on db3")),
        (T0 + timedelta(minutes=13), _email("PROBLEM on db4")),
        (T0 + timedelta(minutes=14), _email("PROBLEM on db4")),  # the same Message-ID again
    ]
    steps = replay(engine, nagios, emails)
    assert [(s.outcome.outcome, s.incidents) for s in steps] == [
        (Outcome.ACCEPTED, ("INC-1",)),  # already accepted: appended, stays accepted
        (Outcome.ACCEPTED, ("INC-2",)),
        (Outcome.RESOLVED, ("INC-3",)),
        (Outcome.CREATED, ("A",)),
        (Outcome.DUPLICATE, ()),
    ]
    # The real incidents did not change.
    assert [engine.get(f"INC-{n}").status for n in (1, 2, 3)] == [
        "accepted",
        "accepted",
        "resolved",
    ]
    assert engine.get("INC-4") is None


def test_only_emails_that_reach_the_source_are_replayed() -> None:
    nagios = _source("nagios", "nagios")
    other = _source("backups", "backups")
    everything_else = _source("misc", "misc", catch_all=True)
    engine = IncidentEngine()
    engine.configure({"nagios": nagios, "backups": other, "misc": everything_else}, {}, T0)
    emails = [
        (T0, _email("to nagios")),
        (T0, _email("to backups", "backups@homeassistant.local")),
        (T0, _email("to nobody", "nobody@homeassistant.local")),
    ]
    assert [s.email.subject for s in replay(engine, nagios, emails)] == ["to nagios"]
    assert [s.email.subject for s in replay(engine, everything_else, emails)] == ["to nobody"]
    assert replay(engine, other, []) == []


def test_a_filtered_email_names_the_filter_that_stopped_it() -> None:
    filters = [
        {"field": "subject", "operator": "contains", "value": "PROBLEM"},
        {"field": "subject", "operator": "not_contains", "value": "test"},
    ]
    engine = IncidentEngine()
    all_of = _source("nagios", "nagios", filters=filters)
    any_of = _source("nagios", "nagios", filters=filters, filter_mode="any")
    engine.configure({"nagios": all_of}, {}, T0)
    emails = [(T0, _email("PROBLEM test")), (T0, _email("hello")), (T0, _email("a test"))]
    assert [s.filter_rule for s in replay(engine, all_of, emails)] == [2, 1, 1]
    assert [(s.outcome.outcome, s.filter_rule) for s in replay(engine, any_of, emails)] == [
        (Outcome.CREATED, None),
        (Outcome.CREATED, None),
        (Outcome.FILTERED, None),
    ]
