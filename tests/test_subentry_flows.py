"""Alert source and escalation policy subentry flows, driven through Home Assistant's flow
manager only; the rule tester over e-mails really delivered by SMTP."""

from __future__ import annotations

from typing import Any, cast

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData, SubentryFlowContext
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import SUBENTRY_POLICY, SUBENTRY_SOURCE
from custom_components.email_incidents.core.engine import Outcome, SourceOutcome
from custom_components.email_incidents.core.models import Actor, ActorKind, Priority
from custom_components.email_incidents.subentry_flows import outcome_text

from .conftest import make_email, policy_subentry, source_subentry
from .test_translations import assert_translated

type Result = dict[str, Any]

KEY_RULE = {
    "field": "subject",
    "method": "regex",
    "pattern": r"\] (\w+) \((\w+)",
    "prefix": "",
    "suffix": "",
}
KEYED_NAS = source_subentry(creation_mode="incident_keys", key_rule=KEY_RULE)


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
        "catch_all": False,
        **changes,
    }


def condition(**changes: Any) -> dict[str, Any]:
    return {"field": "subject", "operator": "contains", "value": "PROBLEM"} | {
        "case_sensitive": False,
        **changes,
    }


def suggested(result: Result) -> dict[str, Any]:
    """The values a form shows pre-filled."""
    return {
        str(marker.schema): marker.description["suggested_value"]
        for marker in result["data_schema"].schema
        if marker.description and "suggested_value" in marker.description
    }


def fields(result: Result) -> list[str]:
    return [str(marker.schema) for marker in result["data_schema"].schema]


def options(result: Result, field: str) -> list[Any]:
    for marker, selector in result["data_schema"].schema.items():
        if str(marker.schema) == field:
            return list(selector.config["options"])
    raise AssertionError(field)


async def start(
    hass: HomeAssistant, entry: MockConfigEntry, kind: str, subentry_id: str | None = None
) -> Result:
    context = SubentryFlowContext(source="reconfigure" if subentry_id else "user")
    if subentry_id:
        context["subentry_id"] = subentry_id
    result = cast(
        Result,
        await hass.config_entries.subentries.async_init((entry.entry_id, kind), context=context),
    )
    assert_translated(result)
    return result


async def submit(hass: HomeAssistant, result: Result, user_input: dict[str, Any]) -> Result:
    new = cast(
        Result, await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    )
    assert_translated(new)
    return new


async def choose(hass: HomeAssistant, result: Result, option: str) -> Result:
    assert result["type"] is FlowResultType.MENU
    assert option in result["menu_options"]
    return await submit(hass, result, {"next_step_id": option})


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
            support_hours_entity="schedule.office_hours",
        ),
    )
    assert result["step_id"] == "rules"
    assert result["menu_options"] == ["basics", "add_rule", "match_modes", "test_rules", "save"]
    assert result["description_placeholders"] == {
        "summary": "No rules yet: every e-mail to the source counts."
    }

    result = await choose(hass, result, "add_rule")
    assert result["step_id"] == "rule"
    assert "rule_set" not in fields(result)
    assert suggested(result) == {
        "field": "subject",
        "operator": "contains",
        "case_sensitive": False,
    }
    result = await submit(hass, result, condition())
    result = await choose(hass, result, "add_rule")
    result = await submit(hass, result, condition(field="from", value="my-tool@acme.com"))
    assert result["menu_options"] == [
        "basics",
        "add_rule",
        "edit_rule",
        "remove_rules",
        "match_modes",
        "test_rules",
        "save",
    ]
    assert result["description_placeholders"]["summary"] == (
        "- filters: subject contains “PROBLEM”\n- filters: from contains “my-tool@acme.com”"
    )

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
        "support_hours_entity": "schedule.office_hours",
        "catch_all": False,
        "filters": [
            {
                "field": "subject",
                "operator": "contains",
                "value": "PROBLEM",
                "case_sensitive": False,
            },
            {
                "field": "from",
                "operator": "contains",
                "value": "my-tool@acme.com",
                "case_sensitive": False,
            },
        ],
        "filter_mode": "all",
        "key_rule": None,
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
    result = await choose(hass, result, "add_rule")
    result = await submit(hass, result, rule)
    assert (result["step_id"], result["errors"]) == ("rule", errors)
    assert result["description_placeholders"] == {"error_detail": detail}
    assert suggested(result)["value"] == rule["value"]

    result = await submit(hass, result, condition())
    assert result["description_placeholders"]["summary"] == "- filters: subject contains “PROBLEM”"


