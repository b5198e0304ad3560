"""Fixtures for the Home Assistant side: a real listener on a free loopback port, real storage."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from email.message import EmailMessage
from email.utils import make_msgid
import errno
import logging
import os
import smtplib
import socket
from typing import Any

from homeassistant.components import http
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import (
    CONF_HOST,
    CONF_PORT,
    DOMAIN,
    SUBENTRY_POLICY,
    SUBENTRY_ROTATION,
    SUBENTRY_SOURCE,
)
from tests.servers.dovecot import certificate_files


@pytest.fixture(autouse=True)
def home_assistant_test(request: pytest.FixtureRequest) -> None:
    """For tests with a Home Assistant: load our integration from custom_components/, allow
    real SMTP over loopback (other hosts stay refused) and keep the store's real files in the
    test's own folder. Tests of the pure core get none of it and stay fast."""
    if "hass" not in request.fixturenames:
        return
    request.getfixturevalue("enable_custom_integrations")
    request.getfixturevalue("socket_enabled")
    # The integration depends on http (the panel, the websocket API): its real server would
    # listen on port 8123 of every interface. Tests reach the app through the test client.
    # Newer releases bind the sockets at setup already (async_bind), older ones in start.
    monkeypatch = request.getfixturevalue("monkeypatch")
    for method in ("async_bind", "start"):
        if hasattr(http.HomeAssistantHTTP, method):
            monkeypatch.setattr(http.HomeAssistantHTTP, method, _no_http_server)
    hass: HomeAssistant = request.getfixturevalue("hass")
    hass.config.config_dir = str(request.getfixturevalue("tmp_path"))


async def _no_http_server(*_args: Any) -> None:
    """In place of the HTTP server's start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_device(registry: dr.DeviceRegistry, entry_id: str, identifier: str) -> dr.DeviceEntry:
    """The entry's device with our identifier (the listener's is the entry id, a source's its
    subentry id). Found among the entry's devices: newer Home Assistants deprecate the lookup by
    identifier alone."""
    [device] = [
        device
        for device in dr.async_entries_for_config_entry(registry, entry_id)
        if (DOMAIN, identifier) in device.identifiers
    ]
    return device


class RecordingHandler(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# How Home Assistant starts its report of a custom integration using something deprecated or
# wrong ("... Please create a bug report"): users must never see one from us.
REPORTED_USE = "Detected that custom integration"


@pytest.fixture(autouse=True)
def no_reported_use() -> Generator[list[logging.LogRecord]]:
    """Fails the test when Home Assistant reports our integration's use of something
    deprecated. Yields the warnings logged meanwhile (its own handler, not caplog: see
    `integration_log`)."""
    handler = RecordingHandler()
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)
    if reports := [r.getMessage() for r in handler.records if REPORTED_USE in r.getMessage()]:
        pytest.fail("Home Assistant reported:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture
def integration_log() -> Generator[list[logging.LogRecord]]:
    """Everything the integration logs during the test, debug included. Not pytest's caplog:
    newer test plugins build `hass` on caplog, and a test asking for both fails to set up."""
    handler = RecordingHandler()
    logger = logging.getLogger("custom_components.email_incidents")
    level_before = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level_before)


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def source_subentry(
    name: str = "NAS",
    addresses: tuple[str, ...] = ("nas",),
    subentry_id: str = "source_nas",
    **data: Any,
) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={"name": name, "addresses": list(addresses), **data},
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_SOURCE,
        title=name,
        unique_id=None,
    )


# The NAS (a new incident for every e-mail) and a router: for what works across sources.
TWO_SOURCES = [
    source_subentry(creation_mode="every_email"),
    source_subentry(name="Router", addresses=("router",), subentry_id="source_router"),
]


def policy_subentry(
    name: str = "On call",
    levels: tuple[Mapping[str, Any], ...] = ({"delay_minutes": 0, "targets": []},),
    subentry_id: str = "policy_oncall",
    repeat: int = 0,
    **data: Any,
) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "name": name,
            "levels": [dict(level) for level in levels],
            "repeat": repeat,
            **data,
        },
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_POLICY,
        title=name,
        unique_id=None,
    )


def rotation_subentry(
    name: str = "Ops",
    subentry_id: str = "rotation_ops",
    first_handover: str = "2027-03-27 09:00:00",
    **data: Any,
) -> ConfigSubentryData:
    """Anna and Ben taking turns daily (their phones: notify.mobile_app_<name>_s_phone)."""
    return ConfigSubentryData(
        data={
            "name": name,
            "members": [
                {"person": "person.anna", "targets": ["notify.mobile_app_anna_s_phone"]},
                {"person": "person.ben", "targets": ["notify.mobile_app_ben_s_phone"]},
            ],
            "shift_length": 1,
            "shift_unit": "days",
            "first_handover": first_handover,
            **data,
        },
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_ROTATION,
        title=name,
        unique_id=None,
    )


def add_people(hass: HomeAssistant) -> None:
    """Anna and Ben, each a person with a user and a phone of the companion app."""
    for person, name in (("anna", "Anna"), ("ben", "Ben")):
        user_id = f"user_{person}"
        hass.states.async_set(
            f"person.{person}", "home", {"friendly_name": name, "user_id": user_id}
        )
        MockConfigEntry(
            domain="mobile_app", data={"user_id": user_id, "device_name": f"{name}'s Phone"}
        ).add_to_hass(hass)


@pytest.fixture
def extra_listener_data() -> dict[str, Any]:
    """Listener settings a test changes: `@pytest.mark.parametrize("extra_listener_data", ...)`."""
    return {}


@pytest.fixture
def listener_data(smtp_port: int, extra_listener_data: dict[str, Any]) -> dict[str, Any]:
    """Entry data: defaults, loopback on a free port, and the test's own settings."""
    return {CONF_HOST: "127.0.0.1", CONF_PORT: smtp_port, **extra_listener_data}


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [source_subentry()]


