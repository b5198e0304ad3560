"""Mailboxes against a real Dovecot: every message of the folder becomes what an SMTP e-mail
becomes, exactly once, whatever happens between the server, the store and the flags."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.utils import make_msgid
import time
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import DOMAIN, SUBENTRY_MAILBOX
from custom_components.email_incidents.diagnostics import async_get_config_entry_diagnostics
from custom_components.email_incidents.imap import ImapSession, MailboxError
from custom_components.email_incidents.runtime import EmailIncidentsRuntime
from tests.conftest import make_email, source_subentry
from tests.servers.dovecot import Dovecot, dovecot_fixture  # noqa: F401

WAIT_SECONDS = 30.0
MAILBOX_ID = "mailbox_alerts"


def mailbox_subentry(server: Dovecot, **data: Any) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "name": "Alerts",
            "host": "127.0.0.1",
            "port": server.imaps_port,
            "security": "ssl",
            "verify_certificate": False,
            "username": server.user,
            "password": server.password,
            "poll_seconds": 10,
            **data,
        },
        subentry_id=MAILBOX_ID,
        subentry_type=SUBENTRY_MAILBOX,
        title=str(data.get("name", "Alerts")),
        unique_id=None,
    )


def alert(number: int, to: str = "nas@homeassistant.local", **kwargs: Any) -> bytes:
    return make_email(
        subject=f"Disk {number} failed", to=to, message_id=make_msgid(str(number)), **kwargs
    ).as_bytes()


def runtime_of(entry: MockConfigEntry) -> EmailIncidentsRuntime:
    runtime: EmailIncidentsRuntime = entry.runtime_data
    return runtime


def summaries(entry: MockConfigEntry) -> list[str]:
    """The incidents' summaries, oldest first."""
    incidents = runtime_of(entry).engine.state.incidents.values()
    return [incident.summary for incident in sorted(incidents, key=lambda i: int(i.id[4:]))]


