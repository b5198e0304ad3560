"""The alert source subentry flow, driven through Home Assistant's flow manager only; the rule
tester over e-mails really delivered by SMTP."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import SUBENTRY_SOURCE
from custom_components.email_incidents.core.models import Actor, ActorKind, Priority

from .conftest import find_device, make_email, policy_subentry, source_subentry
from .flow_driver import Result, choose, fields, options, start, submit, suggested

KEY_RULE = {
    "field": "subject",
    "method": "regex",
    "pattern": r"\] (?P<alert>\w+) \((?P<node>\w+)",
    "prefix": "",
    "suffix": "",
    "case_sensitive": False,
    "template": "{alert}/{node}",
}
KEYED_NAS = source_subentry(creation_mode="incident_keys", key_rules=[KEY_RULE])


def basics(**changes: Any) -> dict[str, Any]:
    """The basics form as a user fills it for a new source."""
    return {
        "name": "Backups",
        "addresses": ["backups"],
        "priority": "high",
        "escalation_policy": "none",
        "creation_mode": "per_subject",
        "strip_reply_tags": True,
        "auto_resolve_minutes": 0,
        "expected_interval_minutes": 0,
        "maintenance_max_minutes": 0,
        "catch_all": False,
        **changes,
    }


def condition(**changes: Any) -> dict[str, Any]:
    return {"field": "subject", "operator": "contains", "value": "PROBLEM"} | {
        "case_sensitive": False,
        **changes,
    }


def key_rule(**changes: Any) -> dict[str, Any]:
    return {"field": "subject", "method": "regex", "case_sensitive": False, **changes}


async def add(hass: HomeAssistant, result: Result, menu: str, form: str, **values: Any) -> Result:
    """From the rules menu: open a rule list, add one rule, return to the rules menu."""
    result = await choose(hass, result, menu)
    result = await choose(hass, result, f"add_{form}")
    result = await submit(hass, result, values)
    assert result["step_id"] == menu, result.get("errors")
    return await choose(hass, result, "rules")


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [source_subentry(), policy_subentry()]


@pytest.fixture
def entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The listener's entry, not loaded: the flows work on its subentries alone."""
    config_entry.add_to_hass(hass)
    return config_entry


# --- alert sources ----------------------------------------------------------------------------


