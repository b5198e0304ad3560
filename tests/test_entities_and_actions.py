"""Entities and actions, driven by real e-mails over SMTP."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.email_incidents.button import TEST_SUBJECT
from custom_components.email_incidents.const import DOMAIN
from homeassistant.components.todo.const import TodoItemStatus
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from .conftest import make_email, source_subentry

pytestmark = pytest.mark.usefixtures("setup_integration")

NAS = "nas"


def _state(hass: HomeAssistant, entity_id: str) -> Any:
    """State by entity id, or by unique id for the listener's entities (named by its device)."""
    if entity_id.startswith("listener:"):
        platform, _, key = entity_id.removeprefix("listener:").partition(".")
        found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"listener_entry_{key}")
        assert found is not None, entity_id
        entity_id = found
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


async def test_entities_follow_an_incident(hass: HomeAssistant, send_email: Any) -> None:
    created = async_capture_events(hass, f"{DOMAIN}_incident_created")
    received = async_capture_events(hass, f"{DOMAIN}_email_received")
    assert _state(hass, "sensor.nas_open_incidents").state == "0"
    assert _state(hass, "sensor.nas_status").state == "ok"
    assert _state(hass, "sensor.nas_latest_incident").state == STATE_UNKNOWN
    assert _state(hass, "binary_sensor.nas_problem").state == STATE_OFF
    assert _state(hass, "listener:binary_sensor.running").state == STATE_ON

    await send_email(make_email(subject="Volume degraded", sender="nas@example.com"))
    await hass.async_block_till_done()

    open_sensor = _state(hass, "sensor.nas_open_incidents")
    assert open_sensor.state == "1"
    assert open_sensor.attributes["pending"] == 1
    assert [i["summary"] for i in open_sensor.attributes["incidents"]] == ["Volume degraded"]
    assert _state(hass, "sensor.nas_status").state == "pending"
    latest = _state(hass, "sensor.nas_latest_incident")
    assert (latest.state, latest.attributes["incident_id"]) == ("pending", "INC-1")
    assert _state(hass, "binary_sensor.nas_problem").state == STATE_ON
    event_entity = _state(hass, "event.nas_incident_events")
    assert event_entity.attributes["event_type"] == "created"
    assert event_entity.attributes["incident_id"] == "INC-1"
    assert _state(hass, "listener:sensor.emails_received").state == "1"

    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "source_nas")})
    assert device is not None
    [event] = created
    assert event.data["device_id"] == device.id
    assert {
        k: event.data[k] for k in ("incident_id", "source_name", "status", "summary", "from")
    } == {
        "incident_id": "INC-1",
        "source_name": "NAS",
        "status": "pending",
        "summary": "Volume degraded",
        "from": "nas@example.com",
    }
    assert received[0].data["outcomes"] == [
        {
            "source_id": "source_nas",
            "source_name": "NAS",
            "outcome": "created",
            "incident_ids": ["INC-1"],
            "key": None,
        }
    ]

    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    assert _state(hass, "sensor.nas_status").state == "accepted"
    assert _state(hass, "event.nas_incident_events").attributes["event_type"] == "accepted"

    items = await hass.services.async_call(
        "todo",
        "get_items",
        {},
        target={"entity_id": "todo.nas_incidents"},
        blocking=True,
        return_response=True,
    )
    [item] = items["todo.nas_incidents"]["items"]
    assert item["summary"] == "INC-1 · Volume degraded"
    assert "Status: accepted" in item["description"]

    await hass.services.async_call(
        "todo", "update_item", {"item": "INC-1", "status": TodoItemStatus.COMPLETED},
        target={"entity_id": "todo.nas_incidents"}, blocking=True,
    )  # fmt: skip
    assert _state(hass, "sensor.nas_open_incidents").state == "0"
    assert _state(hass, "sensor.nas_latest_incident").state == "resolved"
    assert _state(hass, "binary_sensor.nas_problem").state == STATE_OFF


async def test_todo_refuses_renaming(hass: HomeAssistant, send_email: Any) -> None:
    await send_email(make_email(subject="Fan failure"))
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "todo", "update_item", {"item": "INC-1", "rename": "Something else"},
            target={"entity_id": "todo.nas_incidents"}, blocking=True,
        )  # fmt: skip
    assert err.value.translation_key == "todo_only_check_off"