async def test_edit_remove_and_match_mode_of_filters(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics())
    for value in ("PROBLEM", "CRITICAL", "DOWN"):
        result = await choose(hass, result, "add_rule")
        result = await submit(hass, result, condition(value=value))

    result = await choose(hass, result, "edit_rule")
    assert options(result, "rule") == [
        {"value": "filters:0", "label": "filters: subject contains “PROBLEM”"},
        {"value": "filters:1", "label": "filters: subject contains “CRITICAL”"},
        {"value": "filters:2", "label": "filters: subject contains “DOWN”"},
    ]
    result = await submit(hass, result, {"rule": "filters:1"})
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
    assert result["description_placeholders"]["summary"] == (
        "- filters: subject contains “PROBLEM”\n"
        "- filters: header:X-Priority equals “1” (case sensitive)\n"
        "- filters: subject contains “DOWN”"
    )
    result = await choose(hass, result, "edit_rule")
    result = await submit(hass, result, {"rule": "filters:1"})
    assert (suggested(result)["field"], suggested(result)["header_name"]) == (
        "header",
        "X-Priority",
    )
    result = await submit(hass, result, condition(field="body", value="degraded"))

    result = await choose(hass, result, "remove_rules")
    assert len(options(result, "rules")) == 3
    result = await submit(hass, result, {"rules": ["filters:0", "filters:2"]})
    assert result["description_placeholders"]["summary"] == "- filters: body contains “degraded”"

    result = await choose(hass, result, "match_modes")
    assert fields(result) == ["filter_mode"]
    assert suggested(result) == {"filter_mode": "all"}
    result = await submit(hass, result, {"filter_mode": "any"})

    result = await choose(hass, result, "remove_rules")
    result = await submit(hass, result, {"rules": ["filters:0"]})
    assert "edit_rule" not in result["menu_options"]

    result = await choose(hass, result, "save")
    assert (result["data"]["filters"], result["data"]["filter_mode"]) == ([], "any")


