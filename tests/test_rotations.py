"""Rotations in a real Home Assistant: adding one through its flow, the on-call sensor handing
over at the configured local time across a daylight saving time change, a level paging only
whoever is on call, overrides that win until they end (also across a restart), and the errors
of the on-call actions."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)
import yaml

from custom_components.email_incidents.const import DOMAIN, SUBENTRY_ROTATION
from custom_components.email_incidents.core.models import LogKind
from custom_components.email_incidents.runtime import EmailIncidentsRuntime

from .conftest import (
    add_people,
    find_device,
    make_email,
    policy_subentry,
    rotation_subentry,
    source_subentry,
)
from .entity_helpers import SendEmail
from .flow_driver import options, start, submit, suggested

# 08:50 in Berlin on the day clocks go forward (02:00 CET -> 03:00 CEST): Anna's shift began
# yesterday at 09:00 CET and ends today at 09:00 CEST, 23 hours later.
pytestmark = pytest.mark.freeze_time("2027-03-28T06:50:00+00:00")

SENSOR = "sensor.ops_on_call"
ROTATION_ID = "rotation_ops"
ANNA_PHONE = "notify.mobile_app_anna_s_phone"
BEN_PHONE = "notify.mobile_app_ben_s_phone"


@pytest.fixture(autouse=True)
async def berlin(hass: HomeAssistant) -> None:
    """Home Assistant in Berlin, with two people, each with a phone of the companion app."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    add_people(hass)


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [
        source_subentry(creation_mode="every_email", escalation_policy="policy_oncall"),
        policy_subentry(
            levels=({"delay_minutes": 0, "targets": [f"rotation:{ROTATION_ID}"]},),
        ),
        rotation_subentry(),
    ]


@pytest.fixture
def phones(hass: HomeAssistant) -> dict[str, list[ServiceCall]]:
    return {
        phone: async_mock_service(hass, "notify", phone.removeprefix("notify."))
        for phone in (ANNA_PHONE, BEN_PHONE)
    }


