"""Diagnostics: settings without secrets, recent e-mails without bodies."""

from __future__ import annotations

import smtplib

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import (
    CONF_ALLOW_PLAIN_AUTH,
    CONF_AUTH_PASSWORD,
    CONF_AUTH_USERNAME,
)
from custom_components.email_incidents.diagnostics import async_get_config_entry_diagnostics

from .conftest import make_email
from .entity_helpers import FROZEN_TIME

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)


@pytest.mark.parametrize(
    "extra_listener_data",
    [{CONF_AUTH_USERNAME: "monitor", CONF_AUTH_PASSWORD: "s3cret", CONF_ALLOW_PLAIN_AUTH: True}],
)
async def test_diagnostics(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    """No secrets, no e-mail addresses, client IPs or user names, no bodies."""

    def blocking_send_with_login() -> None:
        with smtplib.SMTP(
            "127.0.0.1", setup_integration.data["port"], timeout=30, local_hostname="localhost"
        ) as client:
            client.login("monitor", "s3cret")
            client.send_message(
                make_email(
                    subject="Disk failure, write to Admin.Person+nas@example.com",
                    body="SECRET BODY TEXT",
                )
            )

    await hass.async_add_executor_job(blocking_send_with_login)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.nas_maintenance"}, blocking=True
    )
    runtime = setup_integration.runtime_data
    assert runtime.listener is not None
    [(host, port)] = runtime.listener.addresses

    diagnostics = await async_get_config_entry_diagnostics(hass, setup_integration)

    assert "SECRET BODY TEXT" not in repr(diagnostics)
    assert "s3cret" not in repr(diagnostics)
    for personal in ("monitor", "example.com", "127.0.0.1", "homeassistant.local"):
        assert personal not in repr(diagnostics["recent_emails"])
        assert personal not in repr(diagnostics["subentries"])
    assert diagnostics == {
        "settings": {
            "host": "127.0.0.1",
            "port": port,
            CONF_AUTH_USERNAME: "**REDACTED**",
            CONF_AUTH_PASSWORD: "**REDACTED**",
            CONF_ALLOW_PLAIN_AUTH: True,
        },
        "subentries": [
            {
                "subentry_id": "source_nas",
                "type": "alert_source",
                "title": "NAS",
                "data": {"name": "NAS", "addresses": "**REDACTED**"},
            }
        ],
        "listener": {"running": True, "addresses": [f"{host}:{port}"], "sessions": 0},
        "mailboxes": {},
        "counters": {"received": 1, "accepted": 1, "source_emails_source_nas": 1},
        "maintenance": ["source_nas"],
        "incidents": {"source_nas": {"pending": 1}},
        "recent_emails": [
            {
                "received": FROZEN_TIME,
                "client": "**REDACTED**",
                "mail_from": "**REDACTED**",
                "rcpt_tos": "**REDACTED**",
                "from": "**REDACTED**",
                "subject": "Disk failure, write to **REDACTED**",
                "size": diagnostics["recent_emails"][0]["size"],
                "attachments": 0,
                "defects": [],
                "refusal": None,
                "outcomes": [
                    {
                        "source_id": "source_nas",
                        "outcome": "created",
                        "incident_ids": ["INC-1"],
                        "key": None,
                    }
                ],
            }
        ],
    }
    assert diagnostics["recent_emails"][0]["size"] > 0
