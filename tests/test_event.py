"""The incident event entity and the bus events, for every event type."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from homeassistant.const import MATCH_ALL, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.email_incidents.const import (
    DOMAIN,
    EVENT_EMAIL_RECEIVED,
    EVENT_INCIDENT_PREFIX,
)
from custom_components.email_incidents.event import IncidentEventEntity

from .conftest import find_device, make_email, policy_subentry, source_subentry
from .entity_helpers import (
    FROZEN_TIME,
    SendEmail,
    assert_entities_match_snapshot,
    deliver,
    only_platform,
    wait_for_burst_writes,
)

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

EVENTS = "event.nas_incident_events"
WITH_POLICY = [
    source_subentry(escalation_policy="policy_oncall"),
    source_subentry(name="Router", addresses=("router",), subentry_id="source_router"),
    policy_subentry(levels=({"delay_minutes": 0, "targets": ["notify.nobody"]},)),
]


@pytest.fixture(autouse=True)
def events_only() -> Generator[None]:
    with only_platform(Platform.EVENT):
        yield


async def test_entities(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    snapshot: SnapshotAssertion,
) -> None:
    await deliver(hass, send_email)
    assert_entities_match_snapshot(hass, snapshot, setup_integration.entry_id)


def _event_entity(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    state = hass.states.get(EVENTS)
    assert state is not None
    attributes = dict(state.attributes)
    for static in ("event_types", "friendly_name"):
        attributes.pop(static)
    return attributes.pop("event_type"), attributes


@pytest.mark.parametrize("subentries", [WITH_POLICY])
async def test_every_event_type(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Entity and bus carry the incident; the other source's entity stays quiet."""
    captured = {
        event_type: async_capture_events(hass, f"{EVENT_INCIDENT_PREFIX}{event_type}")
        for event_type in ("created", "updated", "accepted", "resolved", "escalated")
    }
    device = find_device(device_registry, setup_integration.entry_id, "source_nas")
    incident = {
        "incident_id": "INC-1",
        "summary": "Disk failure on volume 1",
        "status": "pending",
        "key": None,
        "priority": "high",
        "email_count": 1,
    }

    await deliver(hass, send_email)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _event_entity(hass) == ("escalated", incident | {"level": 1})
    bus = {
        "incident_id": "INC-1",
        "source_id": "source_nas",
        "source_name": "NAS",
        "device_id": device.id,
        "status": "pending",
        "summary": "Disk failure on volume 1",
        "key": None,
        "priority": "high",
        "from": "nas@example.com",
        "email_count": 1,
        "created": FROZEN_TIME,
        "last_email": FROZEN_TIME,
        "accepted": None,
        "resolved": None,
        "accepted_by": None,
        "resolved_by": None,
        "url": "/email-incidents/INC-1",
        "details": "Volume 1 is degraded.",
    }
    [created] = captured["created"]
    assert created.data == bus | {
        "email_subject": "Disk failure on volume 1",
        "email_from": "nas@example.com",
    }
    [escalated] = captured["escalated"]
    assert escalated.data == bus | {
        "level": 1,
        "targets": ["notify.nobody"],
        "round": 0,
        "bundled": [],
        "critical": False,
    }

    await deliver(hass, send_email, sender="other@example.com")
    assert _event_entity(hass) == ("updated", incident | {"email_count": 2})
    [updated] = captured["updated"]
    assert updated.data == bus | {
        "email_count": 2,
        "email_subject": "Disk failure on volume 1",
        "email_from": "other@example.com",
    }

    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert _event_entity(hass) == ("accepted", incident | {"status": "accepted", "email_count": 2})
    [accepted] = captured["accepted"]
    assert accepted.data == bus | {
        "status": "accepted",
        "email_count": 2,
        "accepted": FROZEN_TIME,
        "accepted_by": "accept_incident",
        "actor": "accept_incident",
    }

    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert _event_entity(hass) == ("resolved", incident | {"status": "resolved", "email_count": 2})
    [resolved] = captured["resolved"]
    assert resolved.data == bus | {
        "status": "resolved",
        "email_count": 2,
        "accepted": FROZEN_TIME,
        "accepted_by": "accept_incident",
        "resolved": FROZEN_TIME,
        "resolved_by": "resolve_incident",
        "actor": "resolve_incident",
    }

    router = hass.states.get("event.router_incident_events")
    assert router is not None
    assert router.state == "unknown"


