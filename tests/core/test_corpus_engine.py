"""Real monitoring e-mails (tests/fixtures) through the parser and the engine.

Each tool gets the alert source a user would configure for it; the problem, repeat and
recovery e-mails must end as exactly the incidents below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.email_incidents.core.config import source_from_data
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.models import ActorKind, EmailRecord, IncidentStatus
from custom_components.email_incidents.core.outcomes import Outcome
from custom_components.email_incidents.core.parser import parse_email

FIXTURES = Path(__file__).parent.parent / "fixtures"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def keyed(address: str, key_rule: dict[str, str], **rules: Any) -> dict[str, Any]:
    return {
        "name": address.capitalize(),
        "addresses": [address],
        "creation_mode": "incident_keys",
        "key_rules": [{**key_rule, "case_sensitive": True}],
        **rules,
    }


def condition(field: str, operator: str, value: str) -> dict[str, str]:
    return {"field": field, "operator": operator, "value": value}


SOURCES = {
    "nagios": keyed(
        "nagios",
        {"field": "subject", "method": "regex", "pattern": r"Alert: (?P<key>\S+) is"},
        resolve_conditions=[condition("subject", "contains", "RECOVERY")],
    ),
    "zabbix": keyed(
        "zabbix",
        {"field": "header:In-Reply-To", "method": "whole"},
        resolve_conditions=[condition("subject", "starts_with", "Resolved")],
        accept_mode="all",
        accept_conditions=[
            condition("subject", "starts_with", "Updated problem"),
            condition("body", "contains", "acknowledged problem"),
        ],
    ),
    "alerts": keyed(
        "alerts",
        {"field": "subject", "method": "regex", "pattern": r"^\[\w+(?::\d+)?\] (.+)$"},
        resolve_conditions=[condition("subject", "starts_with", "[RESOLVED]")],
    ),
    "uptime": keyed(
        "uptime",
        {"field": "subject", "method": "between", "prefix": "] "},
        resolve_conditions=[condition("subject", "matches", r"^\[\W*Up\]")],
    ),
    "ups": keyed(
        "ups",
        {"field": "body", "method": "between", "prefix": "UPSNAME  : "},
        resolve_conditions=[condition("body", "matches", r"STATUS\s+:\s+ONLINE")],
    ),
    "backups": keyed(
        "backups",
        {"field": "subject", "method": "regex", "pattern": r"status \((?P<key>[^)]+)\)"},
        filters=[condition("from", "ends_with", "@pve1.example.com")],
        resolve_conditions=[condition("subject", "ends_with", "backup successful")],
    ),
}


@pytest.fixture
def engine() -> IncidentEngine:
    sources = {
        source_id: source_from_data(source_id, data, domain="homeassistant.local")
        for source_id, data in SOURCES.items()
    }
    return IncidentEngine(sources=sources)


def deliver(engine: IncidentEngine, fixture: str, minutes: int) -> tuple[str, Outcome, str | None]:
    email = parse_email((FIXTURES / f"{fixture}.eml").read_bytes())
    [outcome] = engine.ingest(email, T0 + timedelta(minutes=minutes)).outcomes
    return outcome.source_id, outcome.outcome, outcome.key


def test_problem_repeat_and_recovery_of_every_tool(engine: IncidentEngine) -> None:
    steps = [
        ("nagios_problem", 0),
        ("nagios_problem", 5),  # the same message again: its Message-ID gives it away
        ("zabbix_problem", 6),
        ("alertmanager_firing", 7),
        ("uptime_kuma_down", 8),
        ("apcupsd_onbattery", 9),
        ("proxmox_backup_failed", 10),
        ("zabbix_update", 11),
        ("nagios_recovery", 14),
        ("zabbix_recovery", 20),
        ("alertmanager_resolved", 22),
        ("uptime_kuma_up", 24),
        ("apcupsd_offbattery", 26),
        ("proxmox_backup_ok", 28),
        ("nagios_recovery", 60),  # a late repeat of the recovery, outside the duplicate window
    ]
    assert [deliver(engine, fixture, minutes) for fixture, minutes in steps] == [
        ("nagios", Outcome.CREATED, "webserver/HTTP"),
        ("nagios", Outcome.DUPLICATE, None),
        ("zabbix", Outcome.CREATED, "<1234.5678@zabbix.example>"),
        ("alerts", Outcome.CREATED, "HighCPU (node1 critical)"),
        ("uptime", Outcome.CREATED, "My Site"),
        ("ups", Outcome.CREATED, "ups01"),
        ("backups", Outcome.CREATED, "pve1.example.com"),
        ("zabbix", Outcome.ACCEPTED, "<1234.5678@zabbix.example>"),
        ("nagios", Outcome.RESOLVED, "webserver/HTTP"),
        ("zabbix", Outcome.RESOLVED, "<1234.5678@zabbix.example>"),
        ("alerts", Outcome.RESOLVED, "HighCPU (node1 critical)"),
        ("uptime", Outcome.RESOLVED, "My Site"),
        ("ups", Outcome.RESOLVED, "ups01"),
        ("backups", Outcome.RESOLVED, "pve1.example.com"),
        ("nagios", Outcome.ORPHAN_RESOLVE, "webserver/HTTP"),
    ]
    assert [
        (
            incident.id,
            incident.source_id,
            incident.summary,
            incident.email_count,
            incident.accepted_by.kind if incident.accepted_by else None,
            incident.resolved - T0 if incident.resolved else None,
        )
        for incident in reversed(engine.incidents())
    ] == [
        ("INC-1", "nagios", "** PROBLEM Service Alert: webserver/HTTP is CRITICAL **", 2,
         None, timedelta(minutes=14)),
        ("INC-2", "zabbix", "Problem: High CPU utilization (over 90% for 5m)", 3,
         ActorKind.EMAIL_RULE, timedelta(minutes=20)),
        ("INC-3", "alerts", "[FIRING:1] HighCPU (node1 critical)", 2,
         None, timedelta(minutes=22)),
        ("INC-4", "uptime", "[🔴 Down] My Site", 2, None, timedelta(minutes=24)),
        ("INC-5", "ups", "nas01 UPS ups01 Power Failure !!!", 2, None, timedelta(minutes=26)),
        ("INC-6", "backups", "vzdump backup status (pve1.example.com): backup failed", 2,
         None, timedelta(minutes=28)),
    ]  # fmt: skip
    assert all(
        incident.status is IncidentStatus.RESOLVED
        and incident.resolved_by is not None
        and incident.resolved_by.kind is ActorKind.EMAIL_RULE
        for incident in engine.incidents()
    )
    nagios = engine.get("INC-1")
    assert nagios is not None
    # Resolved: its details are gone, its first e-mail tells what happened.
    assert nagios.details == ""
    first = nagios.emails[0]
    assert isinstance(first, EmailRecord)
    assert "Host: webserver\nAddress: 192.168.1.20\nState: CRITICAL" in first.body
    assert engine.state.counters == {
        "received": 15,
        "duplicate": 1,
        "accepted": 14,
        **{f"source_emails_{source_id}": 2 for source_id in SOURCES},
        "source_emails_nagios": 3,  # the duplicate is not counted for its source
        "source_emails_zabbix": 3,
    }


def test_a_new_problem_after_recovery_opens_a_new_incident(engine: IncidentEngine) -> None:
    deliver(engine, "zabbix_problem", 0)
    deliver(engine, "zabbix_recovery", 10)
    # Zabbix reuses the event id only for one problem; should it come again, it is new.
    assert deliver(engine, "zabbix_problem", 30) == (
        "zabbix",
        Outcome.CREATED,
        "<1234.5678@zabbix.example>",
    )
    assert [(i.id, i.status) for i in engine.open_incidents("zabbix")] == [
        ("INC-2", IncidentStatus.PENDING)
    ]
