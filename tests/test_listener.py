"""The SMTP listener over real loopback connections: replies, limits, TLS, AUTH and durability."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import subprocess
from typing import Any

import aiosmtplib
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import (
    CONF_ALLOWED_NETWORKS,
    CONF_COMMAND_TIMEOUT,
    CONF_DATA_TIMEOUT,
    CONF_LMTP,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_CLIENT,
    CONF_MAX_MESSAGE_SIZE,
    CONF_MAX_RECIPIENTS,
    CONF_PORT,
    CONF_RATE_LIMIT,
    CONF_TLS_CERT,
    CONF_TLS_KEY,
    DOMAIN,
)
from custom_components.email_incidents.core.models import IncidentStatus
from custom_components.email_incidents.runtime import EmailIncidentsRuntime
from custom_components.email_incidents.store import read_files, storage_path

from .conftest import FailingDisk, free_port, make_email, source_subentry


def _runtime(entry: MockConfigEntry) -> EmailIncidentsRuntime:
    runtime = entry.runtime_data
    assert isinstance(runtime, EmailIncidentsRuntime)
    return runtime


def _stored_incidents(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    """The incidents as written on disk, read from the files as a start would read them."""
    stored = read_files(storage_path(hass, entry.entry_id))[1]
    assert stored is not None
    return list(stored["incidents"])


async def _dialogue(port: int, *lines: bytes, host: str = "127.0.0.1") -> list[bytes]:
    """Speak raw SMTP: send each line, collect the reply to the greeting and to each line."""
    reader, writer = await asyncio.open_connection(host, port)
    replies = [await _read_reply(reader)]
    for line in lines:
        writer.write(line + b"\r\n")
        await writer.drain()
        replies.append(await _read_reply(reader))
    writer.close()
    return replies


async def _read_reply(reader: asyncio.StreamReader) -> bytes:
    reply = b""
    while True:
        line = await asyncio.wait_for(reader.readline(), 10)
        reply += line
        if len(line) < 4 or line[3:4] != b"-":
            return reply.rstrip(b"\r\n")


@pytest.mark.usefixtures("setup_integration")
async def test_delivery_is_on_disk_before_250(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """The 250 comes only after the incident is in the file."""
    message = make_email(subject="PROBLEM: volume 1 degraded")

    def _send_and_read() -> tuple[tuple[int, bytes], list[dict[str, Any]]]:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30, local_hostname="localhost") as client:
            client.ehlo("test")
            client.mail("monitor@example.com")
            client.rcpt("nas@homeassistant.local")
            reply = client.data(message.as_bytes())
            # Read the file before anything else runs on Home Assistant's loop.
            return reply, _stored_incidents(hass, config_entry)

    reply, on_disk = await hass.async_add_executor_job(_send_and_read)
    assert reply == (250, b"2.0.0 OK: 1 incident(s) opened")
    assert len(on_disk) == 1
    assert "PROBLEM: volume 1 degraded" in json.dumps(on_disk)


@pytest.mark.usefixtures("setup_integration")
async def test_banner_and_ehlo(smtp_port: int) -> None:
    """Our own ident (no library version), SIZE, 8BITMIME and SMTPUTF8 advertised."""
    replies = await _dialogue(smtp_port, b"EHLO client.example", b"QUIT")
    assert replies[0] == b"220 homeassistant.local Email Incidents ESMTP"
    assert replies[1].split(b"\r\n") == [
        b"250-homeassistant.local",
        b"250-SIZE 10485760",
        b"250-8BITMIME",
        b"250-SMTPUTF8",
        b"250 HELP",
    ]


@pytest.mark.usefixtures("setup_integration")
async def test_ehlo_reply_is_sent_at_once(smtp_port: int) -> None:
    """The lines of the EHLO reply arrive together (one send, not one per line)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    writer.write(b"EHLO client.example\r\n")
    first_read = await asyncio.wait_for(reader.read(4096), 10)
    writer.close()
    assert first_read.startswith(b"250-homeassistant.local\r\n")
    assert first_read.endswith(b"250 HELP\r\n")