async def _advance_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: str) -> None:
    freezer.move_to(moment)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def _open_incident(hass: HomeAssistant, send_email: SendEmail, subject: str) -> None:
    """An incident over SMTP; its level 1 runs at the deadline that is due now."""
    assert await send_email(make_email(subject=subject)) == {}
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _on_call(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    state = hass.states.get(SENSOR)
    assert state is not None
    return state.state, dict(state.attributes)


async def test_the_sensor_hands_over_at_local_time_across_the_change(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    name, attributes = _on_call(hass)
    assert name == "Anna"
    assert {key: attributes[key] for key in ("person", "until", "next", "next_person")} == {
        "person": "person.anna",
        "until": "2027-03-28T07:00:00+00:00",
        "next": "Ben",
        "next_person": "person.ben",
    }
    assert attributes["overridden"] is False
    # Moved to London, the handover follows London's 09:00 (BST since 01:00 UTC today).
    await hass.config.async_update(time_zone="Europe/London")
    await hass.async_block_till_done()
    assert _on_call(hass)[1]["until"] == "2027-03-28T08:00:00+00:00"
    await hass.config.async_update(time_zone="Europe/Berlin")
    await hass.async_block_till_done()
    await _advance_to(hass, freezer, "2027-03-28T06:59:59+00:00")
    assert _on_call(hass)[0] == "Anna"
    await _advance_to(hass, freezer, "2027-03-28T07:00:00+00:00")
    name, attributes = _on_call(hass)
    # Ben's shift is 24 hours again: until 09:00 CEST tomorrow.
    assert (name, attributes["until"]) == ("Ben", "2027-03-29T07:00:00+00:00")


async def test_a_level_pages_only_whoever_is_on_call(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phones: dict[str, list[ServiceCall]],
) -> None:
    await _open_incident(hass, send_email, "Disk failure")
    assert (len(phones[ANNA_PHONE]), len(phones[BEN_PHONE])) == (1, 0)
    runtime: EmailIncidentsRuntime = setup_integration.runtime_data
    (incident,) = runtime.engine.incidents()
    escalated = [entry.message for entry in incident.log if entry.kind is LogKind.ESCALATED]
    assert escalated == [f"escalated to level 1: Ops: Anna ({ANNA_PHONE})"]

    await _advance_to(hass, freezer, "2027-03-28T07:00:00+00:00")
    await _open_incident(hass, send_email, "Fan failure")
    assert (len(phones[ANNA_PHONE]), len(phones[BEN_PHONE])) == (1, 1)


async def test_an_override_wins_until_it_ends_also_across_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phones: dict[str, list[ServiceCall]],
) -> None:
    await hass.services.async_call(
        DOMAIN,
        "set_on_call",
        {"rotation": "Ops", "member": "person.ben", "duration": {"hours": 2}},
        blocking=True,
    )
    await hass.async_block_till_done()
    name, attributes = _on_call(hass)
    assert (name, attributes["until"], attributes["overridden"]) == (
        "Ben",
        "2027-03-28T08:50:00+00:00",
        True,
    )
    # At the override's end the schedule names Ben too (his shift began at 07:00 UTC).
    assert attributes["next"] == "Ben"
    await _open_incident(hass, send_email, "Disk failure")
    assert (len(phones[ANNA_PHONE]), len(phones[BEN_PHONE])) == (0, 1)

    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    assert await hass.config_entries.async_setup(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert _on_call(hass)[1]["overridden"] is True

    # Anna takes over by hand until the end of the shift running now (the schedule's Ben).
    await hass.services.async_call(
        DOMAIN, "set_on_call", {"rotation": "Ops", "member": "person.anna"}, blocking=True
    )
    await hass.async_block_till_done()
    name, attributes = _on_call(hass)
    assert (name, attributes["until"]) == ("Anna", "2027-03-28T07:00:00+00:00")
    await _advance_to(hass, freezer, "2027-03-28T07:00:00+00:00")
    name, attributes = _on_call(hass)
    assert (name, attributes["overridden"]) == ("Ben", False)

    await hass.services.async_call(
        DOMAIN,
        "set_on_call",
        {"rotation": ROTATION_ID, "member": "person.anna", "until": "2027-03-28 12:00:00"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert _on_call(hass)[1]["until"] == "2027-03-28T10:00:00+00:00"  # 12:00 CEST
    await hass.services.async_call(
        DOMAIN, "end_on_call_override", {"rotation": "ops"}, blocking=True
    )
    await hass.async_block_till_done()
    assert _on_call(hass)[0] == "Ben"


async def test_the_readme_example_puts_ben_on_call(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The README's override: Ben until Monday 5 April, 09:00 in Berlin (CEST)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- set-on-call-example -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    example = yaml.safe_load(block.group(1))
    domain, service = example["action"].split(".")
    await hass.services.async_call(domain, service, example["data"], blocking=True)
    await hass.async_block_till_done()
    name, attributes = _on_call(hass)
    assert (name, attributes["until"], attributes["overridden"]) == (
        "Ben",
        "2027-04-05T07:00:00+00:00",
        True,
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"rotation": "Nobody", "member": "person.anna"}, "unknown_rotation"),
        ({"rotation": "Ops", "member": "person.zoe"}, "not_a_member"),
        (
            {"rotation": "Ops", "member": "person.ben", "until": "2027-03-28T06:00:00+00:00"},
            "on_call_in_the_past",
        ),
    ],
)
async def test_set_on_call_errors(
    hass: HomeAssistant, setup_integration: MockConfigEntry, data: dict[str, Any], error: str
) -> None:
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "set_on_call", data, blocking=True)
    assert refused.value.translation_key == error
    assert _on_call(hass)[1]["overridden"] is False


@pytest.mark.parametrize("subentries", [[source_subentry()]])
async def test_add_a_rotation_and_page_it_from_a_policy(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    entry = setup_integration
    result = await start(hass, entry, SUBENTRY_ROTATION)
    assert result["step_id"] == "rotation"
    # Weekly, handing over next Monday at 09:00 (today is Sunday, 28 March).
    assert suggested(result)["first_handover"] == "2027-03-29 09:00:00"
    form = {
        "name": "Ops",
        "members": [],
        "shift_length": 1,
        "shift_unit": "weeks",
        "first_handover": "2027-03-29 09:00:00",
    }
    result = await submit(hass, result, form)
    assert result["errors"] == {"members": "no_members"}
    form["members"] = ["person.anna", "person.ben"]
    result = await submit(hass, result, {**form, "name": " "})
    assert result["errors"] == {"name": "empty_value"}
    result = await submit(hass, result, form)

    assert (result["step_id"], result["description_placeholders"]["person"]) == ("member", "Anna")
    assert suggested(result) == {"targets": [ANNA_PHONE]}
    result = await submit(hass, result, {"targets": []})
    assert result["errors"] == {"targets": "no_target"}
    result = await submit(hass, result, {"targets": ["light.kitchen"]})
    assert result["errors"] == {"targets": "invalid_target"}
    result = await submit(hass, result, {"targets": [ANNA_PHONE]})
    assert result["description_placeholders"]["person"] == "Ben"
    result = await submit(hass, result, {"targets": [BEN_PHONE, "notify.family"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    subentry_id = next(
        key for key, value in entry.subentries.items() if value.subentry_type == SUBENTRY_ROTATION
    )
    assert entry.subentries[subentry_id].data == {
        "name": "Ops",
        "members": [
            {"person": "person.anna", "targets": [ANNA_PHONE]},
            {"person": "person.ben", "targets": [BEN_PHONE, "notify.family"]},
        ],
        "shift_length": 1,
        "shift_unit": "weeks",
        "first_handover": "2027-03-29 09:00:00",
    }
    # Before the first handover the order runs backwards: Ben's week.
    assert _on_call(hass)[0] == "Ben"

    result = await start(hass, entry, "escalation_policy")
    result = await submit(hass, result, {"name": "Ops policy", "repeat": 0})
    assert result["step_id"] == "level"
    assert options(result, "targets")[0] == {
        "value": f"rotation:{subentry_id}",
        "label": "Ops (whoever is on call)",
    }
    result = await submit(
        hass, result, {"delay_minutes": 0, "targets": [f"rotation:{subentry_id}"]}
    )
    assert result["step_id"] == "levels"
    assert "Ops (whoever is on call)" in result["description_placeholders"]["levels"]

    # Reconfigure keeps each member's actions and asks again.
    result = await start(hass, entry, SUBENTRY_ROTATION, subentry_id)
    assert suggested(result)["members"] == ["person.anna", "person.ben"]
    result = await submit(hass, result, {**form, "name": "Ops team"})
    assert suggested(result) == {"targets": [ANNA_PHONE]}
    result = await submit(hass, result, {"targets": [ANNA_PHONE]})
    result = await submit(hass, result, {"targets": [BEN_PHONE]})
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id].title == "Ops team"
    device = find_device(dr.async_get(hass), entry.entry_id, subentry_id)
    assert (device.name, device.model) == ("Ops team", "Rotation")
    assert _on_call(hass)[0] == "Ben"
