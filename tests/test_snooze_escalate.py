"""The snooze_incident and escalate_incident actions: their events, errors and restarts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)
import yaml

from custom_components.email_incidents.const import DOMAIN

from .conftest import policy_subentry, source_subentry
from .entity_helpers import SendEmail, deliver

pytestmark = pytest.mark.freeze_time("2026-11-23T08:00:00+00:00")

PHONE = "notify.mobile_app_phone"
LEVELS = (
    {"delay_minutes": 0, "targets": [PHONE]},
    {"delay_minutes": 10, "targets": [PHONE]},
)


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [
        source_subentry(escalation_policy="policy_oncall"),
        source_subentry(name="Router", addresses=("router",), subentry_id="source_router"),
        policy_subentry(levels=LEVELS),
    ]


@pytest.fixture
def phone(hass: HomeAssistant) -> list[ServiceCall]:
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "mobile_app_phone")
    return calls


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _levels(calls: list[ServiceCall]) -> list[str]:
    return [call.data["message"].rsplit("\n", 1)[-1] for call in calls]


async def test_snooze_silences_then_continues_after_a_restart(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
) -> None:
    snoozed = async_capture_events(hass, f"{DOMAIN}_incident_snoozed")
    await deliver(hass, send_email)
    await _advance(hass, freezer, 0)
    assert _levels(phone) == ["Escalation level 1"]
    await hass.services.async_call(
        DOMAIN,
        "snooze_incident",
        {"incident_id": "INC-1", "duration": {"hours": 1}},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done()  # newer releases tell the entities after the call returns
    [event] = snoozed
    assert (event.data["actor"], event.data["url"]) == ("Mock User", "/email-incidents/INC-1")
    items = await hass.services.async_call(
        "todo",
        "get_items",
        {"entity_id": "todo.nas_incidents"},
        blocking=True,
        return_response=True,
    )
    [item] = items["todo.nas_incidents"]["items"]  # type: ignore[index,call-overload]
    assert "\nEscalation snoozed until 2026-11-23 01:00\n" in item["description"]
    # A restart keeps the snooze.
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    await _advance(hass, freezer, 30)
    assert _levels(phone) == ["Escalation level 1"]
    await _advance(hass, freezer, 30)
    assert _levels(phone) == ["Escalation level 1", "Escalation level 2"]
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    snooze_entry = next(entry for entry in incident.log if entry.kind == "snoozed")
    assert (snooze_entry.message, snooze_entry.actor and snooze_entry.actor.name) == (
        "snoozed for 1 hour",
        "Mock User",
    )


async def test_escalate_now_runs_the_next_level(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
) -> None:
    escalated = async_capture_events(hass, f"{DOMAIN}_incident_escalated")
    await deliver(hass, send_email)
    await _advance(hass, freezer, 0)
    await hass.services.async_call(
        DOMAIN,
        "escalate_incident",
        {"incident_id": "INC-1"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done()
    assert _levels(phone) == ["Escalation level 1", "Escalation level 2"]
    assert [(event.data["level"], event.data.get("actor")) for event in escalated] == [
        (1, None),
        (2, "Mock User"),
    ]


@pytest.mark.usefixtures("phone")
async def test_refusals_are_translated(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    await deliver(hass, send_email)
    await deliver(hass, send_email, to="router@homeassistant.local")
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("snooze_incident", {"incident_id": "INC-1", "duration": "01:00:00"}, "already_accepted"),
        ("escalate_incident", {"incident_id": "INC-1"}, "already_accepted"),
        ("snooze_incident", {"incident_id": "INC-2", "duration": 60}, "not_escalating"),
        ("escalate_incident", {"incident_id": "INC-2"}, "no_escalation_policy"),
        ("escalate_incident", {"incident_id": "INC-9"}, "unknown_incident"),
    ]
    for service, data, reason in cases:
        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call(DOMAIN, service, data, blocking=True)
        assert (refused.value.translation_domain, refused.value.translation_key) == (
            DOMAIN,
            reason,
        )


async def test_the_readme_example_snoozes(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- snooze-example -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    example = yaml.safe_load(block.group(1))
    await deliver(hass, send_email)
    await _advance(hass, freezer, 0)
    domain, service = example["action"].split(".")
    await hass.services.async_call(
        domain, service, {**example["data"], "incident_id": "INC-1"}, blocking=True
    )
    await _advance(hass, freezer, 59)
    assert _levels(phone) == ["Escalation level 1"]
    await _advance(hass, freezer, 1)
    assert _levels(phone) == ["Escalation level 1", "Escalation level 2"]