@pytest.fixture
def config_entry(
    listener_data: dict[str, Any], subentries: list[ConfigSubentryData]
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Email Incidents",
        data=listener_data,
        subentries_data=subentries,
        entry_id="listener_entry",
    )


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """The integration loaded and listening; unloaded at the end so the port is released."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    if (
        hass.config_entries.async_get_entry(config_entry.entry_id)
        and config_entry.state.recoverable
    ):
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()


def make_email(
    subject: str = "Disk failure on volume 1",
    body: str = "Volume 1 is degraded.",
    sender: str = "nas@example.com",
    to: str = "nas@homeassistant.local",
    message_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


type SmtpSender = Callable[..., Any]


class FailingDisk:
    """While `failing`, every fsync fails as on a full disk: nothing can be made durable."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing = False
        real_fsync = os.fsync

        def _fsync(fd: int) -> None:
            if self.failing:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", _fsync)


@pytest.fixture
def failing_disk(monkeypatch: pytest.MonkeyPatch) -> FailingDisk:
    return FailingDisk(monkeypatch)


@pytest.fixture
def send_email(hass: HomeAssistant, smtp_port: int) -> Generator[Callable[..., Any]]:
    """Send over real SMTP from a worker thread (smtplib blocks); returns sendmail's refusals."""

    async def _send(
        message: EmailMessage | None = None,
        *,
        sender: str = "monitor@example.com",
        recipients: tuple[str, ...] = ("nas@homeassistant.local",),
        port: int | None = None,
    ) -> dict[str, tuple[int, bytes]]:
        message = message or make_email(to=", ".join(recipients))

        def _blocking() -> dict[str, tuple[int, bytes]]:
            with smtplib.SMTP(
                "127.0.0.1", port or smtp_port, timeout=30, local_hostname="localhost"
            ) as client:
                return client.send_message(message, sender, list(recipients))

        return await hass.async_add_executor_job(_blocking)

    return _send


@pytest.fixture(scope="session")
def tls_files() -> tuple[str, str]:
    """A self-signed certificate and key for localhost and 127.0.0.1 (PEM files), the same
    the test Dovecot serves."""
    certificate, key = certificate_files()
    return str(certificate), str(key)
