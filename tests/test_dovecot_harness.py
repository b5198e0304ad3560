"""The real Dovecot the mailbox tests use (tests/servers/dovecot.py): TLS both ways, fast bulk
appends, flags, a new UIDVALIDITY, a restart, a changed password."""

from __future__ import annotations

import email
from email.message import EmailMessage
import imaplib
from pathlib import Path
import ssl
import time

from homeassistant.core import HomeAssistant
import pytest

from tests.servers import dovecot as servers_dovecot
from tests.servers.dovecot import Dovecot, dovecot_fixture  # noqa: F401

pytestmark = pytest.mark.enable_socket


def _message(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "nas@example.test"
    message["To"] = "alerts@example.test"
    message["Subject"] = f"Disk {number} failed"
    message["Message-ID"] = f"<disk-{number}@example.test>"
    message.set_content(f"Disk {number} of the array failed.\n")
    return message.as_bytes()


def _subjects(server: Dovecot, folder: str = "INBOX") -> dict[int, str]:
    """Each message's subject by UID."""
    with server.imap() as client:
        assert client.select(f'"{folder}"', readonly=True)[0] == "OK"
        status, data = client.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK"
    subjects = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(item[0].split(b"UID ")[1].split()[0])
            subjects[uid] = str(email.message_from_bytes(item[1])["Subject"])
    return subjects


def _ended(client: imaplib.IMAP4) -> bool:
    """Whether the server has ended the session (it says BYE or closes the connection)."""
    try:
        client.noop()
        client.noop()
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
        return True
    return False


def _uidvalidity_selected(client: imaplib.IMAP4) -> int:
    """The UIDVALIDITY the last SELECT answered."""
    [value] = client.untagged_responses["UIDVALIDITY"]
    assert isinstance(value, bytes)
    return int(value)


def test_imaps_with_the_certificate_trusted(dovecot: Dovecot) -> None:
    with imaplib.IMAP4_SSL(
        "127.0.0.1", dovecot.imaps_port, ssl_context=dovecot.ssl_context(), timeout=10
    ) as client:
        client.login(dovecot.user, dovecot.password)
        assert client.select("INBOX")[0] == "OK"
        assert "IDLE" in client.capabilities
    # Without the certificate trusted the handshake fails.
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            "127.0.0.1", dovecot.imaps_port, ssl_context=ssl.create_default_context(), timeout=10
        )


def test_starttls_on_the_plain_port(dovecot: Dovecot) -> None:
    with imaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10) as client:
        assert "STARTTLS" in client.capabilities
        client.starttls(dovecot.ssl_context())
        client.login(dovecot.user, dovecot.password)
        assert client.select("INBOX")[0] == "OK"


def test_plain_login_without_tls(dovecot: Dovecot) -> None:
    with imaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10) as client:
        assert "LOGINDISABLED" not in client.capabilities
        client.login(dovecot.user, dovecot.password)


def test_configuration_without_complaints(dovecot: Dovecot) -> None:
    """Dovecot (2.3 or 2.4) takes the configuration without a warning or an error."""
    with dovecot.imap():
        pass
    complaints = [
        line
        for line in dovecot.log_text().splitlines()
        if any(word in line for word in ("Warning", "Error", "Fatal", "Obsolete"))
    ]
    assert not complaints


def test_a_thousand_messages_appended_quickly(dovecot: Dovecot) -> None:
    messages = [_message(number) for number in range(1000)]
    began = time.monotonic()
    dovecot.append(messages)
    took = time.monotonic() - began
    uids = dovecot.uids()
    assert len(uids) == 1000
    assert uids == sorted(set(uids))
    assert took < 5, f"1,000 APPENDs took {took:.1f} s"
    subjects = _subjects(dovecot)
    assert subjects[uids[0]] == "Disk 0 failed"
    assert subjects[uids[-1]] == "Disk 999 failed"


def test_flags(dovecot: Dovecot) -> None:
    dovecot.append([_message(1)])
    dovecot.append([_message(2)], flags={"\\Seen"})
    first, second = dovecot.uids()
    assert dovecot.flags() == {first: set(), second: {"\\Seen"}}
    with dovecot.imap() as client:
        client.select("INBOX")
        client.uid("STORE", str(first), "+FLAGS", "(\\Seen \\Flagged)")
    assert dovecot.flags() == {first: {"\\Seen", "\\Flagged"}, second: {"\\Seen"}}
    assert dovecot.flags("INBOX") == dovecot.flags()


def test_folders(dovecot: Dovecot) -> None:
    dovecot.create_folder("Alerts")
    dovecot.create_folder("Alerts/NAS & Router")
    dovecot.create_folder("Überwachung")
    dovecot.append([_message(1), _message(2)], "Alerts/NAS & Router")
    dovecot.append([_message(3)], "Überwachung")
    assert len(dovecot.uids("Alerts/NAS & Router")) == 2
    assert len(dovecot.uids("Überwachung")) == 1
    assert dovecot.uids("Alerts") == []
    assert dovecot.uids() == []
    with dovecot.imap() as client:
        _status, listed = client.list()
    names = b"\n".join(line for line in listed if isinstance(line, bytes))
    assert b'"/" "Alerts/NAS &- Router"' in names
    assert b'"/" &ANw-berwachung' in names  # modified UTF-7
    with pytest.raises(imaplib.IMAP4.error):
        dovecot.append([_message(4)], "Missing")