async def test_new_source_with_filters(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    assert result["step_id"] == "basics"
    assert result["description_placeholders"] == {
        "domain": "homeassistant.local",
        "error_detail": "",
    }
    assert options(result, "escalation_policy") == [
        {"value": "none", "label": "No escalation"},
        {"value": "policy_oncall", "label": "On call"},
    ]
    assert suggested(result) == {
        "priority": "high",
        "escalation_policy": "none",
        "creation_mode": "per_subject",
        "strip_reply_tags": True,
        "auto_resolve_minutes": 0,
        "expected_interval_minutes": 0,
        "maintenance_max_minutes": 0,
        "support_hours_entity": None,
        "catch_all": False,
    }

    result = await submit(
        hass,
        result,
        basics(
            name=" Backups ",
            addresses=["Backups", " ops@Example.com ", "backups@homeassistant.local", ""],
            priority="low",
            escalation_policy="policy_oncall",
            auto_resolve_minutes=60.0,
            expected_interval_minutes=1440.0,
            maintenance_max_minutes=480.0,
            support_hours_entity="schedule.office_hours",
        ),
    )
    assert result["step_id"] == "rules"
    assert result["menu_options"] == ["basics", "filters", "test_rules", "save"]
    assert result["description_placeholders"] == {
        "summary": "**Filters** none: every e-mail to the source counts."
    }

    result = await choose(hass, result, "filters")
    assert result["menu_options"] == ["add_filter", "rules"]
    result = await choose(hass, result, "add_filter")
    assert result["step_id"] == "filter"
    assert suggested(result) == {
        "field": "subject",
        "operator": "contains",
        "case_sensitive": False,
    }
    result = await submit(hass, result, condition())
    assert result["menu_options"] == ["add_filter", "edit_filter", "remove_filter", "rules"]
    result = await choose(hass, result, "add_filter")
    result = await submit(hass, result, condition(field="from", value="my-tool@acme.com"))
    assert result["menu_options"] == [
        "add_filter",
        "edit_filter",
        "remove_filter",
        "filter_mode",
        "rules",
    ]
    assert result["description_placeholders"]["rules"] == (
        "**Filters (an e-mail must pass all)**\n"
        "1. Subject contains `PROBLEM`\n"
        "2. From contains `my-tool@acme.com`"
    )
    result = await choose(hass, result, "rules")

    result = await choose(hass, result, "save")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Backups"
    stored = {
        "name": "Backups",
        "addresses": ["backups@homeassistant.local", "ops@example.com"],
        "priority": "low",
        "escalation_policy": "policy_oncall",
        "creation_mode": "per_subject",
        "strip_reply_tags": True,
        "auto_resolve_minutes": 60,
        "expected_interval_minutes": 1440,
        "maintenance_max_minutes": 480,
        "support_hours_entity": "schedule.office_hours",
        "catch_all": False,
        "filters": [condition(), condition(field="from", value="my-tool@acme.com")],
        "filter_mode": "all",
        "key_rules": [],
        "resolve_conditions": [],
        "resolve_mode": "any",
        "accept_conditions": [],
        "accept_mode": "any",
        "no_key_fallback": "open_without_key",
    }
    assert result["data"] == stored
    (added,) = (s for s in entry.subentries.values() if s.title == "Backups")
    assert (added.subentry_type, dict(added.data)) == (SUBENTRY_SOURCE, stored)


@pytest.mark.parametrize(
    ("changes", "errors", "detail"),
    [
        ({"name": "  "}, {"name": "empty_value"}, ""),
        ({"addresses": [" ", ""]}, {"addresses": "no_addresses"}, ""),
        (
            {"addresses": ["backups", "not an address"]},
            {"addresses": "invalid_address"},
            "'not an address' is not an e-mail address",
        ),
        (
            {"addresses": ["nas+tag"]},
            {"addresses": "invalid_address"},
            "'nas+tag' is not an e-mail address",
        ),
        (
            {"addresses": ["backups", "NAS@homeassistant.local"]},
            {"addresses": "duplicate_address"},
            "nas@homeassistant.local (NAS)",
        ),
        ({"catch_all": True}, {"catch_all": "second_catch_all"}, "Everything else"),
    ],
)
@pytest.mark.parametrize(
    "subentries",
    [[source_subentry(), source_subentry("Everything else", ("misc",), "misc", catch_all=True)]],
)
async def test_basics_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
    detail: str,
) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics(**changes))
    assert (result["step_id"], result["errors"]) == ("basics", errors)
    assert result["description_placeholders"]["error_detail"] == detail
    assert suggested(result)["name"] == basics(**changes)["name"]

    result = await submit(hass, result, basics())
    assert result["step_id"] == "rules"


@pytest.mark.parametrize("value", [-1, -0.5, 10080.5, 10081, 1e9])
async def test_maintenance_maximum_out_of_range(
    hass: HomeAssistant, entry: MockConfigEntry, value: float
) -> None:
    """0 (no maximum) to a week; the number box says so, and Home Assistant refuses the rest
    at the field."""
    result = await start(hass, entry, SUBENTRY_SOURCE)
    (selector,) = (
        selector
        for marker, selector in result["data_schema"].schema.items()
        if str(marker.schema) == "maintenance_max_minutes"
    )
    assert (selector.config["min"], selector.config["max"]) == (0, 10080)
    with pytest.raises(InvalidData) as refused:
        await submit(hass, result, basics(maintenance_max_minutes=value))
    assert list(refused.value.schema_errors) == ["maintenance_max_minutes"]
    too = "small" if value < 0 else "large"
    assert refused.value.schema_errors["maintenance_max_minutes"].startswith(
        f"Value {float(value)} is too {too}"
    )

    result = await submit(hass, result, basics(maintenance_max_minutes=float("nan")))
    assert (result["step_id"], result["errors"]) == (
        "basics",
        {"maintenance_max_minutes": "invalid_number"},
    )
    result = await submit(hass, result, basics(maintenance_max_minutes=10080))
    result = await choose(hass, result, "save")
    assert result["data"]["maintenance_max_minutes"] == 10080


