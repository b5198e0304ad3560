"""System health: listener, address, TLS, open incidents and e-mails received."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_system_health_info

from custom_components.email_incidents.const import DOMAIN

from .entity_helpers import SendEmail, deliver


async def test_loaded(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    assert await async_setup_component(hass, "system_health", {})
    await hass.async_block_till_done()
    await deliver(hass, send_email)
    info = await get_system_health_info(hass, DOMAIN)
    assert info == {
        "listener_running": True,
        "address": f"127.0.0.1:{setup_integration.data['port']}",
        "tls": False,
        "open_incidents": 1,
        "emails_received": 1,
    }


@pytest.mark.usefixtures("setup_integration")
async def test_not_loaded(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    assert await async_setup_component(hass, "system_health", {})
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert await get_system_health_info(hass, DOMAIN) == {"listener_running": False}
