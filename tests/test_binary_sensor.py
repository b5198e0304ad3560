"""Binary sensors: the problem of an alert source and the listener running."""

from __future__ import annotations

from collections.abc import Generator

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.email_incidents.const import DOMAIN, SIGNAL_STATE_CHANGED

from .entity_helpers import (
    FROZEN_TIME,
    SendEmail,
    assert_entities_match_snapshot,
    deliver,
    only_platform,
)

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

PROBLEM = "binary_sensor.nas_problem"
RUNNING = "binary_sensor.email_incidents_listener_running"


@pytest.fixture(autouse=True)
def binary_sensors_only() -> Generator[None]:
    with only_platform(Platform.BINARY_SENSOR):
        yield


async def test_entities(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    snapshot: SnapshotAssertion,
) -> None:
    await deliver(hass, send_email)
    assert_entities_match_snapshot(hass, snapshot, setup_integration.entry_id)


@pytest.mark.usefixtures("setup_integration")
async def test_problem_while_an_incident_is_open(
    hass: HomeAssistant, send_email: SendEmail
) -> None:
    assert hass.states.get(PROBLEM).state == STATE_OFF
    await deliver(hass, send_email)
    assert hass.states.get(PROBLEM).state == STATE_ON
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    assert hass.states.get(PROBLEM).state == STATE_ON
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(PROBLEM).state == STATE_OFF


async def test_listener_down(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    """The running sensor says the listener is down; the source's entities go unavailable."""
    assert hass.states.get(RUNNING).state == STATE_ON
    runtime = setup_integration.runtime_data
    assert runtime.listener is not None
    await runtime.listener.async_stop()
    async_dispatcher_send(hass, SIGNAL_STATE_CHANGED.format(setup_integration.entry_id))
    await hass.async_block_till_done()
    assert hass.states.get(RUNNING).state == STATE_OFF
    assert hass.states.get(PROBLEM).state == STATE_UNAVAILABLE
