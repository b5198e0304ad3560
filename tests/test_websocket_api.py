"""The websocket commands of the Incidents panel and card: list, get, subscribe, on call."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import Actor, ActorKind

from .conftest import TWO_SOURCES, add_people, make_email, rotation_subentry, source_subentry
from .entity_helpers import FROZEN_TIME, SendEmail, deliver

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)


async def _ws(client: Any, command: str, **data: Any) -> Any:
    await client.send_json_auto_id({"type": f"email_incidents/incidents/{command}", **data})
    response = await client.receive_json()
    assert response["success"], response
    return response["result"]


def _ids(result: dict[str, Any]) -> list[str]:
    return [incident["id"] for incident in result["incidents"]]


@pytest.mark.parametrize("subentries", [TWO_SOURCES])
async def test_list_filters_pages_and_searches(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_user: MockUser,
    freezer: Any,
) -> None:
    await deliver(hass, send_email, subject="Disk 1 degraded")
    freezer.tick(3600)
    await deliver(hass, send_email, subject="Disk 2 failed")
    await deliver(hass, send_email, subject="Link down", to="router@homeassistant.local")
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-2"}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    # Viewing needs no administrator.
    refresh_token = await hass.auth.async_create_refresh_token(hass_read_only_user, "client")
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh_token))

    everything = await _ws(client, "list")
    assert (_ids(everything), everything["total"]) == (["INC-3", "INC-2", "INC-1"], 3)
    assert _ids(await _ws(client, "list", source_id="source_nas")) == ["INC-2", "INC-1"]
    assert _ids(await _ws(client, "list", status="open")) == ["INC-3", "INC-2"]
    assert _ids(await _ws(client, "list", status="pending")) == ["INC-3"]
    assert _ids(await _ws(client, "list", status="accepted")) == ["INC-2"]
    assert _ids(await _ws(client, "list", status="resolved")) == ["INC-1"]
    assert _ids(await _ws(client, "list", search="DISK")) == ["INC-2", "INC-1"]
    assert _ids(await _ws(client, "list", search="router")) == ["INC-3"]  # the source's name
    assert _ids(await _ws(client, "list", search="inc-1")) == ["INC-1"]
    assert _ids(await _ws(client, "list", since="2026-11-26T10:30:00+00:00")) == [
        "INC-3",
        "INC-2",
    ]
    page = await _ws(client, "list", limit=1, offset=1)
    assert (_ids(page), page["total"]) == (["INC-2"], 3)
    [accepted] = (await _ws(client, "list", status="accepted"))["incidents"]
    assert accepted == {
        "id": "INC-2",
        "source_id": "source_nas",
        "source_name": "NAS",
        "status": "accepted",
        "summary": "Disk 2 failed",
        "key": None,
        "priority": "high",
        "created": "2026-11-26T11:00:00+00:00",
        "last_email": "2026-11-26T11:00:00+00:00",
        "accepted_at": "2026-11-26T11:00:00+00:00",
        "accepted_by": "accept_incident",
        "resolved_at": None,
        "resolved_by": None,
        "email_count": 1,
        "snoozed_until": None,
        "escalation_level": 0,
        "url": "/email-incidents/INC-2",
    }
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"status": "closed"}):
        await client.send_json_auto_id({"type": "email_incidents/incidents/list", **bad})
        response = await client.receive_json()
        assert response["error"]["code"] == "invalid_format", bad


@pytest.mark.parametrize("subentries", [TWO_SOURCES])
async def test_the_panel_selects_all_matching_and_accepts_them_in_one_call(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_user: MockUser,
) -> None:
    """What the panel does: the ids of every incident the filters match (more than a page),
    then one `accept_incident` call with them and a note, its response asked for; the
    subscription pushes each incident accepted. A user without admin rights may do it."""
    for number in range(1, 61):
        source = "source_router" if number % 10 == 0 else "source_nas"
        data = {"source": source, "summary": f"Disk {number}"}
        await hass.services.async_call(DOMAIN, "create_incident", data, blocking=True)
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": ["INC-1", "INC-2"]}, blocking=True
    )
    refresh_token = await hass.auth.async_create_refresh_token(hass_read_only_user, "client")
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh_token))
    assert await _ws(client, "subscribe") is None

    filters = {"source_id": "source_nas", "status": "pending"}
    page = await _ws(client, "list", **filters)
    assert (len(page["incidents"]), page["total"]) == (50, 52)
    ids = (await _ws(client, "ids", **filters))["ids"]
    expected = [f"INC-{n}" for n in range(60, 2, -1) if n % 10]
    assert ids == expected  # newest first, as the list shows them
    assert (await _ws(client, "ids", search="disk 5"))["ids"] == [
        f"INC-{n}" for n in range(59, 49, -1)
    ] + ["INC-5"]
    assert (await _ws(client, "ids", status="resolved"))["ids"] == ["INC-2", "INC-1"]

    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "accept_incident",
            "service_data": {"incident_id": ids, "note": "Storage vendor called"},
            "return_response": True,
        }
    )
    pushed: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    while result is None or len(pushed) < len(ids):
        message = await client.receive_json()
        if message["type"] == "result":
            result = message
        else:
            pushed.append(message["event"]["incident"])
    assert result["success"], result
    assert result["result"]["response"] == {
        "results": [{"incident_id": incident_id, "success": True} for incident_id in ids],
        "succeeded": 52,
        "failed": 0,
    }
    assert sorted(incident["id"] for incident in pushed) == sorted(ids)
    assert {(incident["status"], incident["accepted_by"]) for incident in pushed} == {
        ("accepted", hass_read_only_user.name)
    }
    assert (await _ws(client, "ids", **filters))["ids"] == []
    engine = setup_integration.runtime_data.engine
    note = engine.get("INC-3").log[-1]  # type: ignore[union-attr]
    assert (note.message, note.actor) == (
        "Storage vendor called",
        Actor(kind=ActorKind.USER, name=hass_read_only_user.name),
    )


@pytest.mark.parametrize("subentries", [TWO_SOURCES])
async def test_the_incidents_of_a_notification_summary(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A summary's link names its incidents (/email-incidents?ids=INC-4,INC-5,...): the panel
    lists only those, with any other filter, selects all of them and accepts them at once.
    Ids that are gone are simply not listed; more than 500, or anything but an incident id,
    is refused."""
    for number in range(1, 8):
        data = {"source": "source_nas", "summary": f"Host {number} unreachable"}
        await hass.services.async_call(DOMAIN, "create_incident", data, blocking=True)
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-5"}, blocking=True
    )
    client = await hass_ws_client(hass)
    storm = ["INC-2", "INC-3", "INC-5", "INC-6", "INC-404"]

    listed = await _ws(client, "list", ids=storm)
    assert (_ids(listed), listed["total"]) == (["INC-6", "INC-5", "INC-3", "INC-2"], 4)
    page = await _ws(client, "list", ids=storm, limit=2, offset=2)
    assert (_ids(page), page["total"]) == (["INC-3", "INC-2"], 4)
    assert _ids(await _ws(client, "list", ids=storm, status="pending")) == [
        "INC-6",
        "INC-3",
        "INC-2",
    ]
    assert _ids(await _ws(client, "list", ids=storm, search="host 3")) == ["INC-3"]
    assert (await _ws(client, "ids", ids=storm))["ids"] == ["INC-6", "INC-5", "INC-3", "INC-2"]
    assert (await _ws(client, "ids", ids=storm, status="pending"))["ids"] == [
        "INC-6",
        "INC-3",
        "INC-2",
    ]
    assert (await _ws(client, "list", ids=[]))["total"] == 0
    most = [f"INC-{number}" for number in range(1, 501)]
    assert (await _ws(client, "ids", ids=most))["ids"] == [f"INC-{n}" for n in range(7, 0, -1)]

    for bad in (
        {"ids": "INC-2"},
        {"ids": ["INC-2", "x"]},
        {"ids": ["inc-2"]},
        {"ids": ["INC-2\n"]},
        {"ids": ["INC-1234567890123"]},
        {"ids": [2]},
        {"ids": [*most, "INC-501"]},
    ):
        for command in ("list", "ids"):
            await client.send_json_auto_id({"type": f"email_incidents/incidents/{command}", **bad})
            response = await client.receive_json()
            assert response["error"]["code"] == "invalid_format", (command, bad)


