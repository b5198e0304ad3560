"""Actions: every one with its happy path and each validation error."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service import async_get_all_descriptions
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
import voluptuous as vol
import yaml

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import (
    Actor,
    ActorKind,
    IncidentStatus,
    LogKind,
    Priority,
)

from .conftest import TWO_SOURCES, FailingDisk, find_device
from .entity_helpers import FROZEN_TIME, SendEmail, deliver

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)


async def _call(
    hass: HomeAssistant,
    service: str,
    context: Context | None = None,
    *,
    return_response: bool | None = None,
    **data: Any,
) -> Any:
    response = await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        context=context,
        return_response=(
            service in ("get_incidents", "create_incident")
            if return_response is None
            else return_response
        ),
    )
    await hass.async_block_till_done()
    return response


async def _refused(hass: HomeAssistant, service: str, **data: Any) -> ServiceValidationError:
    with pytest.raises(ServiceValidationError) as refused:
        await _call(hass, service, **data)
    assert refused.value.translation_domain == DOMAIN
    return refused.value


def _incident(entry: MockConfigEntry, incident_id: str = "INC-1") -> Any:
    incident = entry.runtime_data.engine.get(incident_id)
    assert incident is not None
    return incident


async def test_accept_as_the_calling_user(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_admin_user: MockUser,
) -> None:
    await deliver(hass, send_email)
    await _call(hass, "accept_incident", Context(user_id=hass_admin_user.id), incident_id="INC-1")
    incident = _incident(setup_integration)
    assert incident.status is IncidentStatus.ACCEPTED
    assert incident.accepted_by == Actor(kind=ActorKind.USER, name="Mock User")


async def test_accept_and_resolve_refusals(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    await deliver(hass, send_email)
    refused = await _refused(hass, "accept_incident", incident_id="INC-9")
    assert (refused.translation_key, refused.translation_placeholders) == (
        "unknown_incident",
        {"incident_id": "INC-9", "source": ""},
    )
    await _call(hass, "accept_incident", incident_id="INC-1")
    refused = await _refused(hass, "accept_incident", incident_id="INC-1")
    assert refused.translation_key == "already_accepted"
    await _call(hass, "resolve_incident", incident_id="INC-1")
    incident = _incident(setup_integration)
    assert incident.resolved_by == Actor(kind=ActorKind.ACTION, name="resolve_incident")
    for service in ("accept_incident", "resolve_incident"):
        refused = await _refused(hass, service, incident_id="INC-1")
        assert refused.translation_key == "already_resolved"
    assert str(refused) == "Incident INC-1 is already resolved"  # Home Assistant drops the "."


@pytest.mark.parametrize("subentries", [TWO_SOURCES])
@pytest.mark.parametrize("source", ["device", "source_nas", "nas"])
async def test_resolve_by_source_and_key(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    source: str,
) -> None:
    """The source is the alert source's device, its sub-entry id or its name."""
    if source == "device":
        source = find_device(device_registry, setup_integration.entry_id, "source_nas").id
    for _ in range(2):
        await _call(hass, "create_incident", source="source_nas", summary="UPS", key="ups")
    await _call(hass, "create_incident", source="source_nas", summary="Fan", key="fan")
    await _call(hass, "create_incident", source="source_router", summary="UPS", key="ups")
    await _call(hass, "resolve_incident", source=source, key="ups")
    engine = setup_integration.runtime_data.engine
    assert {incident.id: incident.status for incident in engine.incidents()} == {
        "INC-1": IncidentStatus.RESOLVED,
        "INC-2": IncidentStatus.RESOLVED,
        "INC-3": IncidentStatus.PENDING,
        "INC-4": IncidentStatus.PENDING,
    }


