"""The listener's config flow: defaults, every validation error, reconfigure with a real restart."""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
import smtplib
import socket
from typing import Any, cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.email_incidents.const import DEFAULT_ALLOWED_NETWORKS, DOMAIN

from .conftest import free_port, make_email
from .test_translations import assert_translated

type Result = dict[str, Any]

MIB = 1024 * 1024
DEFAULT_LIMITS = {
    "max_connections": 50,
    "max_connections_per_client": 10,
    "max_recipients": 50,
    "messages_per_minute": 120,
    "command_timeout": 60,
    "data_timeout": 300,
    "recent_emails": 50,
    "retention_days": 30,
}
DEFAULT_FORM = {
    "host": "0.0.0.0",
    "port": 2525,
    "mail_domain": "homeassistant.local",
    "max_message_size": 10,
    "allowed_networks": list(DEFAULT_ALLOWED_NETWORKS),
    "lmtp": False,
    "tls": {"tls_certificate": "", "tls_key": "", "tls_port": 0, "require_tls": False},
    "authentication": {"auth_username": "", "allow_auth_without_tls": False},
    "limits": DEFAULT_LIMITS,
}


def form_defaults(schema: vol.Schema) -> dict[str, Any]:
    """What the form submits when the user changes nothing."""
    values: dict[str, Any] = {}
    for marker, validator in schema.schema.items():
        if isinstance(validator, section):
            values[str(marker.schema)] = form_defaults(validator.schema)
        elif marker.default is not vol.UNDEFINED:
            values[str(marker.schema)] = marker.default()
    return values


def form(port: int, **changes: Any) -> dict[str, Any]:
    """The default form on loopback and `port`; `tls`/`authentication` dicts are merged."""
    values: dict[str, Any] = {**DEFAULT_FORM, "host": "127.0.0.1", "port": port}
    for key, value in changes.items():
        values[key] = {**values[key], **value} if isinstance(value, dict) else value
    return values


async def start_user(hass: HomeAssistant) -> Result:
    result = cast(
        Result, await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    )
    assert_translated(result)
    return result


async def start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> Result:
    result = cast(
        Result,
        await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
        ),
    )
    assert_translated(result)
    return result


async def submit(hass: HomeAssistant, result: Result, user_input: dict[str, Any]) -> Result:
    new = cast(
        Result, await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    )
    assert_translated(new)
    return new


