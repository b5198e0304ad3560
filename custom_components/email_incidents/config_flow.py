"""Config flow: the listener (the config entry); sources and policies are subentries."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_address, ip_network
import re
import socket
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .const import (
    CONF_ALLOW_PLAIN_AUTH,
    CONF_ALLOWED_NETWORKS,
    CONF_AUTH_PASSWORD,
    CONF_AUTH_USERNAME,
    CONF_COMMAND_TIMEOUT,
    CONF_DATA_TIMEOUT,
    CONF_DOMAIN,
    CONF_HOST,
    CONF_LMTP,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_CLIENT,
    CONF_MAX_MESSAGE_SIZE,
    CONF_MAX_RECIPIENTS,
    CONF_PORT,
    CONF_RATE_LIMIT,
    CONF_RECENT_EMAILS,
    CONF_REQUIRE_TLS,
    CONF_RETENTION_DAYS,
    CONF_TLS_CERT,
    CONF_TLS_KEY,
    CONF_TLS_PORT,
    DEFAULT_ALLOWED_NETWORKS,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_DATA_TIMEOUT,
    DEFAULT_DOMAIN,
    DEFAULT_HOST,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_RECIPIENTS,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RECENT_EMAILS,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    SUBENTRY_MAILBOX,
    SUBENTRY_POLICY,
    SUBENTRY_ROTATION,
    SUBENTRY_SOURCE,
)
from .core.config import SOURCE_DATA_VERSION
from .flow_validation import input_errors
from .listener import ListenerError, load_tls_context
from .mailbox_flow import MailboxSubentryFlow
from .policy_flow import EscalationPolicySubentryFlow
from .rotation_flow import RotationSubentryFlow
from .source_flow import AlertSourceSubentryFlow

SECTION_TLS = "tls"
SECTION_AUTH = "authentication"
SECTION_LIMITS = "limits"
MIB = 1024 * 1024

_SECTIONS: dict[str, tuple[str, ...]] = {
    SECTION_TLS: (CONF_TLS_CERT, CONF_TLS_KEY, CONF_TLS_PORT, CONF_REQUIRE_TLS),
    SECTION_AUTH: (CONF_AUTH_USERNAME, CONF_AUTH_PASSWORD, CONF_ALLOW_PLAIN_AUTH),
    SECTION_LIMITS: (
        CONF_MAX_CONNECTIONS,
        CONF_MAX_CONNECTIONS_PER_CLIENT,
        CONF_MAX_RECIPIENTS,
        CONF_RATE_LIMIT,
        CONF_COMMAND_TIMEOUT,
        CONF_DATA_TIMEOUT,
        CONF_RECENT_EMAILS,
        CONF_RETENTION_DAYS,
    ),
}
# The longest text each typed field takes; a path may be as long as Linux allows.
_TEXT_LIMITS: dict[str, int] = {
    CONF_HOST: 255,
    CONF_DOMAIN: 253,
    CONF_ALLOWED_NETWORKS: 64,
    CONF_TLS_CERT: 4096,
    CONF_TLS_KEY: 4096,
    CONF_AUTH_USERNAME: 255,
    CONF_AUTH_PASSWORD: 1024,
}
_NUMBER_FIELDS = (CONF_PORT, CONF_MAX_MESSAGE_SIZE, CONF_TLS_PORT, *_SECTIONS[SECTION_LIMITS])
_SECTION_OF_FIELD = {field: name for name, fields in _SECTIONS.items() for field in fields}
_DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


def _number(minimum: int, maximum: int, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _listener_schema(current: Mapping[str, Any]) -> vol.Schema:
    """The listener form, pre-filled from `current` (flat entry data); secrets never shown."""

    def value(key: str, default: Any) -> Any:
        return current.get(key, default)

    text = TextSelector()
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=value(CONF_HOST, DEFAULT_HOST)): text,
            vol.Required(CONF_PORT, default=value(CONF_PORT, DEFAULT_PORT)): _number(1, 65535),
            vol.Required(CONF_DOMAIN, default=value(CONF_DOMAIN, DEFAULT_DOMAIN)): text,
            vol.Required(
                CONF_MAX_MESSAGE_SIZE,
                default=value(CONF_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGE_SIZE) // MIB,
            ): _number(1, 100, "MiB"),
            vol.Required(
                CONF_ALLOWED_NETWORKS,
                default=list(value(CONF_ALLOWED_NETWORKS, DEFAULT_ALLOWED_NETWORKS)),
            ): TextSelector(TextSelectorConfig(multiple=True)),
            vol.Required(CONF_LMTP, default=value(CONF_LMTP, False)): BooleanSelector(),
            vol.Required(SECTION_TLS): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_TLS_CERT, default=value(CONF_TLS_CERT, "")): text,
                        vol.Optional(CONF_TLS_KEY, default=value(CONF_TLS_KEY, "")): text,
                        vol.Optional(CONF_TLS_PORT, default=value(CONF_TLS_PORT, 0)): _number(
                            0, 65535
                        ),
                        vol.Required(
                            CONF_REQUIRE_TLS, default=value(CONF_REQUIRE_TLS, False)
                        ): BooleanSelector(),
                    }
                ),
                {"collapsed": not current.get(CONF_TLS_CERT)},
            ),
            vol.Required(SECTION_AUTH): section(
                vol.Schema(
                    {
                        vol.Optional(
                            CONF_AUTH_USERNAME, default=value(CONF_AUTH_USERNAME, "")
                        ): text,
                        vol.Optional(CONF_AUTH_PASSWORD): TextSelector(
                            TextSelectorConfig(type=TextSelectorType.PASSWORD)
                        ),
                        vol.Required(
                            CONF_ALLOW_PLAIN_AUTH, default=value(CONF_ALLOW_PLAIN_AUTH, False)
                        ): BooleanSelector(),
                    }
                ),
                {"collapsed": not current.get(CONF_AUTH_USERNAME)},
            ),
            vol.Required(SECTION_LIMITS): section(
                vol.Schema(
                    {
                        vol.Required(
                            CONF_MAX_CONNECTIONS,
                            default=value(CONF_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS),
                        ): _number(1, 1000),
                        vol.Required(
                            CONF_MAX_CONNECTIONS_PER_CLIENT,
                            default=value(
                                CONF_MAX_CONNECTIONS_PER_CLIENT, DEFAULT_MAX_CONNECTIONS_PER_CLIENT
                            ),
                        ): _number(1, 1000),
                        vol.Required(
                            CONF_MAX_RECIPIENTS,
                            default=value(CONF_MAX_RECIPIENTS, DEFAULT_MAX_RECIPIENTS),
                        ): _number(1, 1000),
                        vol.Required(
                            CONF_RATE_LIMIT, default=value(CONF_RATE_LIMIT, DEFAULT_RATE_LIMIT)
                        ): _number(1, 100000, "e-mails/min"),
                        vol.Required(
                            CONF_COMMAND_TIMEOUT,
                            default=value(CONF_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT),
                        ): _number(1, 3600, "s"),
                        vol.Required(
                            CONF_DATA_TIMEOUT,
                            default=value(CONF_DATA_TIMEOUT, DEFAULT_DATA_TIMEOUT),
                        ): _number(1, 3600, "s"),
                        vol.Required(
                            CONF_RECENT_EMAILS,
                            default=value(CONF_RECENT_EMAILS, DEFAULT_RECENT_EMAILS),
                        ): _number(0, 1000),
                        vol.Required(
                            CONF_RETENTION_DAYS,
                            default=value(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS),
                        ): _number(1, 3650, "d"),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _flatten(user_input: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data from the form: sections flattened, numbers as int, MiB as bytes, and the
    password kept when the field was left empty."""
    data: dict[str, Any] = {key: value for key, value in user_input.items() if key not in _SECTIONS}
    for name in _SECTIONS:
        data.update(user_input.get(name, {}))
    for key in (CONF_PORT, CONF_TLS_PORT, *_SECTIONS[SECTION_LIMITS]):
        if key in data:
            data[key] = int(data[key])
    data[CONF_MAX_MESSAGE_SIZE] = int(data[CONF_MAX_MESSAGE_SIZE]) * MIB
    data[CONF_HOST] = str(data[CONF_HOST]).strip()
    data[CONF_DOMAIN] = str(data[CONF_DOMAIN]).strip().lower()
    data[CONF_ALLOWED_NETWORKS] = [
        str(network).strip() for network in data.get(CONF_ALLOWED_NETWORKS, []) if network
    ]
    if not data.get(CONF_AUTH_PASSWORD):
        data[CONF_AUTH_PASSWORD] = previous.get(CONF_AUTH_PASSWORD, "")
    if not data.get(CONF_AUTH_USERNAME):
        data[CONF_AUTH_PASSWORD] = ""
    return data


