"""The shipped blueprint: imports like a user imports it, and notifies about real incidents."""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import importer, models
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from .conftest import find_device, make_email, policy_subentry, source_subentry
from .entity_helpers import SendEmail, deliver

BLUEPRINT_PATH = "email_incidents/notify_on_incident.yaml"
BLUEPRINT = Path(__file__).parents[1] / "blueprints" / "automation" / BLUEPRINT_PATH
GITHUB_URL = (
    "https://github.com/email-incidents/email-incidents/blob/main/blueprints/automation/"
    f"{BLUEPRINT_PATH}"
)
RAW_URL = (
    "https://raw.githubusercontent.com/email-incidents/email-incidents/main/blueprints/"
    f"automation/{BLUEPRINT_PATH}"
)
PHONE_SERVICE = "mobile_app_phone"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Two sources; a policy whose only level is an event, so only the blueprint notifies."""
    return [
        source_subentry(escalation_policy="policy_oncall"),
        source_subentry(name="Router", addresses=("router",), subentry_id="source_router"),
        policy_subentry(levels=({"delay_minutes": 0, "targets": []},)),
    ]


async def test_imports_from_its_github_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    aioclient_mock.get(RAW_URL, text=BLUEPRINT.read_text(encoding="utf-8"))

    imported = await importer.fetch_blueprint_from_url(hass, GITHUB_URL)

    assert imported.suggested_filename == "email-incidents/notify_on_incident"
    blueprint = imported.blueprint
    assert (blueprint.name, blueprint.domain) == ("Notify on e-mail incidents", "automation")
    assert set(blueprint.inputs) == {"source_device", "notify_targets", "incident_events"}
    assert blueprint.metadata["source_url"] == GITHUB_URL
    # The automation domain's own schema accepts it too (the importer checks only the general one).
    models.Blueprint(
        load_yaml_dict(BLUEPRINT), expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )


def _notification(incident_id: str, message: str) -> dict[str, Any]:
    return {
        "title": "[NAS] Disk failure on volume 1",
        "message": message,
        "data": {
            "tag": f"email_incidents_{incident_id}",
            "url": f"/email-incidents/{incident_id}",
            "clickAction": f"/email-incidents/{incident_id}",
            "actions": [
                {"action": f"EMAIL_INCIDENTS_ACCEPT_{incident_id}", "title": "Accept"},
                {"action": f"EMAIL_INCIDENTS_RESOLVE_{incident_id}", "title": "Resolve"},
            ],
            "push": {"interruption-level": "time-sensitive"},
            "priority": "high",
        },
    }


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("incident_events", "expected"),
    [
        (
            ["created", "escalated"],
            [
                _notification(
                    "INC-1",
                    "Disk failure on volume 1\nSource NAS, priority high, 1 e-mail(s)\n"
                    "Volume 1 is degraded.\n/email-incidents/INC-1",
                ),
                _notification(
                    "INC-1",
                    "Disk failure on volume 1\nSource NAS, priority high, 1 e-mail(s), "
                    "escalation level 1\nVolume 1 is degraded.\n/email-incidents/INC-1",
                ),
            ],
        ),
        (
            ["escalated"],
            [
                _notification(
                    "INC-1",
                    "Disk failure on volume 1\nSource NAS, priority high, 1 e-mail(s), "
                    "escalation level 1\nVolume 1 is degraded.\n/email-incidents/INC-1",
                ),
            ],
        ),
    ],
)
async def test_automation_from_the_blueprint_notifies_about_its_source(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    incident_events: list[str],
    expected: list[dict[str, Any]],
) -> None:
    phone: list[ServiceCall] = async_mock_service(hass, "notify", PHONE_SERVICE)
    installed = Path(hass.config.path("blueprints", "automation", BLUEPRINT_PATH))
    installed.parent.mkdir(parents=True)
    shutil.copy(BLUEPRINT, installed)
    device = find_device(dr.async_get(hass), config_entry.entry_id, "source_nas")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "notify_nas",
                "alias": "Notify NAS",
                "use_blueprint": {
                    "path": BLUEPRINT_PATH,
                    "input": {
                        "source_device": device.id,
                        "notify_targets": [f"notify.{PHONE_SERVICE}"],
                        "incident_events": incident_events,
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    automation = hass.states.get("automation.notify_nas")
    assert automation is not None
    assert automation.state == "on"

    await deliver(hass, send_email)
    router = "router@homeassistant.local"  # another source: not notified
    assert await send_email(make_email(to=router), recipients=(router,)) == {}
    async_fire_time_changed(hass)  # level 1 is due at once
    await hass.async_block_till_done()

    assert [call.data for call in phone] == expected
