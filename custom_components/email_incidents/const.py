"""Constants of the Email Incidents integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "email_incidents"
LOGGER = logging.getLogger(__package__)

SUBENTRY_SOURCE: Final = "alert_source"
SUBENTRY_POLICY: Final = "escalation_policy"
SUBENTRY_MAILBOX: Final = "mailbox"
SUBENTRY_ROTATION: Final = "rotation"

# Listener settings (config entry data).
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_DOMAIN: Final = "mail_domain"
CONF_MAX_MESSAGE_SIZE: Final = "max_message_size"
CONF_TLS_CERT: Final = "tls_certificate"
CONF_TLS_KEY: Final = "tls_key"
CONF_TLS_PORT: Final = "tls_port"
CONF_REQUIRE_TLS: Final = "require_tls"
CONF_AUTH_USERNAME: Final = "auth_username"
CONF_AUTH_PASSWORD: Final = "auth_password"  # noqa: S105
CONF_ALLOW_PLAIN_AUTH: Final = "allow_auth_without_tls"
CONF_ALLOWED_NETWORKS: Final = "allowed_networks"
CONF_MAX_CONNECTIONS: Final = "max_connections"
CONF_MAX_CONNECTIONS_PER_CLIENT: Final = "max_connections_per_client"
CONF_MAX_RECIPIENTS: Final = "max_recipients"
CONF_RATE_LIMIT: Final = "messages_per_minute"
CONF_RECENT_EMAILS: Final = "recent_emails"
CONF_RETENTION_DAYS: Final = "retention_days"
CONF_LMTP: Final = "lmtp"
CONF_COMMAND_TIMEOUT: Final = "command_timeout"
CONF_DATA_TIMEOUT: Final = "data_timeout"

DEFAULT_HOST: Final = "0.0.0.0"  # noqa: S104 - a mail listener serves the network by design
DEFAULT_PORT: Final = 2525
DEFAULT_DOMAIN: Final = "homeassistant.local"
DEFAULT_MAX_MESSAGE_SIZE: Final = 10 * 1024 * 1024
DEFAULT_ALLOWED_NETWORKS: Final = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
)
DEFAULT_MAX_CONNECTIONS: Final = 50
DEFAULT_MAX_CONNECTIONS_PER_CLIENT: Final = 10
DEFAULT_MAX_RECIPIENTS: Final = 50
DEFAULT_RATE_LIMIT: Final = 120
DEFAULT_RECENT_EMAILS: Final = 50
DEFAULT_RETENTION_DAYS: Final = 30
DEFAULT_COMMAND_TIMEOUT: Final = 60
DEFAULT_DATA_TIMEOUT: Final = 300

# Bus events.
EVENT_INCIDENT_PREFIX: Final = f"{DOMAIN}_incident_"
EVENT_EMAIL_RECEIVED: Final = f"{DOMAIN}_email_received"

# Incidents written to disk (created, changed or removed): their ids, for live views.
SIGNAL_INCIDENTS_WRITTEN: Final = f"{DOMAIN}_incidents_written"

# The Incidents panel's address; each incident has a page below it.
PANEL_URL_PATH: Final = "email-incidents"


def incident_url(incident_id: str) -> str:
    return f"/{PANEL_URL_PATH}/{incident_id}"


SIGNAL_STATE_CHANGED: Final = f"{DOMAIN}_state_changed_{{}}"
LISTENER_DEVICE: Final = "listener"


def state_changed_signal(entry_id: str, device: str | None = None) -> str:
    """The signal that updates every entity of an entry, or only those of one device: an
    alert source (its subentry id) or `LISTENER_DEVICE`."""
    return SIGNAL_STATE_CHANGED.format(entry_id if device is None else f"{entry_id}_{device}")