def _typed_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Errors of the typed texts and numbers as the form sent them (before any trimming or
    rounding), keyed by field or, for a field in a section, by the section."""
    fields = {key: value for key, value in user_input.items() if key not in _SECTIONS}
    for name in _SECTIONS:
        fields.update(user_input.get(name, {}))
    return {
        _SECTION_OF_FIELD.get(field, field): error
        for field, error in input_errors(fields, _TEXT_LIMITS, _NUMBER_FIELDS).items()
    }


def _field_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """Errors of single fields, keyed by field (or section) name."""
    errors: dict[str, str] = {}
    host = data[CONF_HOST]
    if host:
        try:
            ip_address(host)
        except ValueError:
            errors[CONF_HOST] = "invalid_host"
    if not _DOMAIN_PATTERN.match(data[CONF_DOMAIN]):
        errors[CONF_DOMAIN] = "invalid_domain"
    try:
        for network in data[CONF_ALLOWED_NETWORKS]:
            ip_network(network, strict=False)
    except ValueError:
        errors[CONF_ALLOWED_NETWORKS] = "invalid_network"
    if bool(data.get(CONF_TLS_CERT)) != bool(data.get(CONF_TLS_KEY)):
        errors[SECTION_TLS] = "tls_incomplete"
    elif (data.get(CONF_REQUIRE_TLS) or data.get(CONF_TLS_PORT)) and not data.get(CONF_TLS_CERT):
        errors[SECTION_TLS] = "tls_needs_certificate"
    elif data.get(CONF_TLS_PORT) and data[CONF_TLS_PORT] == data[CONF_PORT]:
        errors[SECTION_TLS] = "tls_port_same"
    if data.get(CONF_AUTH_USERNAME) and not data.get(CONF_AUTH_PASSWORD):
        errors[SECTION_AUTH] = "auth_incomplete"
    elif (
        data.get(CONF_AUTH_USERNAME)
        and not data.get(CONF_TLS_CERT)
        and not data.get(CONF_ALLOW_PLAIN_AUTH)
    ):
        errors[SECTION_AUTH] = "auth_needs_tls"
    return errors


def _port_free(host: str, port: int) -> bool:
    """Blocking bind test (executor)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))  # noqa: S104
        except OSError:
            return False
    return True


class EmailIncidentsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Sets up the listener."""

    VERSION = 1
    MINOR_VERSION = SOURCE_DATA_VERSION

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {
            SUBENTRY_SOURCE: AlertSourceSubentryFlow,
            SUBENTRY_POLICY: EscalationPolicySubentryFlow,
            SUBENTRY_MAILBOX: MailboxSubentryFlow,
            SUBENTRY_ROTATION: RotationSubentryFlow,
        }

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listener settings; defaults work as they are."""
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := _typed_errors(user_input)):
            data = _flatten(user_input, {})
            errors = await self._async_validate(data, None)
            if not errors:
                return self.async_create_entry(title="Email Incidents", data=data)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_listener_schema({}), user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the listener; it restarts with the new settings, incidents are kept."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := _typed_errors(user_input)):
            data = _flatten(user_input, entry.data)
            errors = await self._async_validate(data, entry.data)
            if not errors:
                # The entry's update listener reloads it: the listener restarts on the new
                # settings and the incidents are kept.
                self.hass.config_entries.async_update_entry(entry, data=data)
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_listener_schema(entry.data),
            errors=errors,
        )

    async def _async_validate(
        self, data: Mapping[str, Any], current: Mapping[str, Any] | None
    ) -> dict[str, str]:
        errors = _field_errors(data)
        if errors:
            return errors
        if data.get(CONF_TLS_CERT):
            try:
                await self.hass.async_add_executor_job(
                    load_tls_context, data[CONF_TLS_CERT], data[CONF_TLS_KEY]
                )
            except ListenerError:
                return {SECTION_TLS: "certificate_unreadable"}
        for key in (CONF_PORT, CONF_TLS_PORT):
            port = data.get(key)
            held_by_us = current is not None and port in (
                current.get(CONF_PORT),
                current.get(CONF_TLS_PORT),
            )
            if (
                port
                and not held_by_us
                and not await self.hass.async_add_executor_job(_port_free, data[CONF_HOST], port)
            ):
                return {CONF_PORT if key == CONF_PORT else SECTION_TLS: "port_in_use"}
        return {}