@pytest.mark.parametrize(
    "subentries", [[source_subentry(maintenance_max_minutes=480), policy_subentry()]]
)
async def test_reconfigure_keeps_the_maintenance_maximum(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE, "source_nas")
    shown = suggested(result)
    assert shown["maintenance_max_minutes"] == 480
    # The form sent back as shown, with another priority.
    filled = {key: value for key, value in shown.items() if value is not None}
    result = await submit(hass, result, {**filled, "priority": "low"})
    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    data = entry.subentries["source_nas"].data
    assert (data["priority"], data["maintenance_max_minutes"]) == ("low", 480)

    result = await start(hass, entry, SUBENTRY_SOURCE, "source_nas")
    assert suggested(result)["maintenance_max_minutes"] == 480
    result = await submit(hass, result, {**filled, "maintenance_max_minutes": 0})
    result = await choose(hass, result, "save")
    assert entry.subentries["source_nas"].data["maintenance_max_minutes"] == 0


@pytest.mark.parametrize(
    ("rule", "errors", "detail"),
    [
        (condition(value=""), {"value": "empty_value"}, "Enter a value"),
        (
            condition(field="header", header_name=""),
            {"header_name": "invalid_header_name"},
            "Invalid header name ''",
        ),
        (
            condition(field="header", header_name="X Priority"),
            {"header_name": "invalid_header_name"},
            "Invalid header name 'X Priority'",
        ),
        (
            condition(operator="matches", value="PROB(LEM"),
            {"value": "invalid_regex"},
            "missing ) at position 8",
        ),
        (
            condition(operator="not_matches", value="(a+)+$"),
            {"value": "catastrophic_regex"},
            "The repeated group at position 0 can end in a repetition of its own, like (a+)+,"
            " which can take exponential time; simplify the pattern",
        ),
    ],
)
async def test_rule_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    rule: dict[str, Any],
    errors: dict[str, str],
    detail: str,
) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics())
    result = await choose(hass, result, "filters")
    result = await choose(hass, result, "add_filter")
    result = await submit(hass, result, rule)
    assert (result["step_id"], result["errors"]) == ("filter", errors)
    assert result["description_placeholders"] == {"error_detail": detail}
    assert suggested(result)["value"] == rule["value"]

    result = await submit(hass, result, condition())
    assert result["description_placeholders"]["rules"] == (
        "**Filters**\n1. Subject contains `PROBLEM`"
    )


async def test_edit_remove_and_match_mode_of_filters(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics())
    result = await choose(hass, result, "filters")
    for value in ("PROBLEM", "CRITICAL", "DOWN"):
        result = await choose(hass, result, "add_filter")
        result = await submit(hass, result, condition(value=value))

    result = await choose(hass, result, "edit_filter")
    assert options(result, "rule") == [
        {"value": "0", "label": "1. Subject contains “PROBLEM”"},
        {"value": "1", "label": "2. Subject contains “CRITICAL”"},
        {"value": "2", "label": "3. Subject contains “DOWN”"},
    ]
    result = await submit(hass, result, {"rule": "1"})
    assert suggested(result) == {
        "field": "subject",
        "header_name": "",
        "operator": "contains",
        "value": "CRITICAL",
        "case_sensitive": False,
    }
    result = await submit(
        hass,
        result,
        condition(field="header", header_name=" X-Priority ", operator="equals", value="1")
        | {"case_sensitive": True},
    )
    assert result["description_placeholders"]["rules"] == (
        "**Filters (an e-mail must pass all)**\n"
        "1. Subject contains `PROBLEM`\n"
        "2. Header `X-Priority` equals `1` (case sensitive)\n"
        "3. Subject contains `DOWN`"
    )
    result = await choose(hass, result, "edit_filter")
    result = await submit(hass, result, {"rule": "1"})
    assert (suggested(result)["field"], suggested(result)["header_name"]) == (
        "header",
        "X-Priority",
    )
    result = await submit(hass, result, condition(field="body", value="deg`raded"))

    result = await choose(hass, result, "remove_filter")
    assert len(options(result, "rules")) == 3
    result = await submit(hass, result, {"rules": ["0", "2"]})
    assert result["description_placeholders"]["rules"] == (
        "**Filters**\n1. Body contains `` deg`raded ``"
    )
    result = await choose(hass, result, "add_filter")
    result = await submit(hass, result, condition(value="ALERT"))

    result = await choose(hass, result, "filter_mode")
    assert fields(result) == ["filter_mode"]
    assert suggested(result) == {"filter_mode": "all"}
    result = await submit(hass, result, {"filter_mode": "any"})
    assert result["description_placeholders"]["rules"].startswith(
        "**Filters (an e-mail must pass one)**\n"
    )

    result = await choose(hass, result, "remove_filter")
    result = await submit(hass, result, {"rules": ["0", "1"]})
    assert result["menu_options"] == ["add_filter", "rules"]

    result = await choose(hass, await choose(hass, result, "rules"), "save")
    assert (result["data"]["filters"], result["data"]["filter_mode"]) == ([], "any")


