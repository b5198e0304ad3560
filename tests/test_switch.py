"""Maintenance switch: e-mails are counted, no incident opens; it survives a restart."""

from __future__ import annotations

from collections.abc import Generator

from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from .entity_helpers import (
    FROZEN_TIME,
    SendEmail,
    assert_entities_match_snapshot,
    deliver,
    only_platform,
)

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

MAINTENANCE = "switch.nas_maintenance"


@pytest.fixture(autouse=True)
def switches_only() -> Generator[None]:
    with only_platform(Platform.SWITCH):
        yield


async def _switch(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call("switch", service, {ATTR_ENTITY_ID: MAINTENANCE}, blocking=True)
    await hass.async_block_till_done()


async def test_entities(
    hass: HomeAssistant, setup_integration: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    assert_entities_match_snapshot(hass, snapshot, setup_integration.entry_id)


async def test_maintenance_suppresses_incidents(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    await _switch(hass, "turn_on")
    assert hass.states.get(MAINTENANCE).state == STATE_ON
    await deliver(hass, send_email)
    engine = setup_integration.runtime_data.engine
    assert engine.incidents() == []
    assert engine.state.counters["received"] == 1

    await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(MAINTENANCE).state == STATE_ON

    await _switch(hass, "turn_off")
    assert hass.states.get(MAINTENANCE).state == STATE_OFF
    await deliver(hass, send_email)
    assert [incident.id for incident in setup_integration.runtime_data.engine.incidents()] == [
        "INC-1"
    ]