def test_a_new_uidvalidity_keeps_the_messages(dovecot: Dovecot) -> None:
    dovecot.append([_message(number) for number in range(3)])
    dovecot.create_folder("Alerts")
    dovecot.append([_message(9)], "Alerts")
    subjects = _subjects(dovecot)
    before, before_alerts = dovecot.uidvalidity(), dovecot.uidvalidity("Alerts")
    dovecot.reset_uidvalidity()
    assert dovecot.uidvalidity() != before
    assert sorted(_subjects(dovecot).values()) == sorted(subjects.values())
    assert dovecot.uidvalidity("Alerts") == before_alerts
    dovecot.reset_uidvalidity("Alerts")
    assert dovecot.uidvalidity("Alerts") != before_alerts
    assert list(_subjects(dovecot, "Alerts").values()) == ["Disk 9 failed"]


def test_a_session_sees_the_new_uidvalidity(dovecot: Dovecot) -> None:
    """A client with the folder selected is sent away; it sees the new value when it comes
    back."""
    dovecot.append([_message(1)])
    with dovecot.imap() as client:
        client.select("INBOX")
        before = _uidvalidity_selected(client)
        dovecot.reset_uidvalidity()
        assert _ended(client)
    with dovecot.imap() as client:
        client.select("INBOX")
        assert _uidvalidity_selected(client) == before + 1


def test_idle_hears_of_appended_mail_at_once(dovecot: Dovecot) -> None:
    with dovecot.imap() as client:
        client.select("INBOX")
        client.send(b"I1 IDLE\r\n")
        assert client.readline().startswith(b"+ ")
        dovecot.append([_message(1)])
        began = time.monotonic()
        assert client.readline() == b"* 1 EXISTS\r\n"
        assert time.monotonic() - began < 1
        client.send(b"DONE\r\n")
        while not (line := client.readline()).startswith(b"I1 "):
            assert line.startswith(b"* ")  # * 1 RECENT
        assert line.startswith(b"I1 OK")


def test_restart_keeps_the_mail_and_the_ports(dovecot: Dovecot) -> None:
    dovecot.create_folder("Alerts")
    dovecot.append([_message(1), _message(2)])
    dovecot.append([_message(3)], "Alerts", flags={"\\Seen"})
    uids, flags, uidvalidity = dovecot.uids(), dovecot.flags("Alerts"), dovecot.uidvalidity()
    ports = dovecot.imap_port, dovecot.imaps_port
    with dovecot.imap() as client:
        client.select("INBOX")
        dovecot.restart()
        assert _ended(client)  # with the old server
    assert (dovecot.imap_port, dovecot.imaps_port) == ports
    assert dovecot.uids() == uids
    assert dovecot.flags("Alerts") == flags
    assert dovecot.uidvalidity() == uidvalidity
    with imaplib.IMAP4_SSL(
        "127.0.0.1", dovecot.imaps_port, ssl_context=dovecot.ssl_context(), timeout=10
    ) as client:
        client.login(dovecot.user, dovecot.password)


def test_stopped_server_refuses(dovecot: Dovecot) -> None:
    dovecot.stop()
    with pytest.raises(ConnectionRefusedError):
        imaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10)
    dovecot.start()
    assert dovecot.uids() == []


def test_wrong_password(dovecot: Dovecot) -> None:
    with (
        imaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10) as client,
        pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"),
    ):
        client.login(dovecot.user, "not the password")
    old = dovecot.password
    dovecot.set_password("a new one")
    with (
        imaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10) as client,
        pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"),
    ):
        client.login(dovecot.user, old)
    # No penalty for the failures: the right password logs in at once.
    began = time.monotonic()
    with dovecot.imap():
        pass
    assert time.monotonic() - began < 1
    assert "Password mismatch" in dovecot.log_text()


async def test_usable_beside_home_assistant(hass: HomeAssistant, dovecot: Dovecot) -> None:
    """What the mailbox tests do: a test with Home Assistant calls the helpers from its body
    (blocking, on the event loop) and leaves nothing behind."""
    dovecot.append([_message(1)])
    dovecot.create_folder("Alerts")
    assert len(dovecot.uids()) == 1
    assert dovecot.flags() == {dovecot.uids()[0]: set()}
    dovecot.reset_uidvalidity()
    dovecot.restart()
    assert dovecot.log_text()


def test_without_dovecot_the_test_fails_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(servers_dovecot, "_SEARCH_PATH", str(tmp_path))
    with (
        pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-imapd"),
        servers_dovecot.running_dovecot(),
    ):
        pass