async def test_incident_key_source(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics(creation_mode="incident_keys"))
    # A key source without a key rule would key nothing: the first key rule comes first.
    assert result["step_id"] == "key_rule"
    assert suggested(result) == {"field": "subject", "method": "regex", "case_sensitive": False}
    assert result["description_placeholders"] == {
        "error_detail": "",
        "pattern_example": r"`Service Alert: (?P<host>[^/]+)/(?P<service>.+) is`",
        "template_example": "`{host}/{service}`",
    }
    result = await submit(hass, result, key_rule())
    assert result["errors"] == {"pattern": "empty_value"}
    result = await submit(hass, result, key_rule(pattern="[(?P<key>"))
    assert result["errors"] == {"pattern": "invalid_regex"}
    assert result["description_placeholders"]["error_detail"] == (
        "unterminated character set at position 9"
    )
    result = await submit(hass, result, key_rule(method="between", suffix=")"))
    assert result["errors"] == {"prefix": "empty_value"}
    result = await submit(hass, result, key_rule(field="header", header_name="In Reply To"))
    assert result["errors"] == {"header_name": "invalid_header_name"}
    result = await submit(
        hass, result, key_rule(pattern=r"Host (?P<host>\S+)", template="{host}/{service}")
    )
    assert result["errors"] == {"template": "unknown_template_field"}
    assert result["description_placeholders"]["error_detail"] == (
        "The key template names service, which the rule does not find; it knows 1, host"
    )
    result = await submit(
        hass, result, key_rule(field="header", header_name="In-Reply-To", method="whole")
    )
    assert result["step_id"] == "key_rules"
    assert result["menu_options"] == [
        "add_key_rule",
        "edit_key_rule",
        "remove_key_rule",
        "no_key_fallback",
        "rules",
    ]

    result = await choose(hass, result, "add_key_rule")
    result = await submit(hass, result, KEY_RULE)
    result = await choose(hass, result, "add_key_rule")
    result = await submit(
        hass,
        result,
        key_rule(method="between", prefix="Host: ", case_sensitive=True, template="host {key}"),
    )
    assert result["description_placeholders"]["rules"] == (
        "**Key rules (the first that finds a key gives it)**\n"
        "1. Header `In-Reply-To`, Whole field\n"
        r"2. Subject, regular expression `\] (?P<alert>\w+) \((?P<node>\w+)`, key `{alert}/{node}`"
        "\n3. Subject, after `Host: ` to the end of the line (case sensitive), key `host {key}`\n\n"
        "E-mails without a key: Open an incident without key"
    )
    result = await choose(hass, result, "move_key_rule_up")
    assert [option["value"] for option in options(result, "rule")] == ["1", "2"]
    assert options(result, "rule")[0]["label"] == (
        r"2. Subject, regular expression “\] (?P<alert>\w+) \((?P<node>\w+)”, key “{alert}/{node}”"
    )
    result = await submit(hass, result, {"rule": "1"})
    result = await choose(hass, result, "edit_key_rule")
    result = await submit(hass, result, {"rule": "2"})
    assert suggested(result) == {
        "field": "subject",
        "header_name": "",
        "method": "between",
        "pattern": "",
        "prefix": "Host: ",
        "suffix": "",
        "case_sensitive": True,
        "template": "host {key}",
    }
    result = await submit(
        hass, result, key_rule(method="between", prefix="Host: ", suffix=")", template="")
    )
    result = await choose(hass, result, "remove_key_rule")
    # Optional, so the frontend ticks nothing first; nothing chosen removes nothing.
    assert fields(result) == ["rules"]
    assert suggested(result) == {}
    result = await submit(hass, result, {})
    assert "\n3. Subject" in result["description_placeholders"]["rules"]
    result = await choose(hass, result, "remove_key_rule")
    result = await submit(hass, result, {"rules": ["1"]})
    result = await choose(hass, result, "no_key_fallback")
    assert suggested(result) == {"no_key_fallback": "open_without_key"}
    result = await submit(hass, result, {"no_key_fallback": "subject_as_key"})
    assert result["description_placeholders"]["rules"] == (
        "**Key rules (the first that finds a key gives it)**\n"
        r"1. Subject, regular expression `\] (?P<alert>\w+) \((?P<node>\w+)`, key `{alert}/{node}`"
        "\n2. Subject, between `Host: ` and `)`\n\n"
        "E-mails without a key: Use the subject as key"
    )
    result = await choose(hass, result, "rules")
    assert result["menu_options"] == [
        "basics",
        "filters",
        "key_rules",
        "resolve_rules",
        "accept_rules",
        "test_rules",
        "save",
    ]

    result = await add(
        hass,
        result,
        "resolve_rules",
        "resolve_rule",
        **condition(operator="starts_with", value="[RESOLVED"),
    )
    result = await add(hass, result, "resolve_rules", "resolve_rule", **condition(value="OK"))
    result = await add(hass, result, "accept_rules", "accept_rule", **condition(value="ACK"))
    result = await choose(hass, result, "resolve_rules")
    result = await choose(hass, result, "resolve_mode")
    assert suggested(result) == {"resolve_mode": "any"}
    result = await submit(hass, result, {"resolve_mode": "all"})
    result = await choose(hass, result, "rules")
    assert result["description_placeholders"]["summary"] == (
        "**Filters** none: every e-mail to the source counts.\n\n"
        "**Key rules (the first that finds a key gives it)**\n"
        r"1. Subject, regular expression `\] (?P<alert>\w+) \((?P<node>\w+)`, key `{alert}/{node}`"
        "\n2. Subject, between `Host: ` and `)`\n\n"
        "E-mails without a key: Use the subject as key\n\n"
        "**Resolve rules (an e-mail must match all)**\n"
        "1. Subject starts with `[RESOLVED`\n"
        "2. Subject contains `OK`\n\n"
        "**Accept rules**\n"
        "1. Subject contains `ACK`"
    )

    result = await choose(hass, result, "save")
    data = result["data"]
    assert data["key_rules"] == [
        KEY_RULE,
        {
            "field": "subject",
            "method": "between",
            "pattern": "",
            "prefix": "Host: ",
            "suffix": ")",
            "case_sensitive": False,
            "template": "",
        },
    ]
    assert data["no_key_fallback"] == "subject_as_key"
    assert data["resolve_conditions"] == [
        condition(operator="starts_with", value="[RESOLVED"),
        condition(value="OK"),
    ]
    assert data["accept_conditions"] == [condition(value="ACK")]
    assert (data["resolve_mode"], data["accept_mode"]) == ("all", "any")


