"""Sensors of an alert source and of the listener, fed by real e-mails over SMTP."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.email_incidents.const import DOMAIN, SIGNAL_STATE_CHANGED

from .conftest import make_email, source_subentry
from .entity_helpers import (
    FROZEN_TIME,
    SendEmail,
    assert_entities_match_snapshot,
    deliver,
    entity_id,
    only_platform,
    wait_for_burst_writes,
)

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

OPEN = "sensor.nas_open_incidents"
STATUS = "sensor.nas_status"
LATEST = "sensor.nas_latest_incident"


@pytest.fixture(autouse=True)
def sensors_only() -> Generator[None]:
    with only_platform(Platform.SENSOR):
        yield


async def _call(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)
    await hass.async_block_till_done()


async def test_entities(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    snapshot: SnapshotAssertion,
) -> None:
    await deliver(hass, send_email)
    assert_entities_match_snapshot(hass, snapshot, setup_integration.entry_id)


@pytest.mark.usefixtures("setup_integration")
async def test_incident_life_cycle(hass: HomeAssistant, send_email: SendEmail) -> None:
    assert hass.states.get(OPEN).state == "0"
    assert hass.states.get(STATUS).state == "ok"
    latest = hass.states.get(LATEST)
    assert latest.state == STATE_UNKNOWN
    assert "incident_id" not in latest.attributes

    await deliver(hass, send_email)
    await deliver(hass, send_email, subject="RE: Disk failure on volume 1", sender="b@example.com")
    assert hass.states.get(OPEN).state == "1"
    assert hass.states.get(STATUS).state == "pending"
    latest = hass.states.get(LATEST)
    assert latest.state == "pending"
    assert latest.attributes["email_count"] == 2
    assert latest.attributes["from"] == "nas@example.com"

    await _call(hass, "accept_incident", incident_id="INC-1")
    assert hass.states.get(STATUS).state == "accepted"
    latest = hass.states.get(LATEST)
    assert (latest.state, latest.attributes["accepted_by"]) == ("accepted", "accept_incident")
    assert latest.attributes["accepted"] == FROZEN_TIME
    assert hass.states.get(OPEN).attributes["accepted"] == 1

    await _call(hass, "resolve_incident", incident_id="INC-1")
    assert hass.states.get(OPEN).state == "0"
    assert hass.states.get(STATUS).state == "ok"
    latest = hass.states.get(LATEST)
    assert (latest.state, latest.attributes["resolved"]) == ("resolved", FROZEN_TIME)


@pytest.mark.usefixtures("setup_integration")
async def test_open_incidents_show_the_five_newest_unrecorded(
    hass: HomeAssistant, send_email: SendEmail
) -> None:
    for number in range(1, 7):
        await deliver(hass, send_email, subject=f"Problem {number}")
    await _call(hass, "accept_incident", incident_id="INC-6")
    state = hass.states.get(OPEN)
    assert state.state == "6"
    assert state.attributes["pending"] == 5
    assert state.attributes["accepted"] == 1
    assert state.attributes["incidents"] == [
        {
            "id": f"INC-{number}",
            "summary": f"Problem {number}",
            "status": "accepted" if number == 6 else "pending",
            "key": None,
            "created": FROZEN_TIME,
        }
        for number in range(6, 1, -1)
    ]
    assert hass.states.get(STATUS).state == "pending"
    assert state.state_info is not None
    assert "incidents" in state.state_info["unrecorded_attributes"]


@pytest.mark.parametrize(
    "subentries",
    [[source_subentry(filters=[{"field": "subject", "operator": "contains", "value": "PROBLEM"}])]],
)
async def test_listener_counters(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    entity_registry: er.EntityRegistry,
) -> None:
    for key in ("emails_accepted", "emails_filtered", "emails_refused"):
        entity_registry.async_update_entity(
            entity_id(hass, Platform.SENSOR, f"{setup_integration.entry_id}_{key}"),
            disabled_by=None,
        )
    await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()

    await deliver(hass, send_email, subject="PROBLEM: disk")
    await deliver(hass, send_email, subject="Weekly report")
    refused = await send_email(recipients=("nas@homeassistant.local", "nobody@homeassistant.local"))
    assert list(refused) == ["nobody@homeassistant.local"]
    await wait_for_burst_writes(hass)

    states = {
        name: hass.states.get(f"sensor.email_incidents_listener_e_mails_{name}").state
        for name in ("received", "accepted", "filtered", "refused")
    }
    assert states == {"received": "3", "accepted": "1", "filtered": "2", "refused": "1"}
    assert hass.states.get("sensor.email_incidents_listener_last_e_mail").state == FROZEN_TIME


async def test_unavailable_while_the_listener_is_down(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    runtime = setup_integration.runtime_data
    assert runtime.listener is not None
    await runtime.listener.async_stop()
    async_dispatcher_send(hass, SIGNAL_STATE_CHANGED.format(setup_integration.entry_id))
    await hass.async_block_till_done()
    assert hass.states.get(OPEN).state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.email_incidents_listener_e_mails_received").state == (
        STATE_UNAVAILABLE
    )


@pytest.mark.usefixtures("setup_integration")
async def test_only_what_changed_is_written(hass: HomeAssistant, send_email: SendEmail) -> None:
    """A repeat e-mail changes the latest incident's e-mail count, not the open count: that
    sensor is not written again (no state_reported either)."""
    await deliver(hass, send_email, subject="Disk failing")
    written: list[str] = []

    @callback
    def _written(event: Event) -> None:
        written.append(event.data["entity_id"])

    @callback
    def _any(_data: Any) -> bool:
        return True

    for event_type in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED):
        hass.bus.async_listen(event_type, _written, event_filter=_any)
    await deliver(hass, send_email, subject="Disk failing")
    assert LATEST in written
    assert hass.states.get(LATEST).attributes["email_count"] == 2
    assert OPEN not in written
    assert STATUS not in written


@pytest.mark.usefixtures("setup_integration")
async def test_a_burst_of_emails_is_written_once_a_second(
    hass: HomeAssistant, send_email: SendEmail
) -> None:
    """The first e-mail after a quiet second is shown at once; those that follow within the
    second by one write at its end, with the values the burst ended with. The status changes
    at once, and so does everything after an action."""
    received = "sensor.email_incidents_listener_e_mails_received"
    written: list[str] = []

    @callback
    def _written(event: Event) -> None:
        written.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, _written)
    # The test's clock stands still: every e-mail after the first is within the same second.
    for number in range(1, 5):
        assert await send_email(make_email(subject=f"Problem {number}")) == {}
        await hass.async_block_till_done()
        assert hass.states.get(STATUS).state == "pending"
        assert hass.states.get(OPEN).state == "1"
        assert hass.states.get(received).state == "1"
    assert (written.count(OPEN), written.count(LATEST), written.count(received)) == (1, 1, 1)

    await wait_for_burst_writes(hass)
    assert hass.states.get(OPEN).state == "4"
    assert hass.states.get(OPEN).attributes["pending"] == 4
    assert hass.states.get(LATEST).attributes["incident_id"] == "INC-4"
    assert hass.states.get(received).state == "4"
    assert (written.count(OPEN), written.count(LATEST), written.count(received)) == (2, 2, 2)

    await _call(hass, "resolve_incident", incident_id="INC-4")
    assert hass.states.get(OPEN).state == "3"
    assert hass.states.get(LATEST).attributes["incident_id"] == "INC-4"
    assert hass.states.get(LATEST).state == "resolved"


@pytest.mark.usefixtures("setup_integration")
async def test_what_changes_with_every_email_is_not_recorded(hass: HomeAssistant) -> None:
    state = hass.states.get(LATEST)
    assert state is not None
    assert state.state_info is not None
    assert {"email_count", "last_email"} <= state.state_info["unrecorded_attributes"]
    assert "incident_id" not in state.state_info["unrecorded_attributes"]


async def test_a_pending_burst_write_ends_with_the_entity(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    for number in range(1, 3):
        assert await send_email(make_email(subject=f"Problem {number}")) == {}
        await hass.async_block_till_done()
    assert hass.states.get(OPEN).state == "1"  # the second e-mail's write waits
    await hass.config_entries.async_unload(setup_integration.entry_id)
    await wait_for_burst_writes(hass)
    assert hass.states.get(OPEN).state == STATE_UNAVAILABLE
