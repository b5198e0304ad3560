"""Actions: every one with its happy path and each validation error."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service import async_get_all_descriptions
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
import voluptuous as vol

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
    hass: HomeAssistant, service: str, context: Context | None = None, **data: Any
) -> Any:
    response = await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        context=context,
        return_response=service in ("get_incidents", "create_incident"),
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
        "snooze_incident", "escalate_incident",
    }  # fmt: skip
    for name, description in descriptions.items():
        assert set(description["fields"]) == _schema_fields(registered[name].schema), name