@pytest.mark.parametrize(
    "subentries",
    [
        [
            source_subentry(
                creation_mode="incident_keys",
                # As stored by version 0.2: one key rule, always case-sensitive.
                key_rule={"field": "subject", "method": "regex", "pattern": r"Host (\S+)"},
                escalation_policy="policy_removed",
                resolve_conditions=[condition(value="RESOLVED")],
                filters=[condition(value="ALERT")],
            )
        ]
    ],
)
async def test_reconfigure_source(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE, "source_nas")
    assert result["step_id"] == "basics"
    assert suggested(result) == {
        "name": "NAS",
        "addresses": ["nas"],
        "priority": "high",
        # The policy was removed: the source falls back to no escalation.
        "escalation_policy": "none",
        "creation_mode": "incident_keys",
        "strip_reply_tags": True,
        "auto_resolve_minutes": 0,
        "expected_interval_minutes": 0,
        "maintenance_max_minutes": 0,
        "support_hours_entity": None,
        "catch_all": False,
    }
    result = await submit(
        hass, result, basics(name="NAS", addresses=["nas"], creation_mode="incident_keys")
    )
    assert (
        "**Key rules (the first that finds a key gives it)**\n"
        r"1. Subject, regular expression `Host (\S+)` (case sensitive)"
        in result["description_placeholders"]["summary"]
    )

    # Its own addresses are no duplicates; leaving incident keys makes their rules dormant.
    result = await choose(hass, result, "basics")
    result = await submit(
        hass, result, basics(name="Storage", addresses=["nas"], creation_mode="per_subject")
    )
    assert "key_rules" not in result["menu_options"]
    assert result["description_placeholders"]["summary"] == (
        "**Filters**\n1. Subject contains `ALERT`"
    )

    result = await choose(hass, result, "save")
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    subentry = entry.subentries["source_nas"]
    assert subentry.title == "Storage"
    assert dict(subentry.data) == {
        "name": "Storage",
        "addresses": ["nas@homeassistant.local"],
        "priority": "high",
        "escalation_policy": None,
        "creation_mode": "per_subject",
        "strip_reply_tags": True,
        "auto_resolve_minutes": 0,
        "expected_interval_minutes": 0,
        "maintenance_max_minutes": 0,
        "support_hours_entity": None,
        "catch_all": False,
        "filters": [condition(value="ALERT")],
        "filter_mode": "all",
        "key_rules": [],
        "resolve_conditions": [],
        "resolve_mode": "any",
        "accept_conditions": [],
        "accept_mode": "any",
        "no_key_fallback": "open_without_key",
    }


