"""Mailboxes against IMAP servers that misbehave, played by a small server of the test's own:
wrong literal sizes, unreadable FETCH answers and answers without end each end in a logged
error and a reconnect, never in a hang, a crash or an incident made of garbage; and a server
without IDLE is polled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import logging
import re
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents import imap, mailbox
from custom_components.email_incidents.const import DOMAIN, SUBENTRY_MAILBOX
from tests.conftest import source_subentry
from tests.test_mailbox import MAILBOX_ID, alert, runtime_of, summaries, wait_for

COMMAND = re.compile(rb"^(\S+) (?:UID )?(\S+)(.*)$")


class FakeImapServer:
    """Just enough IMAP for one folder of messages; `behaviour` says how it answers the FETCH
    of a message's body: "normal", "garbage", "short_literal", "long_literal", "endless" or
    "many_lines"."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.behaviour = "normal"
        self.connections = 0
        self.seen: set[int] = set()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """On a free port, or again on the one it had."""
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.close_clients()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while line := await reader.readline():
                match = COMMAND.match(line.rstrip(b"\r\n"))
                if match is None:
                    continue
                tag, name, rest = match.group(1), match.group(2).upper(), match.group(3)
                writer.write(self._answer(name, rest) + tag + b" OK done\r\n")
                await writer.drain()
                if name == b"LOGOUT":
                    break
        writer.close()

    def _answer(self, name: bytes, rest: bytes) -> bytes:
        uids = range(1, len(self.messages) + 1)
        if name == b"CAPABILITY":
            return b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n"
        if name == b"SELECT":
            return f"* {len(self.messages)} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n".encode()
        if name == b"SEARCH":
            new = " ".join(str(uid) for uid in uids if uid not in self.seen)
            return f"* SEARCH {new}\r\n".encode()
        if name == b"STORE":
            self.seen.update(int(uid) for uid in re.findall(rb"\d+", rest.split()[0]))
            return b""
        if name == b"FETCH" and b"RFC822.SIZE" in rest:
            return b"".join(
                f"* {uid} FETCH (UID {uid} RFC822.SIZE {len(self.messages[uid - 1])})\r\n".encode()
                for uid in uids
                if str(uid).encode() in rest
            )
        if name == b"FETCH":
            uid = int(rest.split()[0].split(b":")[0])
            return self._body(uid, self.messages[uid - 1])
        return b""

    def _body(self, uid: int, body: bytes) -> bytes:
        head = f"* {uid} FETCH (UID {uid} BODY[] ".encode()
        match self.behaviour:
            case "garbage":
                return head + b"NIL)\r\n* 99 FETCH (NONSENSE \x00\x01)\r\n"
            case "short_literal":
                return head + f"{{{len(body) - 10}}}\r\n".encode() + body + b")\r\n"
            case "long_literal":
                return head + f"{{{len(body) + 10}}}\r\n".encode() + body + b")\r\n"
            case "endless":
                return head + b"{999999999}\r\n" + b"x" * 3_000_000
            case "many_lines":
                return b"* OK still thinking\r\n" * 200_000
        return head + f"{{{len(body)}}}\r\n".encode() + body + b")\r\n"