async def test_incident_key_source(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await start(hass, entry, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics(creation_mode="incident_keys"))
    # A key source without a key rule would key nothing: the key rule comes first.
    assert result["step_id"] == "key_rule"
    assert suggested(result) == {
        "field": "subject",
        "header_name": "",
        "method": "regex",
        "no_key_fallback": "open_without_key",
    }
    key_input = {"field": "subject", "method": "regex", "no_key_fallback": "ignore"}
    result = await submit(hass, result, key_input)
    assert result["errors"] == {"pattern": "empty_value"}
    result = await submit(hass, result, key_input | {"pattern": "[(?P<key>"})
    assert result["errors"] == {"pattern": "invalid_regex"}
    assert result["description_placeholders"] == {
        "error_detail": "unterminated character set at position 9"
    }
    result = await submit(hass, result, key_input | {"method": "between", "suffix": ")"})
    assert result["errors"] == {"prefix": "empty_value"}
    result = await submit(
        hass, result, key_input | {"field": "header", "header_name": "In Reply To"}
    )
    assert result["errors"] == {"header_name": "invalid_header_name"}
    result = await submit(
        hass,
        result,
        key_input | {"field": "header", "header_name": "In-Reply-To", "method": "whole"},
    )
    assert result["menu_options"] == [
        "basics",
        "add_rule",
        "match_modes",
        "key_rule",
        "test_rules",
        "save",
    ]
    assert result["description_placeholders"]["summary"] == "- key: whole on header:In-Reply-To"

    result = await choose(hass, result, "key_rule")
    assert suggested(result) == {
        "field": "header",
        "header_name": "In-Reply-To",
        "method": "whole",
        "pattern": "",
        "prefix": "",
        "suffix": "",
        "no_key_fallback": "ignore",
    }
    result = await submit(hass, result, KEY_RULE | {"no_key_fallback": "subject_as_key"})

    result = await choose(hass, result, "add_rule")
    assert options(result, "rule_set") == ["filters", "resolve_conditions", "accept_conditions"]
    result = await submit(
        hass,
        result,
        condition(operator="starts_with", value="[RESOLVED") | {"rule_set": "resolve_conditions"},
    )
    result = await choose(hass, result, "add_rule")
    result = await submit(hass, result, condition(value="ACK") | {"rule_set": "resolve_conditions"})
    # Moving a condition to another rule: it leaves the first and joins the second.
    result = await choose(hass, result, "edit_rule")
    result = await submit(hass, result, {"rule": "resolve_conditions:1"})
    assert suggested(result)["rule_set"] == "resolve_conditions"
    result = await submit(hass, result, condition(value="ACK") | {"rule_set": "accept_conditions"})
    assert result["description_placeholders"]["summary"] == (
        "- resolve_conditions: subject starts with “[RESOLVED”\n"
        "- accept_conditions: subject contains “ACK”\n"
        "- key: regex on subject"
    )
    result = await choose(hass, result, "match_modes")
    assert suggested(result) == {"filter_mode": "all", "resolve_mode": "any", "accept_mode": "any"}
    result = await submit(
        hass, result, {"filter_mode": "all", "resolve_mode": "all", "accept_mode": "any"}
    )

    result = await choose(hass, result, "save")
    data = result["data"]
    assert data["key_rule"] == KEY_RULE
    assert data["no_key_fallback"] == "subject_as_key"
    assert data["resolve_conditions"] == [condition(operator="starts_with", value="[RESOLVED")]
    assert data["accept_conditions"] == [condition(value="ACK")]
    assert (data["resolve_mode"], data["accept_mode"]) == ("all", "any")


@pytest.mark.parametrize(
    "subentries",
    [
        [
            source_subentry(
                creation_mode="incident_keys",
                key_rule=KEY_RULE,
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
        "support_hours_entity": None,
        "catch_all": False,
    }
    # Its own addresses are no duplicates; leaving incident keys makes their rules dormant.
    result = await submit(
        hass, result, basics(name="Storage", addresses=["nas"], creation_mode="per_subject")
    )
    assert "key_rule" not in result["menu_options"]
    assert result["description_placeholders"]["summary"] == "- filters: subject contains “ALERT”"
    result = await choose(hass, result, "basics")
    assert suggested(result)["name"] == "Storage"
    result = await submit(
        hass, result, basics(name="Storage", addresses=["nas"], creation_mode="per_subject")
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
        "support_hours_entity": None,
        "catch_all": False,
        "filters": [condition(value="ALERT")],
        "filter_mode": "all",
        "key_rule": None,
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


async def test_rule_tester_before_any_email(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    result = await start(hass, setup_integration, SUBENTRY_SOURCE)
    result = await submit(hass, result, basics())
    result = await choose(hass, result, "test_rules")
    assert result["description_placeholders"] == {"results": "No e-mails received yet."}
    result = await choose(hass, result, "rules")
    assert result["step_id"] == "rules"


@pytest.mark.parametrize(
    "subentries", [[KEYED_NAS, source_subentry("Backups", ("backups",), "backups")]]
)
async def test_rule_tester_on_delivered_emails(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to("2026-11-26T18:02:00+00:00")  # 10:02 in the test's time zone, US/Pacific
    for subject, to in (
        ("[FIRING:1] HighCPU (node1 critical)", "nas"),
        ("[FIRING:1] DiskFull (node2 warning)", "nas"),
        ("[RESOLVED] DiskFull (node2 warning)", "nas"),
        ("Weekly report", "nas"),
        ("[FIRING:1] NoLabels", "nas"),
        ("Backup done", "backups"),
    ):
        await send_email(
            make_email(subject=subject, to=f"{to}@homeassistant.local"),
            recipients=(f"{to}@homeassistant.local",),
        )
    runtime = setup_integration.runtime_data
    assert [(i.id, i.key) for i in runtime.engine.incidents(source_id="source_nas")] == [
        ("INC-4", None),
        ("INC-3", None),
        ("INC-2", "DiskFull-node2"),
        ("INC-1", "HighCPU-node1"),
    ]
    await runtime.async_apply(
        lambda now: runtime.engine.resolve("INC-1", Actor(kind=ActorKind.USER), now)
    )

    # Unsaved rules: a resolve rule, a filter and ignoring e-mails without a key.
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(
        hass, result, basics(name="NAS", addresses=["nas"], creation_mode="incident_keys")
    )
    result = await choose(hass, result, "add_rule")
    result = await submit(
        hass,
        result,
        condition(operator="starts_with", value="[resolved") | {"rule_set": "resolve_conditions"},
    )
    result = await choose(hass, result, "add_rule")
    result = await submit(
        hass, result, condition(operator="not_contains", value="weekly") | {"rule_set": "filters"}
    )
    result = await choose(hass, result, "key_rule")
    result = await submit(hass, result, KEY_RULE | {"no_key_fallback": "ignore"})

    result = await choose(hass, result, "test_rules")
    assert result["description_placeholders"]["results"].splitlines() == (
        [
            "- 2026-11-26 10:02 · Backup done · not addressed to this source",
            "- 2026-11-26 10:02 · [FIRING:1] NoLabels · no key: ignored",
            "- 2026-11-26 10:02 · Weekly report · filtered",
            "- 2026-11-26 10:02 · [RESOLVED] DiskFull (node2 warning) · "
            "resolves key DiskFull-node2 (INC-2)",
            "- 2026-11-26 10:02 · [FIRING:1] DiskFull (node2 warning) · appends to INC-2",
            "- 2026-11-26 10:02 · [FIRING:1] HighCPU (node1 critical) · "
            "new incident (key: HighCPU-node1)",
        ]
    )
    # The tester changed nothing.
    assert runtime.engine.get("INC-2").status == "pending"
    assert runtime.engine.state.counters["received"] == 6

    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert setup_integration.runtime_data.engine.sources["source_nas"].no_key_fallback == "ignore"


@pytest.mark.parametrize(
    ("outcome", "key", "text"),
    [
        (Outcome.CREATED, None, "new incident"),
        (Outcome.ACCEPTED, "db1", "accepts key db1 (INC-7)"),
        (
            Outcome.ORPHAN_RESOLVE,
            "db1",
            "resolve e-mail, key db1: no open incident, nothing happens",
        ),
        (Outcome.ORPHAN_ACCEPT, None, "accept e-mail, no key: no open incident, nothing happens"),
    ],
)
def test_outcome_texts_the_delivered_emails_do_not_show(
    outcome: Outcome, key: str | None, text: str
) -> None:
    ids = ("INC-7",) if outcome is Outcome.ACCEPTED else ()
    assert (
        outcome_text(SourceOutcome(source_id="s", outcome=outcome, incident_ids=ids, key=key))
        == text
    )


@pytest.mark.parametrize("subentries", [[source_subentry(catch_all=True)]])
async def test_rule_tester_shows_the_newest_twenty(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    for number in range(1, 23):
        await send_email(make_email(subject=f"Alert {number}"))
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"], catch_all=True))
    result = await choose(hass, result, "test_rules")
    lines = result["description_placeholders"]["results"].splitlines()
    assert len(lines) == 20
    assert lines[0].endswith("· Alert 22 · appends to INC-22")
    assert lines[-1].endswith("· Alert 3 · appends to INC-3")


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


async def test_changed_source_reloads_and_keeps_incidents(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    await send_email(make_email(subject="Volume degraded"))
    before = setup_integration.runtime_data
    assert before.engine.get("INC-1") is not None

    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"], priority="low"))
    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    after = setup_integration.runtime_data
    assert after is not before
    assert after.engine.sources["source_nas"].priority is Priority.LOW
    incident = after.engine.get("INC-1")
    assert (incident.summary, incident.status) == ("Volume degraded", "pending")


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


# --- escalation policies ----------------------------------------------------------------------


def _register_notify_services(hass: HomeAssistant) -> None:
    async def _noop(call: ServiceCall) -> None:
        return None

    for name in ("mobile_app_phone", "persistent_notification", "send_message"):
        hass.services.async_register("notify", name, _noop)


async def test_new_policy(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _register_notify_services(hass)
    result = await start(hass, entry, SUBENTRY_POLICY)
    assert (result["step_id"], suggested(result)) == ("policy", {"name": "", "repeat": 0})
    result = await submit(hass, result, {"name": "  ", "repeat": 1})
    assert result["errors"] == {"name": "empty_value"}
    result = await submit(hass, result, {"name": " On duty ", "repeat": 2.0})

    # Without levels the policy would do nothing: the first level comes next.
    assert result["step_id"] == "level"
    assert suggested(result) == {"delay_minutes": 0, "targets": []}
    assert options(result, "targets") == [
        "notify.mobile_app_phone",
        "notify.persistent_notification",
    ]
    result = await submit(hass, result, {"delay_minutes": 5, "targets": ["light.kitchen"]})
    assert result["errors"] == {"targets": "invalid_target"}
    result = await submit(
        hass, result, {"delay_minutes": 0, "targets": ["notify.mobile_app_phone"]}
    )
    assert result["step_id"] == "levels"
    assert result["menu_options"] == ["policy", "add_level", "edit_level", "remove_level", "save"]

    result = await choose(hass, result, "add_level")
    assert suggested(result) == {"delay_minutes": 15, "targets": []}
    result = await submit(hass, result, {"delay_minutes": 15.0})
    result = await choose(hass, result, "add_level")
    result = await submit(
        hass, result, {"delay_minutes": 30, "targets": ["notify.persistent_notification"]}
    )
    assert result["menu_options"] == [
        "policy",
        "add_level",
        "edit_level",
        "remove_level",
        "move_level_up",
        "save",
    ]
    assert result["description_placeholders"] == {
        "levels": "- Level 1: after 0 min: notify.mobile_app_phone\n"
        "- Level 2: after 15 min: event only\n"
        "- Level 3: after 30 min: notify.persistent_notification"
    }

    result = await choose(hass, result, "edit_level")
    assert [option["value"] for option in options(result, "level")] == ["0", "1", "2"]
    result = await submit(hass, result, {"level": "1"})
    assert suggested(result) == {"delay_minutes": 15, "targets": []}
    result = await submit(hass, result, {"delay_minutes": 10, "targets": ["notify.family"]})

    result = await choose(hass, result, "move_level_up")
    assert options(result, "level") == [
        {"value": "1", "label": "Level 2: after 10 min: notify.family"},
        {"value": "2", "label": "Level 3: after 30 min: notify.persistent_notification"},
    ]
    result = await submit(hass, result, {"level": "2"})
    result = await choose(hass, result, "remove_level")
    result = await submit(hass, result, {"level": "0"})
    assert result["description_placeholders"] == {
        "levels": "- Level 1: after 30 min: notify.persistent_notification\n"
        "- Level 2: after 10 min: notify.family"
    }

    result = await choose(hass, result, "policy")
    assert suggested(result) == {"name": "On duty", "repeat": 2}
    result = await submit(hass, result, {"name": "On duty", "repeat": 3})
    assert result["step_id"] == "levels"

    result = await choose(hass, result, "save")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = {
        "name": "On duty",
        "repeat": 3,
        "levels": [
            {"delay_minutes": 30, "targets": ["notify.persistent_notification"]},
            {"delay_minutes": 10, "targets": ["notify.family"]},
        ],
    }
    assert (result["title"], result["data"]) == ("On duty", stored)
    (added,) = (s for s in entry.subentries.values() if s.title == "On duty")
    assert (added.subentry_type, dict(added.data)) == (SUBENTRY_POLICY, stored)


async def test_policy_without_levels(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await start(hass, entry, SUBENTRY_POLICY, "policy_oncall")
    result = await choose(
        hass, await submit(hass, result, {"name": "On call", "repeat": 0}), "remove_level"
    )
    result = await submit(hass, result, {"level": "0"})
    assert result["menu_options"] == ["policy", "add_level", "save"]
    assert result["description_placeholders"] == {
        "levels": "No levels yet: incidents of sources with this policy do not escalate."
    }


@pytest.mark.parametrize(
    "subentries", [[source_subentry(escalation_policy="policy_oncall"), policy_subentry()]]
)
async def test_changed_policy_reloads_and_keeps_incidents(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    await send_email(make_email(subject="Volume degraded"))
    original = dict(setup_integration.subentries["policy_oncall"].data)

    result = await start(hass, setup_integration, SUBENTRY_POLICY, "policy_oncall")
    assert suggested(result) == {"name": "On call", "repeat": 0}
    result = await submit(hass, result, {"name": "Night shift", "repeat": 1})
    assert result["step_id"] == "levels"
    result = await choose(hass, result, "edit_level")
    result = await submit(hass, result, {"level": "0"})
    result = await submit(hass, result, {"delay_minutes": 5, "targets": ["notify.pager"]})
    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    # The edit worked on a copy: the stored data changed only through the update.
    assert original == {
        "name": "On call",
        "levels": [{"delay_minutes": 0, "targets": []}],
        "repeat": 0,
    }
    await hass.async_block_till_done()

    runtime = setup_integration.runtime_data
    assert setup_integration.subentries["policy_oncall"].title == "Night shift"
    policy = runtime.engine.policies["policy_oncall"]
    assert (policy.name, policy.repeat, policy.levels[0].targets) == (
        "Night shift",
        1,
        ("notify.pager",),
    )
    assert runtime.engine.get("INC-1").summary == "Volume degraded"


@pytest.mark.parametrize(
    "subentries", [[source_subentry(escalation_policy="policy_oncall"), policy_subentry()]]
)
async def test_removed_policy_leaves_sources_without_escalation(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    """HA removes a subentry without asking its flow: sources using it no longer escalate."""
    hass.config_entries.async_remove_subentry(setup_integration, "policy_oncall")
    await hass.async_block_till_done()

    runtime = setup_integration.runtime_data
    assert runtime.engine.policies == {}
    assert runtime.engine.sources["source_nas"].escalation_policy_id == "policy_oncall"
    await send_email(make_email(subject="After"))
    incident = runtime.engine.get("INC-1")
    assert (incident.summary, incident.escalation) == ("After", None)
