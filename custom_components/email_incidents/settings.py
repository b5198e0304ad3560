"""Listener settings as stored in the config entry, read once into a typed value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

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
)

type Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenerSettings:
    """Everything the SMTP listener needs."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    mail_domain: str = DEFAULT_DOMAIN
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    tls_certificate: str = ""
    tls_key: str = ""
    tls_port: int = 0
    require_tls: bool = False
    auth_username: str = ""
    auth_password: str = ""
    allow_auth_without_tls: bool = False
    allowed_networks: tuple[Network, ...] = tuple(
        ip_network(network) for network in DEFAULT_ALLOWED_NETWORKS
    )
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    messages_per_minute: int = DEFAULT_RATE_LIMIT
    recent_emails: int = DEFAULT_RECENT_EMAILS
    retention_days: int = DEFAULT_RETENTION_DAYS
    lmtp: bool = False
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    data_timeout: float = DEFAULT_DATA_TIMEOUT

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls_certificate and self.tls_key)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_username)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ListenerSettings:
        defaults = cls()
        networks = data.get(CONF_ALLOWED_NETWORKS)
        return cls(
            host=data.get(CONF_HOST, defaults.host),
            port=int(data.get(CONF_PORT, defaults.port)),
            mail_domain=str(data.get(CONF_DOMAIN, defaults.mail_domain)).lower(),
            max_message_size=int(data.get(CONF_MAX_MESSAGE_SIZE, defaults.max_message_size)),
            tls_certificate=data.get(CONF_TLS_CERT) or "",
            tls_key=data.get(CONF_TLS_KEY) or "",
            tls_port=int(data.get(CONF_TLS_PORT) or 0),
            require_tls=bool(data.get(CONF_REQUIRE_TLS, False)),
            auth_username=data.get(CONF_AUTH_USERNAME) or "",
            auth_password=data.get(CONF_AUTH_PASSWORD) or "",
            allow_auth_without_tls=bool(data.get(CONF_ALLOW_PLAIN_AUTH, False)),
            allowed_networks=(
                defaults.allowed_networks
                if networks is None
                else tuple(ip_network(network, strict=False) for network in networks)
            ),
            max_connections=int(data.get(CONF_MAX_CONNECTIONS, defaults.max_connections)),
            max_connections_per_client=int(
                data.get(CONF_MAX_CONNECTIONS_PER_CLIENT, defaults.max_connections_per_client)
            ),
            max_recipients=int(data.get(CONF_MAX_RECIPIENTS, defaults.max_recipients)),
            messages_per_minute=int(data.get(CONF_RATE_LIMIT, defaults.messages_per_minute)),
            recent_emails=int(data.get(CONF_RECENT_EMAILS, defaults.recent_emails)),
            retention_days=int(data.get(CONF_RETENTION_DAYS, defaults.retention_days)),
            lmtp=bool(data.get(CONF_LMTP, False)),
            command_timeout=float(data.get(CONF_COMMAND_TIMEOUT, defaults.command_timeout)),
            data_timeout=float(data.get(CONF_DATA_TIMEOUT, defaults.data_timeout)),
        )