def _email_with_attachment() -> EmailMessage:
    message = make_email(
        subject="Backup failed", body="Job nightly failed.\n<script>alert(1)</script>"
    )
    message["Cc"] = "ops@example.com"
    message.add_attachment(b"x" * 300, maintype="text", subtype="plain", filename="job.log")
    return message


async def test_get_incident_with_emails_and_timeline(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
) -> None:
    first = _email_with_attachment()
    assert await send_email(first, recipients=("nas@homeassistant.local",)) == {}
    await deliver(hass, send_email, subject="Backup failed", body="x" * 40_000)
    await hass.services.async_call(
        DOMAIN,
        "add_note",
        {"incident_id": "INC-1", "note": "Looking into it"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    client = await hass_ws_client(hass)

    incident = (await _ws(client, "get", incident_id="INC-1"))["incident"]
    assert (incident["id"], incident["email_count"], incident["emails_omitted"]) == ("INC-1", 2, 0)
    mail, long_mail = incident["emails"]
    assert mail == {
        "received": "2026-11-26T10:00:00+00:00",
        "from": "nas@example.com",
        "to": ["nas@homeassistant.local"],
        "subject": "Backup failed",
        "message_id": first["Message-ID"],
        "attachments": [{"name": "job.log", "content_type": "text/plain", "size": 300}],
        "body": "Job nightly failed.\n<script>alert(1)</script>",
        "body_truncated": False,
    }
    assert long_mail["body_truncated"] is True
    assert len(long_mail["body"]) == 32 * 1024
    assert long_mail["body"].endswith("[… truncated]")
    assert [(entry["kind"], entry["actor"]) for entry in incident["log"]] == [
        ("created", "nas@example.com"),
        ("email", None),
        ("note", "Mock User"),
    ]
    assert incident["log"][1]["text"] == "nas@example.com: Backup failed"
    assert incident["log"][2]["text"] == "Looking into it"

    await client.send_json_auto_id({"type": "email_incidents/incidents/get", "incident_id": "X"})
    response = await client.receive_json()
    assert (response["success"], response["error"]["code"]) == (False, "not_found")


async def test_subscription_pushes_changes_and_removals(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
    freezer: Any,
) -> None:
    client = await hass_ws_client(hass)
    assert await _ws(client, "subscribe") is None

    await deliver(hass, send_email)
    created = await client.receive_json()
    assert created["type"] == "event"
    assert created["event"]["incident"]["id"] == "INC-1"
    assert created["event"]["incident"]["status"] == "pending"

    await hass.services.async_call(
        DOMAIN,
        "resolve_incident",
        {"incident_id": "INC-1"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    resolved = (await client.receive_json())["event"]["incident"]
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "Mock User")

    # Past the retention period the incident is pruned: the panel is told it is gone.
    freezer.tick(timedelta(days=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert (await client.receive_json())["event"] == {"removed": "INC-1"}


async def test_not_loaded(
    hass: HomeAssistant, setup_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await hass.config_entries.async_unload(setup_integration.entry_id)
    for command, data in (
        ("incidents/list", {}),
        ("incidents/ids", {}),
        ("incidents/get", {"incident_id": "INC-1"}),
        ("on_call", {}),
    ):
        await client.send_json_auto_id({"type": f"email_incidents/{command}", **data})
        response = await client.receive_json()
        assert response["error"]["code"] == "not_loaded"


async def test_a_write_while_unloading_is_not_pushed(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The last write at unload carries a change; with the integration going away there is no
    incident to show, and the subscription says nothing."""
    await deliver(hass, send_email)
    client = await hass_ws_client(hass)
    assert await _ws(client, "subscribe") is None
    runtime = setup_integration.runtime_data
    runtime.engine.add_note(
        "INC-1", "written at unload", Actor(kind=ActorKind.ACTION, name="test"), dt_util.utcnow()
    )
    await hass.config_entries.async_unload(setup_integration.entry_id)
    await hass.async_block_till_done()
    await client.send_json_auto_id({"type": "email_incidents/incidents/list"})
    response = await client.receive_json()
    assert (response["type"], response["error"]["code"]) == ("result", "not_loaded")


ROTATIONS = [
    source_subentry(),
    # Daily from today 09:00 in Berlin: Anna until tomorrow 09:00 (08:00 UTC), then Ben.
    rotation_subentry(first_handover="2026-11-26 09:00:00"),
    # Weekly from Monday 18:00; a member whose person is gone is named by the entity id.
    rotation_subentry(
        "household",
        "rotation_home",
        "2026-11-23 18:00:00",
        members=[{"person": "person.carla", "targets": ["notify.family"]}],
        shift_unit="weeks",
    ),
]


async def _on_call(client: Any) -> list[dict[str, Any]]:
    await client.send_json_auto_id({"type": "email_incidents/on_call"})
    response = await client.receive_json()
    assert response["success"], response
    return list(response["result"]["rotations"])


@pytest.mark.parametrize("subentries", [ROTATIONS])
async def test_on_call_lists_the_rotations_for_the_panel(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_user: MockUser,
) -> None:
    """Each rotation, by name, with its members, who is on call until when, who is next and
    the on-call sensor to follow; an override shows as one, and the end of the shift running
    now (where an override from the panel ends by default) stays. No administrator needed."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    add_people(hass)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    refresh_token = await hass.auth.async_create_refresh_token(hass_read_only_user, "client")
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh_token))

    household, ops = await _on_call(client)
    assert ops == {
        "id": "rotation_ops",
        "name": "Ops",
        "entity_id": "sensor.ops_on_call",
        "members": [
            {"person": "person.anna", "name": "Anna"},
            {"person": "person.ben", "name": "Ben"},
        ],
        "shift_length": 1,
        "shift_unit": "days",
        "shift_until": "2026-11-27T08:00:00+00:00",
        "on_call": {
            "person": "person.anna",
            "name": "Anna",
            "until": "2026-11-27T08:00:00+00:00",
            "next_person": "person.ben",
            "next_name": "Ben",
            "overridden": False,
        },
    }
    assert (household["name"], household["entity_id"]) == ("household", "sensor.household_on_call")
    assert household["members"] == [{"person": "person.carla", "name": "person.carla"}]
    assert household["on_call"]["until"] == "2026-11-30T17:00:00+00:00"
    assert household["on_call"]["next_name"] == "person.carla"

    # What the panel's Override sends: Ben for two hours, then the schedule's Anna again.
    await hass.services.async_call(
        DOMAIN,
        "set_on_call",
        {"rotation": "rotation_ops", "member": "person.ben", "duration": {"hours": 2}},
        blocking=True,
    )
    ops = (await _on_call(client))[1]
    assert ops["on_call"] == {
        "person": "person.ben",
        "name": "Ben",
        "until": "2026-11-26T12:00:00+00:00",
        "next_person": "person.anna",
        "next_name": "Anna",
        "overridden": True,
    }
    assert ops["shift_until"] == "2026-11-27T08:00:00+00:00"
    sensor = hass.states.get("sensor.ops_on_call")
    assert sensor is not None
    assert (sensor.state, sensor.attributes["overridden"]) == ("Ben", True)
    # Back to schedule.
    await hass.services.async_call(
        DOMAIN, "end_on_call_override", {"rotation": "rotation_ops"}, blocking=True
    )
    assert (await _on_call(client))[1]["on_call"]["overridden"] is False
    await hass.config_entries.async_unload(config_entry.entry_id)
