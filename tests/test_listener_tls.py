"""TLS (STARTTLS through loop.start_tls, and implicit TLS) and SMTP AUTH on the real listener."""

from __future__ import annotations

import smtplib
import ssl
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import (
    CONF_ALLOW_PLAIN_AUTH,
    CONF_AUTH_PASSWORD,
    CONF_AUTH_USERNAME,
    CONF_REQUIRE_TLS,
    CONF_TLS_CERT,
    CONF_TLS_KEY,
    CONF_TLS_PORT,
)

from .conftest import free_port, make_email

TLS_PORT = free_port()


@pytest.fixture
def settings() -> dict[str, Any]:
    """What a test adds to the TLS listener; tests parametrize it."""
    return {}


@pytest.fixture
def extra_listener_data(tls_files: tuple[str, str], settings: dict[str, Any]) -> dict[str, Any]:
    return {CONF_TLS_CERT: tls_files[0], CONF_TLS_KEY: tls_files[1], **settings}


def _client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _incident_summaries(entry: MockConfigEntry) -> list[str]:
    return [incident.summary for incident in entry.runtime_data.engine.incidents()]


@pytest.mark.usefixtures("setup_integration")
async def test_starttls(hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int) -> None:
    """STARTTLS is offered, works, and the session restarts (EHLO again) inside TLS."""

    def _send() -> tuple[bool, bool, str]:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30, local_hostname="localhost") as client:
            client.ehlo("client")
            offered = client.has_extn("starttls")
            client.starttls(context=_client_context())
            client.ehlo("client")
            offered_again = client.has_extn("starttls")
            assert client.sock is not None
            version = client.sock.version()  # type: ignore[attr-defined]
            client.send_message(
                make_email(subject="over TLS"), "a@example.com", ["nas@homeassistant.local"]
            )
            return offered, offered_again, str(version)

    offered, offered_again, version = await hass.async_add_executor_job(_send)
    assert offered
    assert not offered_again
    assert version.startswith("TLSv1.")
    assert _incident_summaries(config_entry) == ["over TLS"]


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("settings", [{CONF_TLS_PORT: TLS_PORT}])
async def test_implicit_tls_port(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    def _send() -> bool:
        with smtplib.SMTP_SSL(
            "127.0.0.1", TLS_PORT, timeout=30, context=_client_context(), local_hostname="localhost"
        ) as client:
            client.ehlo("client")
            client.send_message(
                make_email(subject="implicit TLS"), "a@example.com", ["nas@homeassistant.local"]
            )
            return client.has_extn("starttls")

    assert await hass.async_add_executor_job(_send) is False
    assert _incident_summaries(config_entry) == ["implicit TLS"]


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("settings", [{CONF_REQUIRE_TLS: True}])
async def test_require_tls(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await send_email()
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        530,
        b"5.7.0 Must issue a STARTTLS command first",
    )
    # Refused twice: the client's MAIL and the RSET it sends after the refusal.
    assert config_entry.runtime_data.engine.state.counters["refused_tls_required"] == 2


AUTH = {CONF_AUTH_USERNAME: "monitor", CONF_AUTH_PASSWORD: "s3cret"}


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("settings", [AUTH])
async def test_auth_over_tls(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    """AUTH is offered only inside TLS; without login mail is refused; a good login delivers."""

    def _session() -> tuple[bool, tuple[int, bytes], bool]:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30, local_hostname="localhost") as client:
            client.ehlo("client")
            auth_before_tls = client.has_extn("auth")
            client.starttls(context=_client_context())
            client.ehlo("client")
            refused = client.mail("a@example.com")
            client.rset()
            client.login("monitor", "s3cret")
            client.send_message(
                make_email(subject="authenticated"), "a@example.com", ["nas@homeassistant.local"]
            )
            return auth_before_tls, refused, client.has_extn("auth")

    auth_before_tls, refused, auth_in_tls = await hass.async_add_executor_job(_session)
    assert not auth_before_tls
    assert auth_in_tls
    assert refused == (530, b"5.7.0 Authentication required")
    assert _incident_summaries(config_entry) == ["authenticated"]


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("settings", [AUTH])
async def test_wrong_password(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    def _login() -> None:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30, local_hostname="localhost") as client:
            client.starttls(context=_client_context())
            client.login("monitor", "guess")

    with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
        await hass.async_add_executor_job(_login)
    assert (failed.value.smtp_code, failed.value.smtp_error) == (
        535,
        b"5.7.8 Authentication credentials invalid",
    )
    # smtplib tries PLAIN, then LOGIN: two failed attempts, each answered after a delay.
    assert config_entry.runtime_data.engine.state.counters["refused_auth_failed"] == 2


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("settings", [{**AUTH, CONF_ALLOW_PLAIN_AUTH: True}])
async def test_plain_text_auth_when_allowed(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    def _send() -> None:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30, local_hostname="localhost") as client:
            client.login("monitor", "s3cret")
            client.send_message(
                make_email(subject="plain auth"), "a@example.com", ["nas@homeassistant.local"]
            )

    await hass.async_add_executor_job(_send)
    assert _incident_summaries(config_entry) == ["plain auth"]