@pytest.fixture
def busy_port() -> Generator[int]:
    """A loopback port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


async def test_user_step_defaults_create_a_running_listener(
    hass: HomeAssistant, smtp_port: int, tls_files: tuple[str, str]
) -> None:
    result = await start_user(hass)
    assert (result["type"], result["step_id"], result["errors"]) == (
        FlowResultType.FORM,
        "user",
        {},
    )
    assert form_defaults(result["data_schema"]) == DEFAULT_FORM

    certificate, key = tls_files
    tls_port = free_port()
    tls = {"tls_certificate": certificate, "tls_key": key, "tls_port": tls_port}
    result = await submit(
        hass, result, form(smtp_port, mail_domain=" Alerts.Example.com ", tls=tls)
    )
    assert (result["type"], result["title"]) == (FlowResultType.CREATE_ENTRY, "Email Incidents")
    assert result["data"] == {
        "host": "127.0.0.1",
        "port": smtp_port,
        "mail_domain": "alerts.example.com",
        "max_message_size": 10 * MIB,
        "allowed_networks": list(DEFAULT_ALLOWED_NETWORKS),
        "lmtp": False,
        "tls_certificate": certificate,
        "tls_key": key,
        "tls_port": tls_port,
        "require_tls": False,
        "auth_username": "",
        "auth_password": "",
        "allow_auth_without_tls": False,
        **DEFAULT_LIMITS,
    }
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert sorted(entry.runtime_data.listener.addresses) == sorted(
        [("127.0.0.1", smtp_port), ("127.0.0.1", tls_port)]
    )

    again = await start_user(hass)
    assert (again["type"], again["reason"]) == (FlowResultType.ABORT, "single_instance_allowed")
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"host": "mail.local"}, {"host": "invalid_host"}),
        ({"mail_domain": "home assistant"}, {"mail_domain": "invalid_domain"}),
        (
            {"allowed_networks": ["10.0.0.0/8", "10.0.0.0/33"]},
            {"allowed_networks": "invalid_network"},
        ),
        ({"tls": {"tls_certificate": "/ssl/cert.pem"}}, {"tls": "tls_incomplete"}),
        ({"tls": {"require_tls": True}}, {"tls": "tls_needs_certificate"}),
        ({"tls": {"tls_port": 4650}}, {"tls": "tls_needs_certificate"}),
        ({"authentication": {"auth_username": "alert"}}, {"authentication": "auth_incomplete"}),
        (
            {"authentication": {"auth_username": "alert", "auth_password": "secret"}},
            {"authentication": "auth_needs_tls"},
        ),
        (
            {"host": "::g", "mail_domain": "alerts-", "tls": {"tls_key": "/k.pem"}},
            {"host": "invalid_host", "mail_domain": "invalid_domain", "tls": "tls_incomplete"},
        ),
    ],
)
async def test_field_errors(
    hass: HomeAssistant, smtp_port: int, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await start_user(hass)
    result = await submit(hass, result, form(smtp_port, **changes))
    assert (result["step_id"], result["errors"]) == ("user", errors)


async def test_tls_port_must_differ_from_the_port(hass: HomeAssistant, smtp_port: int) -> None:
    tls = {"tls_certificate": "/ssl/cert.pem", "tls_key": "/ssl/key.pem", "tls_port": smtp_port}
    result = await start_user(hass)
    result = await submit(hass, result, form(smtp_port, tls=tls))
    assert result["errors"] == {"tls": "tls_port_same"}


@pytest.mark.parametrize("host", ["127.0.0.1", ""])
async def test_port_in_use(hass: HomeAssistant, busy_port: int, host: str) -> None:
    """An empty listen address means every address, which includes the busy one."""
    result = await start_user(hass)
    result = await submit(hass, result, form(busy_port, host=host))
    assert result["errors"] == {"port": "port_in_use"}


async def test_port_in_use_on_ipv6(hass: HomeAssistant) -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        sock.listen()
        result = await start_user(hass)
        result = await submit(hass, result, form(int(sock.getsockname()[1]), host="::1"))
    assert result["errors"] == {"port": "port_in_use"}


async def test_tls_port_in_use(
    hass: HomeAssistant, smtp_port: int, busy_port: int, tls_files: tuple[str, str]
) -> None:
    certificate, key = tls_files
    tls = {"tls_certificate": certificate, "tls_key": key, "tls_port": busy_port}
    result = await start_user(hass)
    result = await submit(hass, result, form(smtp_port, tls=tls))
    assert result["errors"] == {"tls": "port_in_use"}


async def test_certificate_unreadable(
    hass: HomeAssistant, smtp_port: int, tls_files: tuple[str, str]
) -> None:
    certificate, key = tls_files
    result = await start_user(hass)
    for tls in (
        {"tls_certificate": "/nonexistent/cert.pem", "tls_key": "/nonexistent/key.pem"},
        {"tls_certificate": key, "tls_key": certificate},  # swapped: neither parses
    ):
        result = await submit(hass, result, form(smtp_port, tls=tls))
        assert result["errors"] == {"tls": "certificate_unreadable"}


async def test_reconfigure_keeps_the_password_when_left_empty(
    hass: HomeAssistant, smtp_port: int
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "host": "127.0.0.1",
            "port": smtp_port,
            "auth_username": "alert",
            "auth_password": "secret",
            "allow_auth_without_tls": True,
        },
    )
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry)
    assert result["step_id"] == "reconfigure"
    shown = form_defaults(result["data_schema"])
    assert shown["authentication"] == {"auth_username": "alert", "allow_auth_without_tls": True}
    assert (shown["host"], shown["port"]) == ("127.0.0.1", smtp_port)
    # The port it uses itself is no conflict.
    result = await submit(hass, result, shown)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    assert (entry.data["auth_username"], entry.data["auth_password"]) == ("alert", "secret")

    result = await start_reconfigure(hass, entry)
    result = await submit(
        hass, result, shown | {"authentication": {"auth_username": "", "auth_password": "x"}}
    )
    assert result["reason"] == "reconfigure_successful"
    assert (entry.data["auth_username"], entry.data["auth_password"]) == ("", "")


async def test_reconfigure_errors_keep_the_form(
    hass: HomeAssistant, setup_integration: MockConfigEntry, busy_port: int
) -> None:
    result = await start_reconfigure(hass, setup_integration)
    shown = form_defaults(result["data_schema"])
    result = await submit(hass, result, shown | {"port": busy_port})
    assert (result["step_id"], result["errors"]) == ("reconfigure", {"port": "port_in_use"})
    result = await submit(hass, result, shown | {"mail_domain": "bad domain"})
    assert result["errors"] == {"mail_domain": "invalid_domain"}


async def test_reconfigure_restarts_the_listener_on_the_new_port(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: Any, smtp_port: int
) -> None:
    await send_email(make_email(subject="Before the move"))
    before = setup_integration.runtime_data

    new_port = free_port()
    result = await start_reconfigure(hass, setup_integration)
    shown = form_defaults(result["data_schema"])
    result = await submit(hass, result, shown | {"port": new_port})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    runtime = setup_integration.runtime_data
    assert runtime is not before
    assert runtime.listener is not None
    assert runtime.listener.addresses == [("127.0.0.1", new_port)]
    with pytest.raises(ConnectionRefusedError):
        await hass.async_add_executor_job(
            partial(smtplib.SMTP, "127.0.0.1", smtp_port, local_hostname="localhost")
        )
    await send_email(make_email(subject="After the move"), port=new_port)
    assert [i.summary for i in runtime.engine.incidents()] == ["After the move", "Before the move"]
