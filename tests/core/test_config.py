"""Alert sources and escalation policies built from the config flow's stored data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from custom_components.email_incidents.core.config import (
    CreationMode,
    SourceConfig,
    normalise_source_address,
    policy_from_data,
    source_from_data,
    upgrade_source_data,
)
from custom_components.email_incidents.core.models import (
    EscalationLevel,
    EscalationPolicy,
    Priority,
)
from custom_components.email_incidents.core.rules import (
    Condition,
    ConditionSet,
    KeyMethod,
    KeyRule,
    MatchMode,
    NoKeyFallback,
    Operator,
    RuleError,
)

DOMAIN = "HomeAssistant.local"


def test_missing_keys_take_the_defaults() -> None:
    assert source_from_data("01NAS", {}, domain=DOMAIN) == SourceConfig(
        source_id="01NAS", name="01NAS", addresses=()
    )
    default = SourceConfig(source_id="x", name="x", addresses=())
    assert (default.priority, default.creation_mode, default.no_key_fallback) == (
        Priority.HIGH,
        CreationMode.PER_SUBJECT,
        NoKeyFallback.OPEN_WITHOUT_KEY,
    )
    assert default.filters.is_empty
    assert default.strip_reply_tags


def test_every_key_of_the_stored_data() -> None:
    data: dict[str, Any] = {
        "name": "Zabbix",
        "addresses": ["zabbix", " Alerts@Example.ORG ", "zabbix@homeassistant.local"],
        "priority": "low",
        "escalation_policy": "oncall",
        "creation_mode": "incident_keys",
        "filter_mode": "any",
        "filters": [
            {"field": "subject", "operator": "contains", "value": "PROBLEM"},
            {
                "field": "header:X-Zabbix-Severity",
                "operator": "equals",
                "value": "High",
                "case_sensitive": True,
            },
        ],
        "key_rules": [
            {"field": "subject", "method": "regex", "pattern": r"Event (?P<key>\d+)"},
            {
                "field": "body",
                "method": "regex",
                "pattern": r"host (?P<host>\w+), item (\w+)",
                "case_sensitive": True,
                "template": "{host}/{2}",
            },
        ],
        "resolve_mode": "all",
        "resolve_conditions": [{"field": "subject", "operator": "starts_with", "value": "OK"}],
        "accept_mode": "any",
        "accept_conditions": [{"field": "body", "operator": "matches", "value": r"ack(ed)?"}],
        "no_key_fallback": "subject_as_key",
        "strip_reply_tags": False,
        "auto_resolve_minutes": 90,
        "expected_interval_minutes": 1440,
        "maintenance_max_minutes": 480,
        "support_hours_entity": "schedule.office",
        "catch_all": True,
    }
    assert source_from_data("01ZBX", data, domain=DOMAIN) == SourceConfig(
        source_id="01ZBX",
        name="Zabbix",
        addresses=("zabbix@homeassistant.local", "alerts@example.org"),
        priority=Priority.LOW,
        creation_mode=CreationMode.INCIDENT_KEYS,
        filters=ConditionSet(
            conditions=(
                Condition(field="subject", operator=Operator.CONTAINS, value="PROBLEM"),
                Condition(
                    field="header:X-Zabbix-Severity",
                    operator=Operator.EQUALS,
                    value="High",
                    case_sensitive=True,
                ),
            ),
            mode=MatchMode.ANY,
        ),
        key_rules=(
            KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"Event (?P<key>\d+)"),
            KeyRule(
                field="body",
                method=KeyMethod.REGEX,
                pattern=r"host (?P<host>\w+), item (\w+)",
                case_sensitive=True,
                template="{host}/{2}",
            ),
        ),
        resolve_rule=ConditionSet(
            conditions=(Condition(field="subject", operator=Operator.STARTS_WITH, value="OK"),),
            mode=MatchMode.ALL,
        ),
        accept_rule=ConditionSet(
            conditions=(Condition(field="body", operator=Operator.MATCHES, value=r"ack(ed)?"),),
            mode=MatchMode.ANY,
        ),
        no_key_fallback=NoKeyFallback.SUBJECT_AS_KEY,
        strip_reply_tags=False,
        auto_resolve_after=timedelta(minutes=90),
        expected_interval=timedelta(days=1),
        maintenance_max=timedelta(hours=8),
        escalation_policy_id="oncall",
        support_hours_entity="schedule.office",
        catch_all=True,
    )


def test_empty_rules_and_zero_minutes_mean_off() -> None:
    config = source_from_data(
        "nas",
        {
            "resolve_conditions": [],
            "accept_conditions": [],
            "key_rules": [],
            "auto_resolve_minutes": 0,
            "expected_interval_minutes": 0,
            "maintenance_max_minutes": 0,
            "escalation_policy": "",
            "support_hours_entity": "",
        },
        domain=DOMAIN,
    )
    assert (
        config.resolve_rule,
        config.accept_rule,
        config.key_rules,
        config.auto_resolve_after,
        config.expected_interval,
        config.maintenance_max,
        config.escalation_policy_id,
        config.support_hours_entity,
    ) == (None, None, (), None, None, None, None, None)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"filters": [{"field": "priority", "operator": "contains", "value": "x"}]}, "field",
         "invalid_field"),
        ({"filters": [{"field": "subject", "operator": "matches", "value": "(a"}]}, "value",
         "invalid_regex"),
        ({"resolve_conditions": [{"field": "body", "operator": "matches", "value": "(a+)+"}]},
         "value", "catastrophic_regex"),
        ({"accept_conditions": [{"field": "body", "operator": "contains"}]}, "value",
         "empty_value"),
        ({"key_rules": [{"field": "header:In Reply To", "method": "whole"}]}, "field",
         "invalid_header_name"),
        ({"key_rules": [{"field": "body", "method": "between"}]}, "prefix", "empty_value"),
        ({"key_rules": [{"field": "body", "method": "regex", "pattern": "(?P<host>x)",
                         "template": "{host}/{service}"}]}, "template", "unknown_template_field"),
        ({"addresses": ["nas box"]}, "addresses", "invalid_address"),
    ],
)  # fmt: skip
def test_invalid_data_names_the_input_at_fault(
    data: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(RuleError) as err:
        source_from_data("nas", data, domain=DOMAIN)
    assert (err.value.field, err.value.reason) == (field, reason)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("nas", "nas@homeassistant.local"),
        ("  NAS  ", "nas@homeassistant.local"),
        ("Backup.Job@Example.org", "backup.job@example.org"),
        ("o'brien_1@mail-01.example.org", "o'brien_1@mail-01.example.org"),
        ("ups@localhost", "ups@localhost"),
    ],
)
def test_addresses_are_normalised(address: str, expected: str) -> None:
    assert normalise_source_address(address, DOMAIN) == expected


@pytest.mark.parametrize(
    "address",
    ["", "@example.org", "nas@", ".nas", "nas.", "n..as", "nas+tag", "nas box", "a@-bad-.org",
     "a@b_c.org", "a@" + "x" * 64 + ".org", "<nas@example.org>"],
)  # fmt: skip
def test_invalid_addresses_are_refused(address: str) -> None:
    with pytest.raises(RuleError) as err:
        normalise_source_address(address, DOMAIN)
    assert (err.value.field, err.value.reason) == ("addresses", "invalid_address")


def test_policy_from_data() -> None:
    assert policy_from_data(
        "01POL",
        {
            "name": "On call",
            "levels": [
                {"delay_minutes": 0, "targets": ["notify.mobile_app_phone"]},
                {"delay_minutes": 15, "targets": ["notify.partner", "notify.family"]},
                {"delay_minutes": 30},
            ],
            "repeat": 2,
        },
    ) == EscalationPolicy(
        policy_id="01POL",
        name="On call",
        levels=(
            EscalationLevel(delay=timedelta(0), targets=("notify.mobile_app_phone",)),
            EscalationLevel(
                delay=timedelta(minutes=15), targets=("notify.partner", "notify.family")
            ),
            EscalationLevel(delay=timedelta(minutes=30)),
        ),
        repeat=2,
    )
    assert policy_from_data("01POL", {}) == EscalationPolicy(
        policy_id="01POL", name="01POL", levels=(), repeat=0
    )


def test_a_source_of_version_1_keeps_its_single_case_sensitive_key_rule() -> None:
    old = {"name": "Nagios", "key_rule": {"field": "subject", "method": "regex", "pattern": "x"}}
    upgraded = upgrade_source_data(old)
    assert upgraded == {
        "name": "Nagios",
        "key_rules": [
            {
                "field": "subject",
                "method": "regex",
                "pattern": "x",
                "case_sensitive": True,
                "template": "",
            }
        ],
    }
    assert upgrade_source_data(upgraded) == upgraded
    assert upgrade_source_data({"name": "NAS", "key_rule": None})["key_rules"] == []
