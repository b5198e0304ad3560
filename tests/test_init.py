"""Setup, unload and removal; devices of the listener and of each alert source."""

from __future__ import annotations

import asyncio
import logging
import socket
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.frame import report_usage
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import DOMAIN, SUBENTRY_SOURCE
from custom_components.email_incidents.store import storage_path

from .conftest import REPORTED_USE, find_device, policy_subentry, source_subentry


def _source_devices(device_registry: dr.DeviceRegistry, entry_id: str) -> dict[str, str | None]:
    """Alert source devices by their identifier, with the subentry they belong to."""
    found: dict[str, str | None] = {}
    for device in dr.async_entries_for_config_entry(device_registry, entry_id):
        [(_domain, identifier)] = device.identifiers
        if identifier != entry_id:
            found[identifier] = _subentry(device, entry_id)
    return found


def _subentry(device: dr.DeviceEntry, entry_id: str) -> str | None:
    """The subentry a device belongs to: its own field where a device belongs to one entry,
    the deprecated per-entry mapping before that."""
    if hasattr(device, "config_subentry_id"):
        subentry_id: str | None = device.config_subentry_id
        return subentry_id
    [subentry_id] = device.config_entries_subentries[entry_id]
    return subentry_id


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_setup_creates_the_devices(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    entry = setup_integration
    assert entry.state is ConfigEntryState.LOADED
    listener = find_device(device_registry, entry.entry_id, entry.entry_id)
    source = find_device(device_registry, entry.entry_id, "source_nas")
    assert (listener.name, listener.entry_type) == (
        "Email Incidents listener",
        dr.DeviceEntryType.SERVICE,
    )
    assert (source.name, source.via_device_id) == ("NAS", listener.id)
    assert _source_devices(device_registry, entry.entry_id) == {"source_nas": "source_nas"}
    by_device: dict[str, set[tuple[str, str | None]]] = {}
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        assert entity.device_id is not None
        by_device.setdefault(entity.device_id, set()).add(
            (entity.unique_id, entity.config_subentry_id)
        )
    assert by_device == {
        listener.id: {
            (f"{entry.entry_id}_{key}", None)
            for key in (
                "running", "emails_received", "emails_accepted", "emails_filtered",
                "emails_refused", "last_email",
            )
        },
        source.id: {
            (f"source_nas_{key}", "source_nas")
            for key in (
                "problem", "open_incidents", "status", "latest_incident", "incident_events",
                "incidents", "maintenance", "send_test_email", "time_to_accept",
                "time_to_resolve", "incidents_opened",
            )
        },
    }  # fmt: skip


async def test_unload_stops_listening(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    port = setup_integration.data["port"]
    assert _listening(port)
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    assert setup_integration.state is ConfigEntryState.NOT_LOADED
    assert not _listening(port)


async def test_remove_forgets_the_incidents(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.services.async_call(
        DOMAIN, "create_incident", {"source": "source_nas", "summary": "Leak"}, blocking=True
    )
    path = storage_path(hass, config_entry.entry_id)
    assert path.exists()
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not path.exists()


async def test_stale_source_devices_are_removed_at_setup(
    hass: HomeAssistant, config_entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    config_entry.add_to_hass(hass)
    stale = device_registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, "source_deleted")}
    )
    foreign = device_registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={("other_domain", "source_nas")}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert device_registry.async_get(stale.id) is None
    assert device_registry.async_get(foreign.id) is None
    assert _source_devices(device_registry, config_entry.entry_id) == {"source_nas": "source_nas"}
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_sources_added_and_removed_live(
    hass: HomeAssistant, setup_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    entry = setup_integration
    router = ConfigSubentry(
        data=MappingProxyType({"name": "Router", "addresses": ["router"]}),
        subentry_id="source_router",
        subentry_type=SUBENTRY_SOURCE,
        title="Router",
        unique_id=None,
    )
    hass.config_entries.async_add_subentry(entry, router)
    await hass.async_block_till_done()
    assert _source_devices(device_registry, entry.entry_id) == {
        "source_nas": "source_nas",
        "source_router": "source_router",
    }
    listener = find_device(device_registry, entry.entry_id, entry.entry_id)
    assert find_device(device_registry, entry.entry_id, "source_router").via_device_id == (
        listener.id
    )
    assert hass.states.get("sensor.router_status").state == "ok"

    hass.config_entries.async_remove_subentry(entry, "source_nas")
    await hass.async_block_till_done()
    assert _source_devices(device_registry, entry.entry_id) == {"source_router": "source_router"}
    assert hass.states.get("sensor.nas_status") is None


async def test_sources_of_version_1_migrate_to_key_rule_lists(
    hass: HomeAssistant, listener_data: dict[str, Any]
) -> None:
    old_rule = {"field": "subject", "method": "regex", "pattern": r"Host (?P<key>\S+)"}
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=listener_data,
        minor_version=1,
        subentries_data=[
            source_subentry(creation_mode="incident_keys", key_rule=old_rule),
            source_subentry("Backups", ("backups",), "source_backups", key_rule=None),
            policy_subentry(),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 2
    assert entry.subentries["source_nas"].data["key_rules"] == [
        old_rule | {"case_sensitive": True, "template": ""}
    ]
    assert "key_rule" not in entry.subentries["source_nas"].data
    assert entry.subentries["source_backups"].data["key_rules"] == []
    assert dict(entry.subentries["policy_oncall"].data) == dict(policy_subentry()["data"])
    await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_of_a_newer_release_is_not_touched(
    hass: HomeAssistant, listener_data: dict[str, Any]
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=listener_data, version=2)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


@pytest.mark.usefixtures("setup_integration")
async def test_a_report_of_deprecated_use_is_caught(
    hass: HomeAssistant, no_reported_use: list[logging.LogRecord]
) -> None:
    """What every test fails on: Home Assistant's report that our integration uses something
    deprecated, as it logs it to users."""
    report_usage("uses a test's deprecated thing", integration_domain=DOMAIN)
    [report] = [r.getMessage() for r in no_reported_use if REPORTED_USE in r.getMessage()]
    assert report.startswith(f"{REPORTED_USE} '{DOMAIN}' uses a test's deprecated thing")
    no_reported_use.clear()  # caught: this test passes


async def test_actions_answer_as_soon_as_emails_are_accepted(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the platforms are still being set up (slow with thousands of stored incidents),
    the listener already answers 250: the actions must work from then on, not say "not
    loaded"."""
    platforms_reached, platforms_may_load = asyncio.Event(), asyncio.Event()
    forward = hass.config_entries.async_forward_entry_setups

    async def slow_platforms(*args: Any, **kwargs: Any) -> None:
        platforms_reached.set()
        await platforms_may_load.wait()
        await forward(*args, **kwargs)

    monkeypatch.setattr(hass.config_entries, "async_forward_entry_setups", slow_platforms)
    config_entry.add_to_hass(hass)
    setup = hass.async_create_task(hass.config_entries.async_setup(config_entry.entry_id))
    await platforms_reached.wait()
    assert config_entry.state is ConfigEntryState.SETUP_IN_PROGRESS
    assert await send_email() == {}
    response = await hass.services.async_call(
        DOMAIN, "get_incidents", {}, blocking=True, return_response=True
    )
    assert [incident["incident_id"] for incident in response["incidents"]] == ["INC-1"]
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    platforms_may_load.set()
    assert await setup
    await hass.async_block_till_done()
    assert hass.states.get("sensor.nas_status").state == "accepted"
    await hass.config_entries.async_unload(config_entry.entry_id)