@pytest.fixture
async def fake_server(socket_enabled: None) -> AsyncIterator[FakeImapServer]:
    server = FakeImapServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def subentries(fake_server: FakeImapServer) -> list[ConfigSubentryData]:
    return [
        source_subentry(creation_mode="every_email"),
        ConfigSubentryData(
            data={
                "name": "Alerts",
                "host": "127.0.0.1",
                "port": fake_server.port,
                "security": "none",
                "username": "alerts",
                "password": "secret",
                "poll_seconds": 1,
            },
            subentry_id=MAILBOX_ID,
            subentry_type=SUBENTRY_MAILBOX,
            title="Alerts",
            unique_id=None,
        ),
    ]


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hanging answer is given up after a second here (30 in use), a retry comes at once."""
    monkeypatch.setattr(imap, "COMMAND_TIMEOUT", 1.0)
    monkeypatch.setattr(mailbox, "FIRST_RETRY_SECONDS", 0.1)
    monkeypatch.setattr(mailbox, "MAX_RETRY_SECONDS", 0.2)


async def test_a_server_unreachable_for_long_raises_a_repair(
    hass: HomeAssistant,
    fake_server: FakeImapServer,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Disconnected at once; a repair once it lasts (15 minutes in use, none here); gone when
    the mailbox is read again."""
    monkeypatch.setattr(mailbox, "UNREACHABLE_ISSUE_SECONDS", 0)
    await fake_server.stop()
    fake_server.messages.append(alert(1))
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    registry = ir.async_get(hass)
    issue_id = f"mailbox_{MAILBOX_ID}"
    try:
        await wait_for(lambda: registry.async_get_issue(DOMAIN, issue_id) is not None, "repair")
        issue = registry.async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert (issue.translation_key, issue.is_fixable) == ("mailbox_unreachable", False)
        state = hass.states.get("binary_sensor.alerts_connected")
        assert (state.state, state.attributes["error"]) == ("off", "cannot_connect")
        await fake_server.start()
        await wait_for(lambda: summaries(config_entry) == ["Disk 1 failed"], "the message")
        await wait_for(lambda: registry.async_get_issue(DOMAIN, issue_id) is None, "no repair")
    finally:
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_server_without_idle_is_polled(
    hass: HomeAssistant, fake_server: FakeImapServer, setup_integration: MockConfigEntry
) -> None:
    entry = setup_integration
    await wait_for(lambda: runtime_of(entry).mailboxes[MAILBOX_ID].status.connected, "connected")
    fake_server.messages.append(alert(1))
    await wait_for(lambda: summaries(entry) == ["Disk 1 failed"], "the polled message")
    await wait_for(lambda: fake_server.seen == {1}, "marked read")
    assert fake_server.connections == 1


@pytest.mark.parametrize(
    ("behaviour", "logged"),
    [
        ("garbage", "a FETCH answer without UID or whole body"),
        ("short_literal", "differ from their sizes"),
        ("long_literal", "timeout"),
        ("endless", "sent more than"),
        ("many_lines", "could not be read"),
    ],
)
async def test_hostile_answers_end_in_a_reconnect(
    hass: HomeAssistant,
    fake_server: FakeImapServer,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    behaviour: str,
    logged: str,
) -> None:
    """Each bad answer is logged and the connection made again; no incident is made of it,
    and once the server answers properly the message arrives, once."""
    fake_server.behaviour = behaviour
    fake_server.messages.append(alert(1))
    config_entry.add_to_hass(hass)
    caplog.set_level(logging.DEBUG, logger="custom_components.email_incidents")
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    try:
        await wait_for(lambda: fake_server.connections >= 3, "reconnects")
        assert summaries(config_entry) == []
        assert logged in caplog.text
        fake_server.behaviour = "normal"
        await wait_for(lambda: summaries(config_entry) == ["Disk 1 failed"], "the message")
    finally:
        await hass.config_entries.async_unload(config_entry.entry_id)


async def test_message_over_the_size_limit_stays_in_the_folder(
    hass: HomeAssistant,
    fake_server: FakeImapServer,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The listener's maximum message size applies: a larger message is not fetched, stays
    unread, is counted and logged; the next message is taken."""
    fake_server.messages += [alert(1, body="x" * 5000), alert(2)]
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, "max_message_size": 2000}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    try:
        await wait_for(lambda: summaries(config_entry) == ["Disk 2 failed"], "the small one")
        await wait_for(lambda: fake_server.seen == {2}, "only the small one read")
        counters: dict[str, Any] = runtime_of(config_entry).engine.state.counters
        await wait_for(
            lambda: counters.get(f"mailbox_too_large_{MAILBOX_ID}") == 1, "counted too large"
        )
        assert "over the maximum message size" in caplog.text
    finally:
        await hass.config_entries.async_unload(config_entry.entry_id)