@pytest.mark.usefixtures("setup_integration")
async def test_unknown_recipient_refused_and_counted(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    replies = await _dialogue(
        smtp_port,
        b"EHLO client",
        b"MAIL FROM:<monitor@example.com>",
        b"RCPT TO:<someone@example.org>",
        b"RCPT TO:<NAS+backup@HomeAssistant.local>",
        b"QUIT",
    )
    assert replies[3] == b"550 5.1.1 <someone@example.org>: no alert source has this address"
    assert replies[4] == b"250 2.1.5 OK"
    counters = _runtime(config_entry).engine.state.counters
    assert counters["refused"] == 1
    assert counters["refused_recipient"] == 1


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_MAX_MESSAGE_SIZE: 4096}])
async def test_size_limit(config_entry: MockConfigEntry, smtp_port: int, send_email: Any) -> None:
    """Declared too big at MAIL, or found too big in DATA: 552 5.3.4 either way."""
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await send_email(make_email(body="x" * 10000))
    assert refused.value.smtp_code == 552
    assert refused.value.smtp_error == b"5.3.4 Message exceeds the maximum size of 4096 bytes"
    replies = await _dialogue(
        smtp_port,
        b"EHLO client",
        b"MAIL FROM:<a@example.com>",
        b"RCPT TO:<nas@homeassistant.local>",
        b"DATA",
        b"Subject: big\r\n\r\n" + b"y" * 5000 + b"\r\n.",
        b"QUIT",
    )
    assert replies[5] == b"552 5.3.4 Message exceeds the maximum size of 4096 bytes"
    assert _runtime(config_entry).engine.incidents() == []
    assert _runtime(config_entry).engine.state.counters["refused_size"] == 2


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_MAX_RECIPIENTS: 2}])
async def test_too_many_recipients(smtp_port: int) -> None:
    replies = await _dialogue(
        smtp_port,
        b"EHLO client",
        b"MAIL FROM:<a@example.com>",
        b"RCPT TO:<nas@homeassistant.local>",
        b"RCPT TO:<nas+a@homeassistant.local>",
        b"RCPT TO:<nas+b@homeassistant.local>",
        b"QUIT",
    )
    assert replies[4] == b"250 2.1.5 OK"
    assert replies[5] == b"452 4.5.3 Too many recipients (at most 2)"


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_ALLOWED_NETWORKS: ["192.0.2.0/24"]}])
async def test_client_outside_allowed_networks(
    config_entry: MockConfigEntry, smtp_port: int
) -> None:
    assert await _dialogue(smtp_port) == [b"554 5.7.1 Client not allowed"]
    assert _runtime(config_entry).engine.state.counters["refused_network"] == 1


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "extra_listener_data", [{CONF_MAX_CONNECTIONS: 5, CONF_MAX_CONNECTIONS_PER_CLIENT: 2}]
)
async def test_connection_caps(config_entry: MockConfigEntry, smtp_port: int) -> None:
    """A third connection from one client is refused; closing one makes room again."""
    first = await asyncio.open_connection("127.0.0.1", smtp_port)
    second = await asyncio.open_connection("127.0.0.1", smtp_port)
    for reader, _writer in (first, second):
        assert (await _read_reply(reader)).startswith(b"220 ")
    assert await _dialogue(smtp_port) == [b"421 4.7.0 Too many connections, try again later"]
    first[1].close()
    await first[1].wait_closed()
    await asyncio.sleep(0.1)
    assert (await _dialogue(smtp_port, b"QUIT"))[1] == b"221 Bye"
    second[1].close()
    assert _runtime(config_entry).engine.state.counters["refused_connections"] == 1


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_RATE_LIMIT: 2}])
async def test_rate_limit_is_temporary(config_entry: MockConfigEntry, send_email: Any) -> None:
    await send_email(make_email(subject="one"))
    await send_email(make_email(subject="two"))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await send_email(make_email(subject="three"))
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        451,
        b"4.7.1 Too many messages from this client, try again later",
    )
    assert len(_runtime(config_entry).engine.incidents()) == 2


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_COMMAND_TIMEOUT: 1, CONF_DATA_TIMEOUT: 2}])
async def test_idle_and_data_timeouts(config_entry: MockConfigEntry, smtp_port: int) -> None:
    """An idle client and a client that dribbles its message are both cut off with 421."""
    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    assert await _read_reply(reader) == b"421 4.4.2 Timeout, closing connection"
    assert await reader.read() == b""
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    for line in (b"EHLO c", b"MAIL FROM:<a@example.com>", b"RCPT TO:<nas@homeassistant.local>"):
        writer.write(line + b"\r\n")
        await _read_reply(reader)
    writer.write(b"DATA\r\n")
    assert (await _read_reply(reader)).startswith(b"354")
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = b""
    while not reply:  # one byte every 0.2 s: the command timer alone would never fire
        writer.write(b"x")
        await writer.drain()
        try:
            reply = await asyncio.wait_for(reader.readline(), 0.2)
        except TimeoutError:
            continue
    assert reply == b"421 4.4.2 Timeout, closing connection\r\n"
    assert 1.5 < loop.time() - started < 5
    writer.close()
    assert _runtime(config_entry).engine.state.counters["refused_timeout"] == 2


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_COMMAND_TIMEOUT: 1, CONF_DATA_TIMEOUT: 30}])
async def test_the_idle_timeout_applies_again_once_a_message_is_answered(
    config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """A client that keeps its connection after its 250 holds a slot for the idle timeout
    (1 s here), not for the DATA phase's (30 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    for line in (b"EHLO c", b"MAIL FROM:<a@example.com>", b"RCPT TO:<nas@homeassistant.local>"):
        writer.write(line + b"\r\n")
        await _read_reply(reader)
    writer.write(b"DATA\r\n")
    assert (await _read_reply(reader)).startswith(b"354")
    writer.write(b"Subject: answered\r\n\r\nbody\r\n.\r\n")
    assert (await _read_reply(reader)).startswith(b"250 ")
    loop = asyncio.get_running_loop()
    answered = loop.time()
    assert await _read_reply(reader) == b"421 4.4.2 Timeout, closing connection"
    assert 0.5 < loop.time() - answered < 5
    assert await reader.read() == b""
    writer.close()
    assert [i.summary for i in _runtime(config_entry).engine.incidents()] == ["answered"]


@pytest.mark.usefixtures("setup_integration")
async def test_smuggling_sequences_do_not_end_data(
    config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """`\\n.\\n` and `\\r.\\n` inside DATA are content; only CRLF.CRLF ends the message."""
    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    for line in (b"EHLO c", b"MAIL FROM:<a@example.com>", b"RCPT TO:<nas@homeassistant.local>"):
        writer.write(line + b"\r\n")
        await _read_reply(reader)
    writer.write(b"DATA\r\n")
    await _read_reply(reader)
    writer.write(
        b"Subject: smuggle\r\n\r\nbody\n.\nMAIL FROM:<evil@example.com>\r.\n"
        b"RCPT TO:<nas@homeassistant.local>\r\n.\r\n"
    )
    assert await _read_reply(reader) == b"250 2.0.0 OK: 1 incident(s) opened"
    writer.write(b"QUIT\r\n")
    assert await _read_reply(reader) == b"221 Bye"
    writer.close()
    incidents = _runtime(config_entry).engine.incidents()
    assert [incident.summary for incident in incidents] == ["smuggle"]


@pytest.mark.usefixtures("setup_integration")
async def test_long_lines_accepted_up_to_64k(
    config_entry: MockConfigEntry, smtp_port: int, send_email: Any
) -> None:
    """Real senders write HTML lines far beyond 1000 bytes; beyond 64 KiB: 500 5.5.2."""
    line = "<td>" + "a" * 20000 + "</td>"
    message = make_email(subject="long html")
    message.set_content(line, subtype="html", cte="8bit")
    await send_email(message)
    replies = await _dialogue(
        smtp_port,
        b"EHLO c",
        b"MAIL FROM:<a@example.com>",
        b"RCPT TO:<nas@homeassistant.local>",
        b"DATA",
        b"Subject: too long\r\n\r\n" + b"z" * (70 * 1024) + b"\r\n.",
    )
    assert replies[5] == b"500 5.5.2 Line too long (the limit is 65536 bytes)"
    assert [incident.summary for incident in _runtime(config_entry).engine.incidents()] == [
        "long html"
    ]


@pytest.mark.usefixtures("setup_integration")
async def test_message_id_retry_is_not_a_second_incident(
    config_entry: MockConfigEntry, send_email: Any
) -> None:
    """A client that lost our 250 sends again: the same Message-ID counts once."""
    message = make_email(subject="UPS on battery", message_id="<retry-1@ups.example>")
    await send_email(message)
    await send_email(message)
    runtime = _runtime(config_entry)
    [incident] = runtime.engine.incidents()
    assert incident.email_count == 1
    assert runtime.engine.state.counters["duplicate"] == 1


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "subentries",
    [
        [
            source_subentry("NAS", ("nas",), "source_nas"),
            source_subentry("UPS", ("ups",), "source_ups"),
        ]
    ],
)
async def test_a_message_id_seen_by_one_source_is_new_for_another(
    config_entry: MockConfigEntry, send_email: Any
) -> None:
    """A relay delivers one recipient per session: the same e-mail reaches `nas@` and then
    `ups@`. Each source handles it once; a retry to `ups@` is its duplicate only."""
    message = make_email(
        subject="Power cut",
        to="oncall@example.com",  # a list: the relay delivers to each member's address
        message_id="<one-per-session@relay.example>",
    )
    await send_email(message, recipients=("nas@homeassistant.local",))
    await send_email(message, recipients=("ups@homeassistant.local",))
    await send_email(message, recipients=("ups@homeassistant.local",))
    runtime = _runtime(config_entry)
    assert sorted((i.source_id, i.email_count) for i in runtime.engine.incidents()) == [
        ("source_nas", 1),
        ("source_ups", 1),
    ]
    assert [
        [(outcome.source_id, outcome.outcome.value) for outcome in recent.outcomes]
        for recent in runtime.recent
    ] == [
        [("source_nas", "created")],
        [("source_ups", "created")],
        [("source_ups", "duplicate")],
    ]
    assert runtime.engine.state.counters["duplicate"] == 1


@pytest.mark.usefixtures("setup_integration")
async def test_write_failure_answers_451_and_leaves_no_trace(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: Any,
    failing_disk: FailingDisk,
) -> None:
    """The disk is full: 451, nothing in memory or on disk; once there is room, 250."""
    await send_email(make_email(subject="first"))
    failing_disk.failing = True
    with pytest.raises(smtplib.SMTPDataError) as failed:
        await send_email(make_email(subject="second", message_id="<second@example.com>"))
    assert (failed.value.smtp_code, failed.value.smtp_error) == (
        451,
        b"4.3.0 Could not store the e-mail, try again later",
    )
    runtime = _runtime(config_entry)
    assert [incident.summary for incident in runtime.engine.incidents()] == ["first"]
    failing_disk.failing = False
    await send_email(make_email(subject="second", message_id="<second@example.com>"))
    assert sorted(incident.summary for incident in runtime.engine.incidents()) == [
        "first",
        "second",
    ]
    assert len(_stored_incidents(hass, config_entry)) == 2


async def test_incidents_survive_a_reload(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any
) -> None:
    await send_email(make_email(subject="Backup failed"))
    await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    [incident] = _runtime(setup_integration).engine.incidents()
    assert incident.summary == "Backup failed"
    assert incident.status is IncidentStatus.PENDING


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "subentries",
    [[source_subentry(), source_subentry("UPS", ("ups",), "source_ups")]],
)
async def test_one_email_to_two_sources_and_forwarded_mail(
    config_entry: MockConfigEntry, send_email: Any
) -> None:
    """Envelope and Delivered-To both route; each source gets its own incident."""
    await send_email(
        make_email(subject="Power event", headers={"Delivered-To": "ups@homeassistant.local"}),
        recipients=("nas@homeassistant.local",),
    )
    by_source = {
        incident.source_id: incident.summary
        for incident in _runtime(config_entry).engine.incidents()
    }
    assert by_source == {"source_nas": "Power event", "source_ups": "Power event"}


@pytest.mark.usefixtures("setup_integration")
async def test_aiosmtplib_client(config_entry: MockConfigEntry, smtp_port: int) -> None:
    errors, reply = await aiosmtplib.send(
        make_email(subject="from aiosmtplib"),
        hostname="127.0.0.1",
        port=smtp_port,
        start_tls=False,
        local_hostname="localhost",
    )
    assert errors == {}
    assert reply == "2.0.0 OK: 1 incident(s) opened"


def _swaks(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "swaks", "--server", f"127.0.0.1:{port}",
            "--to", "NAS@homeassistant.local", "--from", "cron@example.com",
            "--header", "Subject: cron: backup failed", "--body", "exit status 1",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.usefixtures("setup_integration")
async def test_swaks_client(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """A foreign client: Debian's swaks, as users test their set-up."""
    result = await hass.async_add_executor_job(_swaks, smtp_port)
    assert result.returncode == 0, result.stdout
    assert "<-  250 2.0.0 OK: 1 incident(s) opened" in result.stdout
    [incident] = _runtime(config_entry).engine.incidents()
    assert incident.summary == "cron: backup failed"
    assert "exit status 1" in incident.details


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "extra_listener_data",
    [{CONF_MAX_CONNECTIONS: 50, CONF_MAX_CONNECTIONS_PER_CLIENT: 25, CONF_RATE_LIMIT: 10000}],
)
@pytest.mark.parametrize("subentries", [[source_subentry(creation_mode="every_email")]])
async def test_concurrent_clients_lose_nothing(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """20 clients x 50 e-mails at once: each 250 is an incident on disk, nothing more."""

    async def client(number: int) -> int:
        smtp = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=smtp_port, start_tls=False, local_hostname="localhost"
        )
        await smtp.connect()
        for sequence in range(50):
            await smtp.send_message(
                make_email(subject=f"client {number} mail {sequence}"),
                sender="load@example.com",
                recipients=["nas@homeassistant.local"],
            )
        await smtp.quit()
        return 50

    sent = sum(await asyncio.gather(*(client(number) for number in range(20))))
    runtime = _runtime(config_entry)
    assert sent == 1000
    assert len(runtime.engine.incidents()) == 1000
    assert len(_stored_incidents(hass, config_entry)) == 1000
    assert runtime.store.writes < 1000  # e-mails that arrived together shared writes


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("extra_listener_data", [{CONF_LMTP: True}])
@pytest.mark.parametrize(
    "subentries", [[source_subentry(), source_subentry("UPS", ("ups",), "source_ups")]]
)
async def test_lmtp_replies_per_recipient(smtp_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    for line in (
        b"LHLO postfix",
        b"MAIL FROM:<a@example.com>",
        b"RCPT TO:<nas@homeassistant.local>",
        b"RCPT TO:<ups@homeassistant.local>",
        b"DATA",
    ):
        writer.write(line + b"\r\n")
        await _read_reply(reader)
    writer.write(b"Subject: via postfix\r\n\r\nbody\r\n.\r\n")
    assert await reader.readline() == b"250 2.0.0 OK: 2 incident(s) opened\r\n"
    assert await reader.readline() == b"250 2.0.0 OK: 2 incident(s) opened\r\n"
    writer.close()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_new_port_after_settings_change_and_unload_closes(
    hass: HomeAssistant, setup_integration: MockConfigEntry, smtp_port: int, send_email: Any
) -> None:
    await send_email(make_email(subject="before the move"))
    new_port = free_port()
    hass.config_entries.async_update_entry(
        setup_integration, data={**setup_integration.data, CONF_PORT: new_port}
    )
    await hass.async_block_till_done()
    assert setup_integration.state is ConfigEntryState.LOADED
    assert not _port_open(smtp_port)
    await send_email(make_email(subject="after the move"), port=new_port)
    assert sorted(i.summary for i in _runtime(setup_integration).engine.incidents()) == [
        "after the move",
        "before the move",
    ]
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    assert not _port_open(new_port)


async def test_port_in_use_raises_repair_issue(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """Setup retries with a repair issue that names the port; it goes once the port is free."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", smtp_port))
    blocker.listen()
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "port_in_use")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["port"] == str(smtp_port)
    blocker.close()
    await hass.config_entries.async_reload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, "port_in_use") is None
    await hass.config_entries.async_unload(config_entry.entry_id)


@pytest.mark.parametrize(
    "extra_listener_data",
    [{CONF_TLS_CERT: "/nonexistent/cert.pem", CONF_TLS_KEY: "/nonexistent/key.pem"}],
)
async def test_unreadable_certificate_raises_repair_issue(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert ir.async_get(hass).async_get_issue(DOMAIN, "certificate_unreadable") is not None


async def test_idle_clients_get_421_when_home_assistant_stops(
    hass: HomeAssistant, setup_integration: MockConfigEntry, smtp_port: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
    await _read_reply(reader)
    writer.write(b"EHLO c\r\n")
    await _read_reply(reader)
    await hass.config_entries.async_unload(setup_integration.entry_id)
    assert await _read_reply(reader) == b"421 4.3.2 Service shutting down, try again later"
    writer.close()


UNKNOWN = b"550 5.1.1 <%s>: no alert source has this address"
ADDRESS_REPLIES = {
    b"MAIL FROM:<a@example.com>": b"250 2.1.0 OK | " + UNKNOWN % b"a@example.com",
    b"MAIL FROM:a@example.com": b"250 2.1.0 OK | " + UNKNOWN % b"a@example.com",
    b"MAIL FROM:<>": b"250 2.1.0 OK | " + UNKNOWN % b"<>",
    b"MAIL FROM:<a@example.com": b"250 2.1.0 OK | " + UNKNOWN % b"a@example.com",
    b"MAIL FROM:<@bad>": b"553 5.1.3 Error: malformed address | 503 Error: need MAIL command",
    b"MAIL FROM:<a@example.com> SIZE=100": (
        b"250 2.1.0 OK | 555 RCPT TO parameters not recognized or not implemented"
    ),
    b"MAIL FROM: <a@example.com>": b"250 2.1.0 OK | " + UNKNOWN % b"a@example.com",
    b'MAIL FROM:<"quoted name"@example.com>': (
        b"250 2.1.0 OK | " + UNKNOWN % b'"quoted name"@example.com'
    ),
    b"MAIL FROM:<a@[127.0.0.1]>": b"250 2.1.0 OK | " + UNKNOWN % b"a@[127.0.0.1]",
    b"MAIL FROM:<a b@example.com>": b"250 2.1.0 OK | " + UNKNOWN % b'"a b"@example.com',
    b"MAIL FROM:<" + b"l" * 100 + b"@example.com>": (
        b"250 2.1.0 OK | " + UNKNOWN % (b"l" * 100 + b"@example.com")
    ),
}


@pytest.mark.usefixtures("setup_integration")
async def test_address_parsing_replies(smtp_port: int) -> None:
    """MAIL FROM and RCPT TO addresses in the forms clients send get aiosmtpd's replies (the
    listener parses them itself, see `_Session._getaddr`)."""
    got = {}
    for command in ADDRESS_REPLIES:
        replies = await _dialogue(smtp_port, b"EHLO c", command, b"RCPT TO:" + command[10:])
        got[command] = replies[2] + b" | " + replies[3]
    assert got == ADDRESS_REPLIES