async def test_maintenance_switch(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    await hass.services.async_call(
        "switch", "turn_on", target={"entity_id": "switch.nas_maintenance"}, blocking=True
    )
    assert _state(hass, "switch.nas_maintenance").state == STATE_ON
    await send_email(make_email(subject="Planned reboot"))
    assert config_entry.runtime_data.engine.incidents() == []
    assert config_entry.runtime_data.engine.state.counters["received"] == 1
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert _state(hass, "switch.nas_maintenance").state == STATE_ON  # stored, survives a reload
    await hass.services.async_call(
        "switch", "turn_off", target={"entity_id": "switch.nas_maintenance"}, blocking=True
    )
    await send_email(make_email(subject="Real problem"))
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == ["Real problem"]


async def test_test_email_button_delivers_over_smtp(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "button", "press", target={"entity_id": "button.nas_send_test_e_mail"}, blocking=True
    )
    [incident] = config_entry.runtime_data.engine.incidents()
    assert incident.summary == TEST_SUBJECT
    assert incident.from_address == "homeassistant@homeassistant.local"


async def test_test_email_button_reports_failure(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    await hass.config_entries.async_unload(config_entry.entry_id)
    # The entity is gone with the entry; press it on a stopped listener through the class.
    from custom_components.email_incidents.button import send_test_email
    from custom_components.email_incidents.settings import ListenerSettings

    settings = ListenerSettings.from_data(config_entry.data)
    with pytest.raises(OSError):
        await hass.async_add_executor_job(send_test_email, settings, "nas@homeassistant.local")


async def test_actions(hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any) -> None:
    runtime = config_entry.runtime_data
    response = await hass.services.async_call(
        DOMAIN, "create_incident",
        {"source": "NAS", "summary": "Manual check", "details": "by hand", "key": "manual", "priority": "low"},
        blocking=True, return_response=True,
    )  # fmt: skip
    assert response["incident"]["incident_id"] == "INC-1"
    assert response["incident"]["priority"] == "low"
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "source_nas")})
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "add_note", {"incident_id": "INC-1", "note": "Called the vendor"}, blocking=True
    )
    assert runtime.engine.get("INC-1").log[-1].message == "Called the vendor"
    await send_email(make_email(subject="Second"))
    listed = await hass.services.async_call(
        DOMAIN, "get_incidents", {"source": device.id, "status": ["pending"], "limit": 1},
        blocking=True, return_response=True,
    )  # fmt: skip
    assert [i["summary"] for i in listed["incidents"]] == ["Second"]
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"source": "source_nas", "key": "manual"}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-2"}, blocking=True
    )
    everything = await hass.services.async_call(
        DOMAIN,
        "get_incidents",
        {"since": "2000-01-01T00:00:00"},
        blocking=True,
        return_response=True,
    )
    assert [(i["incident_id"], i["status"]) for i in everything["incidents"]] == [
        ("INC-2", "resolved"),
        ("INC-1", "resolved"),
    ]
    assert everything["incidents"][0]["resolved_by"] == "resolve_incident"


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("accept_incident", {"incident_id": "INC-404"}, "unknown_incident"),
        ("resolve_incident", {"incident_id": "INC-404"}, "unknown_incident"),
        ("resolve_incident", {"source": "NAS", "key": "nothing"}, "not_open"),
        ("resolve_incident", {"source": "NAS"}, "key_required"),
        ("create_incident", {"source": "nowhere", "summary": "x"}, "unknown_source"),
        ("add_note", {"incident_id": "INC-404", "note": "x"}, "unknown_incident"),
    ],
)
async def test_action_errors(
    hass: HomeAssistant, service: str, data: dict[str, Any], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    assert err.value.translation_key == key


async def test_accept_twice_and_resolved(hass: HomeAssistant, send_email: Any) -> None:
    await send_email(make_email(subject="Once"))
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    with pytest.raises(ServiceValidationError) as twice:
        await hass.services.async_call(
            DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
        )
    assert twice.value.translation_key == "already_accepted"
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    with pytest.raises(ServiceValidationError) as resolved:
        await hass.services.async_call(
            DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
        )
    assert resolved.value.translation_key == "already_resolved"


async def test_actions_without_a_loaded_listener(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    await hass.config_entries.async_unload(config_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "get_incidents", {}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "not_loaded"


async def test_store_failure_is_reported_to_the_user(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    await send_email(make_email(subject="Stored"))
    path = config_entry.runtime_data.store.path
    path.unlink()
    path.mkdir()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
        )
    assert err.value.translation_key == "store_failed"
    assert config_entry.runtime_data.engine.get("INC-1").status.value == "pending"
    path.rmdir()


@pytest.mark.parametrize(
    "subentries", [[source_subentry(), source_subentry("UPS", ("ups",), "source_ups")]]
)
async def test_devices_and_unique_ids(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry.entry_id)
    assert sorted(d.name for d in devices) == ["Email Incidents listener", "NAS", "UPS"]
    entities = er.async_entries_for_config_entry(er.async_get(hass), config_entry.entry_id)
    unique_ids = sorted(e.unique_id for e in entities if e.config_subentry_id == "source_ups")
    assert unique_ids == [
        "source_ups_incident_events", "source_ups_incidents", "source_ups_latest_incident",
        "source_ups_maintenance", "source_ups_open_incidents", "source_ups_problem",
        "source_ups_send_test_email", "source_ups_status",
    ]  # fmt: skip
    hass.config_entries.async_remove_subentry(config_entry, "source_ups")
    await hass.async_block_till_done()
    assert dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "source_ups")}) is None


async def test_incident_events_reach_listeners(hass: HomeAssistant, send_email: Any) -> None:
    events: list[Event] = []
    for kind in ("created", "updated", "resolved"):
        hass.bus.async_listen(f"{DOMAIN}_incident_{kind}", events.append)
    await send_email(make_email(subject="Repeat me"))
    await send_email(make_email(subject="Re: Repeat me"))
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert [(e.event_type, e.data["email_count"]) for e in events] == [
        (f"{DOMAIN}_incident_created", 1),
        (f"{DOMAIN}_incident_updated", 2),
        (f"{DOMAIN}_incident_resolved", 2),
    ]
    assert events[1].data["email_subject"] == "Re: Repeat me"
    assert events[2].data["actor"] == "resolve_incident"
