"""Send test e-mail: a real e-mail through the listener, also with STARTTLS and AUTH."""

from __future__ import annotations

from collections.abc import Generator
import dataclasses
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.email_incidents.button import TEST_SUBJECT
from custom_components.email_incidents.const import (
    CONF_AUTH_PASSWORD,
    CONF_AUTH_USERNAME,
    CONF_REQUIRE_TLS,
    CONF_TLS_CERT,
    CONF_TLS_KEY,
    DOMAIN,
)

from .conftest import free_port
from .entity_helpers import FROZEN_TIME, assert_entities_match_snapshot, only_platform

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

BUTTON = "button.nas_send_test_e_mail"


@pytest.fixture(autouse=True)
def buttons_only() -> Generator[None]:
    with only_platform(Platform.BUTTON):
        yield


async def _press(hass: HomeAssistant) -> None:
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: BUTTON}, blocking=True)
    await hass.async_block_till_done()


async def test_entities(
    hass: HomeAssistant, setup_integration: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    assert_entities_match_snapshot(hass, snapshot, setup_integration.entry_id)


async def _assert_delivered(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await _press(hass)
    [incident] = entry.runtime_data.engine.incidents()
    assert (incident.summary, incident.from_address) == (
        TEST_SUBJECT,
        "homeassistant@homeassistant.local",
    )
    assert incident.details.startswith("This e-mail was sent by the Send test e-mail button")


async def test_press_delivers_over_smtp(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    await _assert_delivered(hass, setup_integration)


@pytest.fixture
def extra_listener_data(
    request: pytest.FixtureRequest, tls_files: tuple[str, str]
) -> dict[str, Any]:
    """`indirect=True` with True: a listener that requires STARTTLS and a login."""
    if not getattr(request, "param", False):
        return {}
    certificate, key = tls_files
    return {
        CONF_TLS_CERT: certificate,
        CONF_TLS_KEY: key,
        CONF_REQUIRE_TLS: True,
        CONF_AUTH_USERNAME: "monitor",
        CONF_AUTH_PASSWORD: "s3cret",
    }


@pytest.mark.parametrize("extra_listener_data", [True], indirect=True)
async def test_press_uses_starttls_and_login(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    await _assert_delivered(hass, setup_integration)


async def test_failure_is_reported(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    runtime = setup_integration.runtime_data
    runtime.settings = dataclasses.replace(runtime.settings, port=free_port())
    with pytest.raises(HomeAssistantError) as failed:
        await _press(hass)
    assert (failed.value.translation_domain, failed.value.translation_key) == (
        DOMAIN,
        "test_email_failed",
    )
    assert failed.value.translation_placeholders["address"] == "nas@homeassistant.local"
    assert runtime.engine.incidents() == []