async def test_a_burst_into_one_incident_shows_its_latest_update_once_a_second(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    """The bus gets every update; the entity's state the first, then the latest a second later,
    and a held update always before the event that follows it."""
    updated = async_capture_events(hass, f"{EVENT_INCIDENT_PREFIX}updated")
    shown: list[tuple[str, int]] = []

    @callback
    def _record(event: Event[Any]) -> None:
        if event.data["entity_id"] == EVENTS:
            attributes = event.data["new_state"].attributes
            shown.append((attributes["event_type"], attributes["email_count"]))

    hass.bus.async_listen("state_changed", _record)
    await deliver(hass, send_email)
    for _ in range(4):  # the same second
        await send_email(make_email())
    await hass.async_block_till_done()
    assert [event.data["email_count"] for event in updated] == [2, 3, 4, 5]
    assert shown == [("created", 1), ("updated", 2)]
    await wait_for_burst_writes(hass)
    assert shown == [("created", 1), ("updated", 2), ("updated", 5)]

    await send_email(make_email())
    await hass.async_block_till_done()
    assert shown[-1] == ("updated", 5)  # held: the last one was shown less than a second ago
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert shown[-2:] == [("updated", 6), ("accepted", 6)]
    await wait_for_burst_writes(hass)
    assert shown[-1] == ("accepted", 6)


async def test_listener_removed_on_unload(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    runtime = setup_integration.runtime_data

    def entity_listeners() -> list[object]:
        return [
            listener
            for listener in runtime.incident_listeners
            if isinstance(getattr(listener, "__self__", None), IncidentEventEntity)
        ]

    assert len(entity_listeners()) == 1
    await hass.config_entries.async_unload(setup_integration.entry_id)
    assert entity_listeners() == []


async def test_incident_details_stay_out_of_the_recorder(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    """Each event writes the entity's state; what differs from one incident to the next is
    in the attributes only for the moment (the recorded bus event carries it)."""
    await deliver(hass, send_email)
    state = hass.states.get(EVENTS)
    assert state is not None
    assert state.attributes["incident_id"] == "INC-1"
    assert state.state_info is not None
    assert {"incident_id", "summary", "key", "email_count"} <= state.state_info[
        "unrecorded_attributes"
    ]
    assert "status" not in state.state_info["unrecorded_attributes"]


async def test_email_received_only_while_listened_for(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    """The recorder listens to every event: with nothing listening for the e-mail event by
    name it is not fired (nothing to store); an automation listening gets every e-mail."""
    seen_by_all: list[Event] = []

    @callback
    def _any_event(event: Event) -> None:
        if event.event_type == EVENT_EMAIL_RECEIVED:
            seen_by_all.append(event)

    hass.bus.async_listen(MATCH_ALL, _any_event)
    await deliver(hass, send_email, message_id="<first@example.com>")
    assert seen_by_all == []

    received = async_capture_events(hass, EVENT_EMAIL_RECEIVED)
    await deliver(hass, send_email, message_id="<second@example.com>")
    [event] = received
    assert seen_by_all == [event]
    assert event.data == {
        "message_id": "<second@example.com>",
        "from": "nas@example.com",
        "subject": "Disk failure on volume 1",
        "client": "127.0.0.1",
        "recipients": ["nas@homeassistant.local"],
        "received": FROZEN_TIME,
        "size": event.data["size"],
        "outcomes": [
            {
                "source_id": "source_nas",
                "source_name": "NAS",
                "outcome": "appended",
                "incident_ids": ["INC-1"],
                "key": None,
            }
        ],
    }
    assert event.data["size"] > 0
