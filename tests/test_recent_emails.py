"""The recent e-mails are kept over restarts: the rule tester and the diagnostics have them."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import DOMAIN, SUBENTRY_SOURCE

from .conftest import make_email
from .flow_driver import choose, start, submit
from .test_source_flow import basics


def _key(entry: MockConfigEntry) -> str:
    """Their storage key (the test plugin keeps Home Assistant's storage in `hass_storage`)."""
    return f"{DOMAIN}.{entry.entry_id}.recent"


async def test_the_rule_tester_replays_emails_from_before_a_restart(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: Any,
    hass_storage: dict[str, Any],
) -> None:
    await send_email(make_email(subject="Disk failure"))
    await send_email(make_email(subject="Disk failure"))
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert len(hass_storage[_key(setup_integration)]["data"]["emails"]) == 2

    runtime = setup_integration.runtime_data
    assert [recent.email.subject for recent in runtime.recent] == ["Disk failure"] * 2
    assert [recent.outcomes[0].outcome for recent in runtime.recent] == ["created", "appended"]
    result = await start(hass, setup_integration, SUBENTRY_SOURCE, "source_nas")
    result = await submit(hass, result, basics(name="NAS", addresses=["nas"]))
    result = await choose(hass, result, "test_rules")
    lines = result["description_placeholders"]["results"].splitlines()
    assert [line.rpartition(" · ")[2] for line in lines] == ["opens A", "appends to A"]


async def test_a_damaged_stored_email_is_left_out(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    good = {
        "received": "2026-11-24T10:00:00+00:00",
        "client": "127.0.0.1",
        "mail_from": "monitor@example.com",
        "rcpt_tos": ["nas@homeassistant.local"],
        "email": {
            "subject": "Kept",
            "from_address": "monitor@example.com",
            "from_name": "",
            "envelope_sender": "monitor@example.com",
            "message_id": "<1@example.com>",
            "in_reply_to": "",
            "to": ["nas@homeassistant.local"],
            "cc": [],
            "bcc": [],
            "delivered_to": [],
            "envelope_recipients": ["nas@homeassistant.local"],
            "references": [],
            "date": None,
            "headers": [["Subject", "Kept"]],
            "body": "text",
            "attachments": [],
            "size": 100,
        },
        "outcomes": [["source_nas", "created", ["INC-1"], None]],
        "refusal": None,
    }
    hass_storage[_key(config_entry)] = {
        "version": 1,
        "key": _key(config_entry),
        "data": {"emails": [good | {"received": "not a time"}, good, {"email": {}}]},
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert [recent.email.subject for recent in config_entry.runtime_data.recent] == ["Kept"]
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_removing_the_integration_forgets_the_recent_emails(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: Any,
    hass_storage: dict[str, Any],
) -> None:
    await send_email()
    await hass.config_entries.async_unload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert _key(setup_integration) in hass_storage
    await hass.config_entries.async_remove(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert _key(setup_integration) not in hass_storage