async def wait_for(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Not within {seconds} s: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def subentries(dovecot: Dovecot) -> list[ConfigSubentryData]:
    return [source_subentry(creation_mode="every_email"), mailbox_subentry(dovecot)]


async def test_burst_becomes_one_incident_each_and_is_marked_seen(
    hass: HomeAssistant,
    dovecot: Dovecot,
    setup_integration: MockConfigEntry,
) -> None:
    """50 messages that land together: 50 incidents, in order, each message marked read."""
    entry = setup_integration
    await wait_for(lambda: runtime_of(entry).mailboxes[MAILBOX_ID].status.connected, "connected")
    await hass.async_add_executor_job(dovecot.append, [alert(n) for n in range(50)])
    await wait_for(lambda: len(summaries(entry)) == 50, "50 incidents")
    assert summaries(entry) == [f"Disk {n} failed" for n in range(50)]
    flags = await hass.async_add_executor_job(dovecot.flags)
    await wait_for(
        lambda: all("\\Seen" in f for f in dovecot.flags().values()), "every message read"
    )
    assert len(flags) == 50
    # The sensor follows once the flags are confirmed (the server shows them a moment before).
    await wait_for(
        lambda: (state := hass.states.get("sensor.alerts_e_mails_taken")) is not None
        and state.state == "50",
        "E-mails taken: 50",
    )
    assert hass.states.get("binary_sensor.alerts_connected").state == "on"

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["mailboxes"][MAILBOX_ID] | {"last_check": None} == {
        "connected": True,
        "error": "",
        "last_check": None,
        "mark": [dovecot.uidvalidity(), 50, 0],
    }
    (mailbox,) = [s for s in diagnostics["subentries"] if s["type"] == SUBENTRY_MAILBOX]
    for secret in ("host", "username", "password"):
        assert mailbox["data"][secret] == "**REDACTED**"
    assert dovecot.password not in repr(diagnostics)


async def test_backlog_taken_at_start_oldest_first(
    hass: HomeAssistant,
    dovecot: Dovecot,
    config_entry: MockConfigEntry,
) -> None:
    """1,000 messages that arrived while Home Assistant was down: 1,000 incidents, each once."""
    await hass.async_add_executor_job(dovecot.append, [alert(n) for n in range(1000)])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    try:
        await wait_for(lambda: len(summaries(config_entry)) == 1000, "1,000 incidents", 120)
        assert summaries(config_entry) == [f"Disk {n} failed" for n in range(1000)]
        await wait_for(
            lambda: not runtime_of(config_entry).mailbox_mark(MAILBOX_ID).unflagged,
            "every message flagged",
        )
        # A restart takes nothing again.
        assert await hass.config_entries.async_reload(config_entry.entry_id)
        await wait_for(
            lambda: runtime_of(config_entry).mailboxes[MAILBOX_ID].status.last_check is not None,
            "a check after the restart",
        )
        assert len(summaries(config_entry)) == 1000
    finally:
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_flag_step_cut_off_is_repeated_not_the_incident(
    hass: HomeAssistant,
    dovecot: Dovecot,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection ends between the stored write and the flags: after the reconnect the
    messages are flagged, and no incident is opened twice."""
    original = ImapSession.after_store
    failures = [MailboxError("connection_lost", "cut by the test")]

    async def after_store_once_failing(session: ImapSession, uids: Any) -> None:
        if failures:
            raise failures.pop()
        await original(session, uids)

    monkeypatch.setattr(ImapSession, "after_store", after_store_once_failing)
    await hass.async_add_executor_job(dovecot.append, [alert(n) for n in range(5)])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    try:
        await wait_for(
            lambda: all("\\Seen" in f for f in dovecot.flags().values()), "messages flagged", 15
        )
        assert summaries(config_entry) == [f"Disk {n} failed" for n in range(5)]
        assert not failures
    finally:
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_dovecot_restart_during_idle_loses_nothing(
    hass: HomeAssistant,
    dovecot: Dovecot,
    setup_integration: MockConfigEntry,
) -> None:
    """The server restarts while the reader idles: it reconnects, and the next message still
    arrives."""
    entry = setup_integration
    reader = runtime_of(entry).mailboxes[MAILBOX_ID]
    await wait_for(lambda: reader.status.connected, "connected")
    await hass.async_add_executor_job(dovecot.append, [alert(1)])
    await wait_for(lambda: len(summaries(entry)) == 1, "the first incident")
    await hass.async_add_executor_job(dovecot.restart)
    await hass.async_add_executor_job(dovecot.append, [alert(2)])
    await wait_for(lambda: len(summaries(entry)) == 2, "the incident after the restart")
    assert summaries(entry) == ["Disk 1 failed", "Disk 2 failed"]
    await wait_for(lambda: reader.status.connected, "connected again")


async def test_changed_uidvalidity_opens_nothing_again(
    hass: HomeAssistant,
    dovecot: Dovecot,
    setup_integration: MockConfigEntry,
) -> None:
    """A folder rebuilt with new UIDs (its messages unread again): Message-IDs keep every one
    from opening a second incident; a new message still does."""
    entry = setup_integration
    reader = runtime_of(entry).mailboxes[MAILBOX_ID]
    await wait_for(lambda: reader.status.connected, "connected")
    await hass.async_add_executor_job(dovecot.append, [alert(n) for n in range(3)])
    await wait_for(lambda: len(summaries(entry)) == 3, "three incidents")
    # The reader marks them read just after storing them: only then may the test unmark them.
    await wait_for(lambda: not runtime_of(entry).mailbox_mark(MAILBOX_ID).unflagged, "marked read")

    def mark_unread_and_renumber() -> None:
        with dovecot.imap() as client:
            client.select("INBOX")
            client.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
        dovecot.reset_uidvalidity()

    await hass.async_add_executor_job(mark_unread_and_renumber)
    await hass.async_add_executor_job(dovecot.append, [alert(3)])
    await wait_for(lambda: len(summaries(entry)) == 4, "the new message's incident")
    await wait_for(
        lambda: runtime_of(entry).engine.state.counters.get("duplicate", 0) == 3,
        "the old messages seen as duplicates",
    )
    assert summaries(entry) == [f"Disk {n} failed" for n in range(4)]


@pytest.mark.parametrize("after_store", ["delete", "move"])
async def test_move_and_delete_empty_the_folder(
    hass: HomeAssistant,
    dovecot: Dovecot,
    config_entry: MockConfigEntry,
    after_store: str,
) -> None:
    """Stored messages leave the folder (moved to Done, or deleted); one that reaches no alert
    source stays, unread."""
    await hass.async_add_executor_job(dovecot.create_folder, "Done")
    messages = [alert(n) for n in range(3)] + [alert(9, to="someone@example.com")]
    await hass.async_add_executor_job(dovecot.append, messages)
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        config_entry,
        config_entry.subentries[MAILBOX_ID],
        data={
            **config_entry.subentries[MAILBOX_ID].data,
            "after_store": after_store,
            "move_to": "Done",
        },
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    try:
        await wait_for(lambda: len(summaries(config_entry)) == 3, "three incidents")
        await wait_for(lambda: len(dovecot.uids()) == 1, "only the unrouted message left")
        assert dovecot.flags() == {4: set()}
        moved = len(dovecot.uids("Done"))
        assert moved == (3 if after_store == "move" else 0)
        counters = runtime_of(config_entry).engine.state.counters
        assert counters[f"mailbox_taken_{MAILBOX_ID}"] == 3
        assert counters[f"mailbox_left_{MAILBOX_ID}"] == 1
    finally:
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_recipients_from_headers_and_default_source(
    hass: HomeAssistant, dovecot: Dovecot, listener_data: dict[str, Any]
) -> None:
    """A mailbox has no envelope: X-Original-To routes like Delivered-To, and what reaches no
    alert source goes to the default source when one is set."""
    await hass.async_add_executor_job(
        dovecot.append,
        [
            alert(1, to="me@gmail.example", headers={"X-Original-To": "nas@homeassistant.local"}),
            alert(2, to="me@gmail.example"),
        ],
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=listener_data,
        subentries_data=[
            source_subentry(creation_mode="every_email"),
            source_subentry(name="Cloud", addresses=("cloud",), subentry_id="source_cloud"),
            mailbox_subentry(dovecot, default_source="source_cloud"),
        ],
        entry_id="listener_entry",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    try:
        await wait_for(lambda: len(summaries(entry)) == 2, "two incidents")
        incidents = sorted(runtime_of(entry).engine.state.incidents.values(), key=lambda i: i.id)
        assert [incident.source_id for incident in incidents] == ["source_nas", "source_cloud"]
        assert f"mailbox_left_{MAILBOX_ID}" not in runtime_of(entry).engine.state.counters
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