# --- the rule tester --------------------------------------------------------------------------


async def test_rule_tester_without_a_running_listener(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"]))
    result = await choose(hass, result, "test_rules")
    assert result["menu_options"] == ["rules", "save"]
    assert result["description_placeholders"] == {
        "results": "The listener is not running, so there are no recent e-mails to test with."
    }


@pytest.mark.parametrize(
    "subentries", [[source_subentry(), source_subentry("Backups", ("backups",), "backups")]]
)
async def test_rule_tester_before_any_email_to_the_source(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    await send_email(recipients=("backups@homeassistant.local",))
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"]))
    result = await choose(hass, result, "test_rules")
    assert result["description_placeholders"] == {
        "results": "No recent e-mail reached this source."
    }
    result = await choose(hass, result, "rules")
    assert result["step_id"] == "rules"


TESTED_EMAILS = (
    ("[FIRING:1] HighCPU (node1 critical)", "nas"),
    ("[FIRING:1] HighCPU (node1 critical)", "nas"),
    ("[RESOLVED] HighCPU (node1 critical)", "nas"),
    ("[FIRING:1] DiskFull (node2 warning)", "nas"),
    ("Weekly *report*", "nas"),
    ("[FIRING:1] NoLabels", "nas"),
    ("Backup done", "backups"),
)


@pytest.mark.parametrize(
    "subentries", [[KEYED_NAS, source_subentry("Backups", ("backups",), "backups")]]
)
async def test_rule_tester_replays_recent_emails_in_order(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Three e-mails that became one incident show as one incident opened, appended to and
    resolved by the unsaved resolve rule; an incident from before the e-mails is appended to."""
    runtime = setup_integration.runtime_data
    freezer.move_to("2026-11-26T18:00:00+00:00")  # 10:00 in the test's time zone, US/Pacific
    await runtime.async_apply(
        lambda now: runtime.engine.create(
            "source_nas",
            summary="Disk",
            key="DiskFull/node2",
            actor=Actor(kind=ActorKind.USER),
            now=now,
        )
    )
    for minute, (subject, to) in enumerate(TESTED_EMAILS, 1):
        freezer.move_to(f"2026-11-26T18:{minute:02d}:00+00:00")
        await send_email(
            make_email(subject=subject, to=f"{to}@homeassistant.local"),
            recipients=(f"{to}@homeassistant.local",),
        )
    # What the saved rules (no resolve rule) did.
    assert [
        (i.id, i.key, i.email_count) for i in runtime.engine.incidents(source_id="source_nas")
    ] == [
        ("INC-4", None, 1),
        ("INC-3", None, 1),
        ("INC-2", "HighCPU/node1", 3),
        ("INC-1", "DiskFull/node2", 1),
    ]
    await runtime.async_apply(
        lambda now: runtime.engine.resolve("INC-1", Actor(kind=ActorKind.USER), now)
    )

    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(
        hass, result, basics(name="NAS", addresses=["nas"], creation_mode="incident_keys")
    )
    result = await add(
        hass,
        result,
        "resolve_rules",
        "resolve_rule",
        **condition(operator="starts_with", value="[resolved"),
    )
    result = await choose(hass, result, "test_rules")
    assert result["description_placeholders"]["results"].splitlines() == [
        "- 2026-11-26 10:01 · \\[FIRING:1\\] HighCPU (node1 critical) · "
        "opens A (key `HighCPU/node1`)",
        "- 2026-11-26 10:02 · \\[FIRING:1\\] HighCPU (node1 critical) · appends to A",
        "- 2026-11-26 10:03 · \\[RESOLVED\\] HighCPU (node1 critical) · resolves A",
        "- 2026-11-26 10:04 · \\[FIRING:1\\] DiskFull (node2 warning) · appends to INC-1",
        "- 2026-11-26 10:05 · Weekly \\*report\\* · no key found, opens B without key",
        "- 2026-11-26 10:06 · \\[FIRING:1\\] NoLabels · no key found, opens C without key",
    ]

    result = await choose(hass, result, "rules")
    result = await add(
        hass, result, "filters", "filter", **condition(operator="not_contains", value="weekly")
    )
    result = await choose(hass, result, "key_rules")
    result = await choose(hass, result, "no_key_fallback")
    result = await submit(hass, result, {"no_key_fallback": "ignore"})
    result = await choose(hass, await choose(hass, result, "rules"), "test_rules")
    assert result["description_placeholders"]["results"].splitlines()[-2:] == [
        "- 2026-11-26 10:05 · Weekly \\*report\\* · filtered by rule 1",
        "- 2026-11-26 10:06 · \\[FIRING:1\\] NoLabels · no key found, ignored",
    ]
    # The tester changed nothing.
    assert runtime.engine.get("INC-2").status == "pending"
    assert runtime.engine.get("INC-1").status == "resolved"
    assert runtime.engine.state.counters["received"] == len(TESTED_EMAILS)

    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert setup_integration.runtime_data.engine.sources["source_nas"].no_key_fallback == "ignore"


@pytest.mark.parametrize("subentries", [[KEYED_NAS]])
async def test_rule_tester_speaks_the_language_of_home_assistant(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    await send_email(make_email(subject="[FIRING:1] HighCPU (node1 critical)"))
    await send_email(make_email(subject="Weekly report"))
    hass.config.language = "de"
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(
        hass, result, basics(name="NAS", addresses=["nas"], creation_mode="incident_keys")
    )
    assert result["description_placeholders"]["summary"].startswith(
        "**Filter** keine: jede E-Mail an die Quelle zählt.\n\n"
        "**Schlüsselregeln (die erste, die einen Schlüssel findet, gibt ihn)**\n"
        r"1. Betreff, regulärer Ausdruck `\] (?P<alert>\w+) \((?P<node>\w+)`, Schlüssel "
    )
    result = await choose(hass, result, "test_rules")
    lines = result["description_placeholders"]["results"].splitlines()
    assert [line.partition(" · ")[2].partition(" · ")[2] for line in lines] == [
        "eröffnet A (Schlüssel `HighCPU/node1`)",
        "kein Schlüssel gefunden, eröffnet B ohne Schlüssel",
    ]


@pytest.mark.parametrize("subentries", [[source_subentry(catch_all=True)]])
async def test_rule_tester_replays_every_kept_email(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    for number in range(1, 23):
        await send_email(make_email(subject=f"Alert {number}"))
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"], catch_all=True))
    result = await choose(hass, result, "test_rules")
    lines = result["description_placeholders"]["results"].splitlines()
    assert len(lines) == 22
    assert lines[0].endswith("· Alert 1 · opens A")
    assert lines[-1].endswith("· Alert 22 · opens V")


async def test_rule_tester_in_maintenance(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    runtime = setup_integration.runtime_data
    runtime.engine.set_maintenance("source_nas", enabled=True, now=dt_util.utcnow())
    await send_email(make_email(subject="Disk failure"))
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"]))
    result = await choose(hass, result, "test_rules")
    assert result["description_placeholders"]["results"].endswith(
        "· Disk failure · maintenance mode: logged only"
    )


# --- changes take effect at once, incidents are kept ------------------------------------------


@pytest.mark.parametrize(
    "subentries",
    [[source_subentry(), source_subentry("Backups", ("backups",), "source_backups")]],
)
async def test_a_changed_source_applies_in_place(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    """No reload: the listener keeps its socket, the other source's entities never change
    state, the changed source's entities follow its new name and rules at once."""
    await send_email(make_email(subject="Volume degraded"))
    await send_email(recipients=("backups@homeassistant.local",))
    runtime = setup_integration.runtime_data
    listener = runtime.listener
    assert listener is not None
    nas_entities = {
        entry.entity_id
        for entry in er.async_entries_for_config_entry(
            er.async_get(hass), setup_integration.entry_id
        )
        if entry.config_subentry_id == "source_nas"
    }
    assert len(nas_entities) >= 7
    changes: list[str] = []
    hass.bus.async_listen(
        EVENT_STATE_CHANGED, lambda event: changes.append(event.data["entity_id"])
    )

    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_backups")
    result = await submit(
        hass, result, basics(name="Nightly backups", addresses=["backups"], priority="low")
    )
    result = await add(hass, result, "filters", "filter", **condition(value="failed"))
    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert setup_integration.runtime_data is runtime
    assert runtime.listener is listener
    assert listener.running
    assert setup_integration.state is ConfigEntryState.LOADED
    assert nas_entities.isdisjoint(changes), sorted(nas_entities.intersection(changes))
    assert "sensor.backups_open_incidents" in changes  # its name changed
    source = runtime.engine.sources["source_backups"]
    assert (source.name, source.priority) == ("Nightly backups", Priority.LOW)
    device = find_device(device_registry, setup_integration.entry_id, "source_backups")
    assert device.name == "Nightly backups"
    assert hass.states.get("sensor.backups_open_incidents").attributes["friendly_name"] == (
        "Nightly backups Open incidents"
    )
    incident = runtime.engine.get("INC-1")
    assert (incident.summary, incident.status) == ("Volume degraded", "pending")
    # The new filter applies to the next e-mail already.
    await send_email(make_email(subject="all good"), recipients=("backups@homeassistant.local",))
    assert runtime.engine.open_count("source_backups") == 1


async def test_new_source_receives_email_without_restart(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    result = await start(hass, setup_integration, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics())
    result = await choose(hass, result, "save")
    await hass.async_block_till_done()

    await send_email(
        make_email(subject="Backup failed"), recipients=("backups@homeassistant.local",)
    )
    runtime = setup_integration.runtime_data
    (source_id,) = (s for s in runtime.engine.sources if s != "source_nas")
    assert [i.summary for i in runtime.engine.incidents(source_id=source_id)] == ["Backup failed"]