@pytest.mark.usefixtures("setup_integration")
async def test_resolve_refusals(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, config_entry: MockConfigEntry
) -> None:
    refused = await _refused(hass, "resolve_incident", source="source_nas")
    assert refused.translation_key == "key_required"
    refused = await _refused(hass, "resolve_incident", source="printer", key="x")
    assert (refused.translation_key, refused.translation_placeholders) == (
        "unknown_source",
        {"source": "printer"},
    )
    listener = find_device(device_registry, config_entry.entry_id, config_entry.entry_id)
    refused = await _refused(hass, "resolve_incident", source=listener.id, key="x")
    assert refused.translation_key == "unknown_source"
    refused = await _refused(hass, "resolve_incident", source="NAS", key="ups")
    assert (refused.translation_key, refused.translation_placeholders) == (
        "not_open",
        {"incident_id": "", "source": "NAS"},
    )
    with pytest.raises(vol.Invalid):
        await _call(hass, "resolve_incident", key="ups")


async def test_create_incident(
    hass: HomeAssistant, setup_integration: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    response = await _call(
        hass,
        "create_incident",
        Context(user_id=hass_admin_user.id),
        source="source_nas",
        summary="Water leak",
        details="Basement sensor is wet.",
        key="leak",
        priority="low",
    )
    incident = _incident(setup_integration)
    assert response == {
        "incident": {
            "incident_id": "INC-1",
            "source_id": "source_nas",
            "source_name": "NAS",
            "device_id": setup_integration.runtime_data.device_id("source_nas"),
            "status": "pending",
            "summary": "Water leak",
            "key": "leak",
            "priority": "low",
            "from": "",
            "email_count": 0,
            "created": FROZEN_TIME,
            "last_email": None,
            "accepted": None,
            "resolved": None,
            "accepted_by": None,
            "resolved_by": None,
            "url": "/email-incidents/INC-1",
        }
    }
    assert (incident.details, incident.priority) == ("Basement sensor is wet.", Priority.LOW)
    assert incident.log[0].actor == Actor(kind=ActorKind.USER, name="Mock User")
    refused = await _refused(hass, "create_incident", source="printer", summary="x")
    assert refused.translation_key == "unknown_source"


async def test_add_note(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    await _call(hass, "create_incident", source="source_nas", summary="Water leak")
    await _call(hass, "add_note", incident_id="INC-1", note="Plumber called")
    note = _incident(setup_integration).log[-1]
    assert (note.kind, note.message, note.actor) == (
        LogKind.NOTE,
        "Plumber called",
        Actor(kind=ActorKind.ACTION, name="add_note"),
    )
    refused = await _refused(hass, "add_note", incident_id="INC-9", note="x")
    assert refused.translation_key == "unknown_incident"


@pytest.mark.parametrize("subentries", [TWO_SOURCES])
async def test_get_incidents(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    freezer: Any,
) -> None:
    await deliver(hass, send_email, subject="Disk 1")
    freezer.tick(3600)
    await deliver(hass, send_email, subject="Disk 2")
    await deliver(hass, send_email, subject="Link down", to="router@homeassistant.local")
    await _call(hass, "accept_incident", incident_id="INC-2")

    def ids(response: dict[str, list[dict[str, Any]]]) -> list[str]:
        return [incident["incident_id"] for incident in response["incidents"]]

    assert ids(await _call(hass, "get_incidents")) == ["INC-3", "INC-2", "INC-1"]
    assert ids(await _call(hass, "get_incidents", source="source_nas")) == ["INC-2", "INC-1"]
    assert ids(await _call(hass, "get_incidents", status=["accepted"])) == ["INC-2"]
    assert ids(await _call(hass, "get_incidents", status="pending", limit=1)) == ["INC-3"]
    since = await _call(hass, "get_incidents", since="2026-11-26T02:30:00")  # local time
    assert ids(since) == ["INC-3", "INC-2"]
    [router] = (await _call(hass, "get_incidents", source="Router"))["incidents"]
    assert router == {
        "incident_id": "INC-3",
        "source_id": "source_router",
        "source_name": "Router",
        "device_id": setup_integration.runtime_data.device_id("source_router"),
        "status": "pending",
        "summary": "Link down",
        "key": None,
        "priority": "high",
        "from": "nas@example.com",
        "email_count": 1,
        "created": "2026-11-26T11:00:00+00:00",
        "last_email": "2026-11-26T11:00:00+00:00",
        "accepted": None,
        "resolved": None,
        "accepted_by": None,
        "resolved_by": None,
        "url": "/email-incidents/INC-3",
    }


async def test_get_incidents_with_details(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_admin_user: MockUser,
) -> None:
    await deliver(hass, send_email, subject="Disk 1", body="Volume 1 is degraded.\nCheck it.")
    await _call(
        hass, "add_note", Context(user_id=hass_admin_user.id), incident_id="INC-1", note="On it"
    )
    plain = (await _call(hass, "get_incidents"))["incidents"][0]
    assert "emails" not in plain
    assert "log" not in plain
    [incident] = (await _call(hass, "get_incidents", details=True))["incidents"]
    [email] = incident["emails"]
    assert (email["subject"], email["body"], email["from"]) == (
        "Disk 1",
        "Volume 1 is degraded.\nCheck it.",
        "nas@example.com",
    )
    assert incident["emails_omitted"] == 0
    assert incident["log"][-1] == {
        "kind": "note",
        "time": FROZEN_TIME,
        "text": "On it",
        "actor": "Mock User",
    }


async def test_not_loaded(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    await hass.config_entries.async_unload(setup_integration.entry_id)
    refused = await _refused(hass, "get_incidents")
    assert refused.translation_key == "not_loaded"


async def test_store_write_failure(
    hass: HomeAssistant, setup_integration: MockConfigEntry, failing_disk: FailingDisk
) -> None:
    await _call(hass, "create_incident", source="source_nas", summary="Water leak")
    failing_disk.failing = True
    with pytest.raises(HomeAssistantError) as failed:
        await _call(hass, "accept_incident", incident_id="INC-1")
    assert (failed.value.translation_domain, failed.value.translation_key) == (
        DOMAIN,
        "store_failed",
    )
    assert _incident(setup_integration).status is IncidentStatus.PENDING


async def _create(hass: HomeAssistant, count: int) -> list[str]:
    """`count` incidents of the NAS, INC-1 to INC-`count`."""
    for number in range(1, count + 1):
        await _call(hass, "create_incident", source="source_nas", summary=f"Disk {number}")
    return [f"INC-{number}" for number in range(1, count + 1)]


async def test_forty_incidents_accepted_in_one_call_and_one_write(
    hass: HomeAssistant, setup_integration: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    """A list of ids: each incident accepted as the calling user with the note in its
    timeline, all of it stored in one write, one `accepted` event each and the result of each
    in the response."""
    ids = await _create(hass, 40)
    runtime = setup_integration.runtime_data
    writes = runtime.store.writes
    accepted = async_capture_events(hass, f"{DOMAIN}_incident_accepted")
    updated = async_capture_events(hass, f"{DOMAIN}_incident_updated")
    response = await _call(
        hass,
        "accept_incident",
        Context(user_id=hass_admin_user.id),
        return_response=True,
        incident_id=ids,
        note="Power cut: on it",
    )
    assert runtime.store.writes == writes + 1
    assert response == {
        "results": [{"incident_id": incident_id, "success": True} for incident_id in ids],
        "succeeded": 40,
        "failed": 0,
    }
    user = Actor(kind=ActorKind.USER, name="Mock User")
    for incident_id in ids:
        incident = _incident(setup_integration, incident_id)
        assert (incident.status, incident.accepted_by) == (IncidentStatus.ACCEPTED, user)
        accepted_entry, note = incident.log[-2:]
        assert (accepted_entry.kind, accepted_entry.actor) == (LogKind.ACCEPTED, user)
        assert (note.kind, note.message, note.actor) == (LogKind.NOTE, "Power cut: on it", user)
    assert [event.data["incident_id"] for event in accepted] == ids
    assert updated == []  # the note is part of the acceptance, not a change of its own


async def test_a_failing_incident_does_not_stop_the_others(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    await _create(hass, 3)
    await _call(hass, "resolve_incident", incident_id="INC-2")
    response = await _call(
        hass,
        "accept_incident",
        return_response=True,
        incident_id=["INC-1", "INC-2", "INC-9", " INC-3 ", "INC-1", ""],
    )
    assert response == {
        "results": [
            {"incident_id": "INC-1", "success": True},
            {
                "incident_id": "INC-2",
                "success": False,
                "error": "already_resolved",
                "message": "Incident INC-2 is already resolved",
            },
            {
                "incident_id": "INC-9",
                "success": False,
                "error": "unknown_incident",
                "message": "There is no incident INC-9",
            },
            {"incident_id": "INC-3", "success": True},
        ],
        "succeeded": 2,
        "failed": 2,
    }
    statuses = [_incident(setup_integration, f"INC-{n}").status for n in (1, 2, 3)]
    assert statuses == [IncidentStatus.ACCEPTED, IncidentStatus.RESOLVED, IncidentStatus.ACCEPTED]
    refused = await _refused(hass, "resolve_incident", incident_id=["INC-2", "INC-3", "INC-9"])
    assert str(refused) == (
        "2 of 3 incidents were not changed (the others were): "
        "Incident INC-2 is already resolved; There is no incident INC-9"
    )
    assert _incident(setup_integration, "INC-3").status is IncidentStatus.RESOLVED


async def test_without_a_response_the_others_are_changed_then_the_call_fails(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """An automation without `response_variable` sees the call fail (it stops, unless
    `continue_on_error`), yet what could be changed was; the error names what was not."""
    ids = await _create(hass, 14)
    await _call(hass, "resolve_incident", incident_id=ids[:12])
    refused = await _refused(hass, "resolve_incident", incident_id=ids, note="Disks replaced")
    assert refused.translation_key == "incidents_failed"
    placeholders = refused.translation_placeholders or {}
    assert (placeholders["failed"], placeholders["count"]) == ("12", "14")
    named = "; ".join(f"Incident INC-{n} is already resolved" for n in range(1, 11))
    assert placeholders["errors"] == f"{named}; 2 more"
    assert str(refused) == f"12 of 14 incidents were not changed (the others were): {named}; 2 more"
    for incident_id in ids[12:]:
        incident = _incident(setup_integration, incident_id)
        assert incident.status is IncidentStatus.RESOLVED
        assert incident.log[-1].message == "Disks replaced"
    # Those that failed got no note either.
    assert _incident(setup_integration, "INC-1").log[-1].kind is LogKind.RESOLVED


async def test_the_readme_example_and_its_response(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = {
        name: yaml.safe_load(block)
        for name, block in re.findall(r"<!-- (bulk-\w+) -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    }
    example = blocks["bulk-example"]
    await _create(hass, 43)
    await _call(hass, "resolve_incident", incident_id="INC-42")
    domain, service = example["action"].split(".")
    assert domain == DOMAIN
    response = await _call(hass, service, return_response=True, **example["data"])
    assert response == blocks["bulk-response"]
    note = _incident(setup_integration, "INC-41").log[-1].message
    assert note == example["data"]["note"]


async def test_a_list_of_one_fails_as_one_id_does(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The action's UI sends a list even for one id: its error is that incident's own."""
    await _create(hass, 1)
    await _call(hass, "accept_incident", incident_id=["INC-1"])
    refused = await _refused(hass, "accept_incident", incident_id=["INC-1"])
    assert (refused.translation_key, refused.translation_placeholders) == (
        "already_accepted",
        {"incident_id": "INC-1", "source": ""},
    )


async def test_nothing_to_change_writes_nothing(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    ids = await _create(hass, 2)
    runtime = setup_integration.runtime_data
    await _call(hass, "resolve_incident", incident_id=ids)
    writes = runtime.store.writes
    response = await _call(hass, "resolve_incident", return_response=True, incident_id=ids)
    assert (response["succeeded"], response["failed"]) == (0, 2)
    refused = await _refused(hass, "resolve_incident", incident_id="INC-1", note="x")
    assert refused.translation_key == "already_resolved"
    assert runtime.store.writes == writes


async def test_one_id_with_a_response_and_a_note(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    await _create(hass, 1)
    response = await _call(
        hass, "accept_incident", return_response=True, incident_id="INC-1", note="Mine"
    )
    assert response == {
        "results": [{"incident_id": "INC-1", "success": True}],
        "succeeded": 1,
        "failed": 0,
    }
    assert _incident(setup_integration).log[-1].message == "Mine"
    assert await _call(hass, "resolve_incident", incident_id="INC-1") is None


async def test_resolve_by_source_and_key_with_a_note(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    for _ in range(2):
        await _call(hass, "create_incident", source="source_nas", summary="UPS", key="ups")
    response = await _call(
        hass, "resolve_incident", return_response=True, source="NAS", key="ups", note="Mains"
    )
    assert response == {
        "results": [
            {"incident_id": "INC-1", "success": True},
            {"incident_id": "INC-2", "success": True},
        ],
        "succeeded": 2,
        "failed": 0,
    }
    for incident_id in ("INC-1", "INC-2"):
        last = _incident(setup_integration, incident_id).log[-1]
        assert (last.kind, last.message) == (LogKind.NOTE, "Mains")


async def test_a_failed_write_changes_none_of_the_list(
    hass: HomeAssistant, setup_integration: MockConfigEntry, failing_disk: FailingDisk
) -> None:
    ids = await _create(hass, 3)
    failing_disk.failing = True
    with pytest.raises(HomeAssistantError) as failed:
        await _call(hass, "accept_incident", return_response=True, incident_id=ids, note="x")
    assert failed.value.translation_key == "store_failed"
    for incident_id in ids:
        incident = _incident(setup_integration, incident_id)
        assert incident.status is IncidentStatus.PENDING
        assert incident.log[-1].kind is LogKind.CREATED


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("accept_incident", {"incident_id": []}),
        ("accept_incident", {"incident_id": [" ", ""]}),
        ("accept_incident", {"incident_id": ["INC-1", ["INC-2"]]}),
        ("accept_incident", {"incident_id": "INC-1", "note": ""}),
        ("resolve_incident", {"incident_id": "INC-1", "note": "x" * 2001}),
        ("escalate_incident", {"incident_id": ["INC-1"]}),
        ("add_note", {"incident_id": ["INC-1"], "note": "x"}),
    ],
)
async def test_invalid_lists_and_notes(
    hass: HomeAssistant, service: str, data: dict[str, Any]
) -> None:
    with pytest.raises(vol.Invalid):
        await _call(hass, service, **data)


def _schema_fields(schema: Any) -> set[str]:
    if isinstance(schema, vol.All):  # resolve_incident: a schema and a check across its keys
        schema = schema.validators[0]
    return {str(key) for key in schema.schema}


@pytest.mark.usefixtures("setup_integration")
async def test_services_yaml_matches_the_schemas(hass: HomeAssistant) -> None:
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(descriptions) == set(registered) == {
        "accept_incident", "resolve_incident", "create_incident", "add_note", "get_incidents",
        "snooze_incident", "escalate_incident", "start_maintenance", "end_maintenance",
        "set_on_call", "end_on_call_override",
    }  # fmt: skip
    for name, description in descriptions.items():
        assert set(description["fields"]) == _schema_fields(registered[name].schema), name
