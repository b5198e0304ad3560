"""The mailbox subentry flow against a real Dovecot: each wrong setting gets its own error on
the form, the login and the folder are tried before saving, and a change applies in place. A
refused login raises a repair whose form takes the new password."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.email_incidents.const import DOMAIN, SUBENTRY_MAILBOX
from tests.conftest import free_port, source_subentry
from tests.flow_driver import start, submit, suggested
from tests.servers.dovecot import Dovecot, dovecot_fixture  # noqa: F401
from tests.test_mailbox import MAILBOX_ID, alert, mailbox_subentry, runtime_of, summaries, wait_for


def form(server: Dovecot, **changes: Any) -> dict[str, Any]:
    """The form as a user fills it for the test server."""
    return {
        **mailbox_subentry(server)["data"],
        "name": "Gmail alerts",
        "folder": "INBOX",
        "after_store": "mark_seen",
        "poll_seconds": 60,
        **changes,
    }


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [source_subentry()]


async def test_new_mailbox_errors_then_saved(
    hass: HomeAssistant,
    dovecot: Dovecot,
    setup_integration: MockConfigEntry,
) -> None:
    entry = setup_integration
    result = await start(hass, entry, SUBENTRY_MAILBOX)
    assert result["step_id"] == "mailbox"
    assert suggested(result)["security"] == "ssl"
    for changes, errors in (
        ({"name": " ", "host": ""}, {"name": "empty_value", "host": "empty_value"}),
        ({"after_store": "move"}, {"move_to": "move_to_missing"}),
        ({"after_store": "move", "move_to": "INBOX"}, {"move_to": "move_to_same_folder"}),
        ({"port": free_port()}, {"base": "cannot_connect"}),
        ({"verify_certificate": True}, {"base": "tls_failed"}),
        ({"port": dovecot.imap_port}, {"base": "tls_failed"}),
        ({"password": "wrong"}, {"password": "invalid_auth"}),
        ({"folder": "Nothing here"}, {"folder": "no_such_folder"}),
    ):
        result = await submit(hass, result, form(dovecot, **changes))
        assert result["errors"] == errors, changes
    result = await submit(hass, result, form(dovecot, security="starttls", port=dovecot.imap_port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (mailbox_id,) = [
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_MAILBOX
    ]
    # Read at once over STARTTLS, without a reload.
    await hass.async_add_executor_job(dovecot.append, [alert(1)])
    await wait_for(lambda: summaries(entry) == ["Disk 1 failed"], "the first incident")
    assert hass.states.get("binary_sensor.gmail_alerts_connected").state == "on"

    # A change keeps the password when none is typed, and applies in place.
    result = await start(hass, entry, SUBENTRY_MAILBOX, mailbox_id)
    assert "password" not in suggested(result)
    changed = form(dovecot, security="starttls", port=dovecot.imap_port, folder="Alerts")
    del changed["password"]
    result = await submit(hass, result, changed)
    assert result["errors"] == {"folder": "no_such_folder"}
    await hass.async_add_executor_job(dovecot.create_folder, "Alerts")
    result = await submit(hass, result, changed)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[mailbox_id].data["password"] == dovecot.password
    await hass.async_add_executor_job(dovecot.append, [alert(2)], "Alerts")
    await wait_for(lambda: len(summaries(entry)) == 2, "the incident from the new folder")


async def test_refused_login_repair_takes_new_password(
    hass: HomeAssistant,
    dovecot: Dovecot,
    listener_data: dict[str, Any],
    hass_client: ClientSessionGenerator,
) -> None:
    """The server refuses the stored password: the mailbox shows disconnected with the reason,
    a repair asks for the password, and with the right one the mailbox reads again."""
    await hass.async_add_executor_job(dovecot.set_password, "changed-Passw0rd")
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=listener_data,
        subentries_data=[source_subentry(), mailbox_subentry(dovecot, password="old-password")],
        entry_id="listener_entry",
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "repairs", {})
    assert await hass.config_entries.async_setup(entry.entry_id)
    try:
        issue_id = f"mailbox_{MAILBOX_ID}"
        registry = ir.async_get(hass)
        await wait_for(lambda: registry.async_get_issue(DOMAIN, issue_id) is not None, "repair")
        issue = registry.async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.is_fixable
        state = hass.states.get("binary_sensor.alerts_connected")
        assert (state.state, state.attributes["error"]) == ("off", "invalid_auth")

        client = await hass_client()
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
        )
        assert response.status == HTTPStatus.OK
        flow = await response.json()
        assert flow["step_id"] == "password"
        assert flow["description_placeholders"] == {"mailbox": "Alerts", "username": "alerts"}
        response = await client.post(
            f"/api/repairs/issues/fix/{flow['flow_id']}", json={"password": "still wrong"}
        )
        flow = await response.json()
        assert flow["errors"] == {"base": "invalid_auth"}
        response = await client.post(
            f"/api/repairs/issues/fix/{flow['flow_id']}", json={"password": "changed-Passw0rd"}
        )
        assert (await response.json())["type"] == "create_entry"
        await hass.async_add_executor_job(dovecot.append, [alert(1)])
        await wait_for(lambda: summaries(entry) == ["Disk 1 failed"], "the incident")
        await wait_for(lambda: registry.async_get_issue(DOMAIN, issue_id) is None, "fixed")
        assert runtime_of(entry).mailboxes[MAILBOX_ID].status.connected
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
