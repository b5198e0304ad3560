"""Device triggers of an alert source, firing a real automation from a real e-mail."""

from __future__ import annotations

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.device_trigger import async_get_triggers

from .conftest import find_device
from .entity_helpers import SendEmail, deliver

TRIGGER_TYPES = [
    "created",
    "updated",
    "accepted",
    "resolved",
    "escalated",
    "snoozed",
    "unaccepted",
]


@pytest.mark.usefixtures("setup_integration")
async def test_triggers_of_an_alert_source(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, config_entry: MockConfigEntry
) -> None:
    source = find_device(device_registry, config_entry.entry_id, "source_nas")
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, source.id)
    ours = [trigger for trigger in triggers if trigger["domain"] == DOMAIN]
    assert ours == [
        {
            "platform": "device",
            "domain": DOMAIN,
            "device_id": source.id,
            "type": trigger_type,
            "metadata": {},
        }
        for trigger_type in TRIGGER_TYPES
    ]
    listener = find_device(device_registry, config_entry.entry_id, config_entry.entry_id)
    assert await async_get_triggers(hass, listener.id) == []
    assert await async_get_triggers(hass, "no-such-device") == []


@pytest.mark.usefixtures("setup_integration")
async def test_trigger_runs_an_automation(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
) -> None:
    source = find_device(device_registry, config_entry.entry_id, "source_nas")
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "triggers": {
                        "platform": "device",
                        "domain": DOMAIN,
                        "device_id": source.id,
                        "type": trigger_type,
                    },
                    "actions": {
                        "action": "test.automation",
                        "data": {
                            "type": trigger_type,
                            "incident": "{{ trigger.event.data.incident_id }}",
                            "summary": "{{ trigger.event.data.summary }}",
                        },
                    },
                }
                for trigger_type in ("created", "resolved")
            ]
        },
    )
    await deliver(hass, send_email)
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {"type": "created", "incident": "INC-1", "summary": "Disk failure on volume 1"},
        {"type": "resolved", "incident": "INC-1", "summary": "Disk failure on volume 1"},
    ]
