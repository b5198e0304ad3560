"""The escalation policy subentry flow, driven through Home Assistant's flow manager only."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import SUBENTRY_POLICY
from custom_components.email_incidents.policy_flow import PAGING_DEFAULTS

from .conftest import make_email, policy_subentry, source_subentry
from .flow_driver import choose, options, start, submit, suggested


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [source_subentry(), policy_subentry()]


@pytest.fixture
def entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The listener's entry, not loaded: the flows work on its subentries alone."""
    config_entry.add_to_hass(hass)
    return config_entry


def _register_notify_services(hass: HomeAssistant) -> None:
    async def _noop(call: ServiceCall) -> None:
        return None

    for name in ("mobile_app_phone", "persistent_notification", "send_message"):
        hass.services.async_register("notify", name, _noop)


async def test_new_policy(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _register_notify_services(hass)
    result = await start(hass, entry, SUBENTRY_POLICY)
    assert (result["step_id"], suggested(result)) == (
        "policy",
        {"name": "", "repeat": 0, **PAGING_DEFAULTS},
    )
    result = await submit(hass, result, {"name": "  ", "repeat": 1})
    assert result["errors"] == {"name": "empty_value"}
    result = await submit(hass, result, {"name": " On duty ", "repeat": 2.0})

    # Without levels the policy would do nothing: the first level comes next.
    assert result["step_id"] == "level"
    assert suggested(result) == {"delay_minutes": 0, "targets": [], "critical": False}
    assert [option["value"] for option in options(result, "targets")] == [
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
    assert suggested(result) == {"delay_minutes": 15, "targets": [], "critical": False}
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
    assert suggested(result) == {"delay_minutes": 15, "targets": [], "critical": False}
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
    assert suggested(result) == {"name": "On duty", "repeat": 2, **PAGING_DEFAULTS}
    result = await submit(
        hass,
        result,
        {"name": "On duty", "repeat": 3, "bundle_limit": 5, "done_notice": "clear"},
    )
    assert result["step_id"] == "levels"

    result = await choose(hass, result, "save")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = {
        "name": "On duty",
        "repeat": 3,
        "levels": [
            {"delay_minutes": 30, "targets": ["notify.persistent_notification"], "critical": False},
            {"delay_minutes": 10, "targets": ["notify.family"], "critical": False},
        ],
        **PAGING_DEFAULTS,
        "bundle_limit": 5,
        "done_notice": "clear",
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
async def test_a_changed_policy_applies_in_place(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    """No reload: no entity changes state, the sources escalate with the new levels."""
    await send_email(make_email(subject="Volume degraded"))
    await hass.async_block_till_done()  # level 1 runs at once: its event is written
    original = dict(setup_integration.subentries["policy_oncall"].data)
    before = setup_integration.runtime_data
    changes: list[str] = []
    hass.bus.async_listen(
        EVENT_STATE_CHANGED, lambda event: changes.append(event.data["entity_id"])
    )

    result = await start(hass, setup_integration, SUBENTRY_POLICY, "policy_oncall")
    # A policy from before the paging options shows their defaults, which it follows.
    assert suggested(result) == {"name": "On call", "repeat": 0, **PAGING_DEFAULTS}
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
    assert runtime is before
    assert changes == []
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
