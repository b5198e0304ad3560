"""Events and entity attributes stay small whatever the e-mail: the recorder drops an event over
32 KiB and warns about attributes over 16 KiB; long texts are cut with a visible mark."""

from __future__ import annotations

import smtplib
from typing import Any

from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.json import json_bytes
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.events import CUT_MARK

MAX_EVENT_BYTES = 32 * 1024
MAX_ATTRIBUTES_BYTES = 16 * 1024


def _huge_email(subject_words: int, recipients: list[str]) -> bytes:
    """A subject of about a megabyte of multi-byte text, folded into lines a real relay
    accepts, a very long sender address and a long body."""
    word = "Störung-🔥 "
    lines = [word * 40] * (subject_words // 40)
    subject = "\r\n ".join(lines)
    local_part = "x" * 5000
    return (
        f"From: {local_part}@example.com\r\n"
        f"To: {', '.join(recipients)}\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <huge@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n" + "a long body line\r\n" * 20000
    ).encode()


def _event_bytes(events: list[Event]) -> list[int]:
    return [len(json_bytes(event.data)) for event in events]


@pytest.mark.usefixtures("setup_integration")
async def test_a_megabyte_subject_gives_small_events_and_attributes(
    hass: HomeAssistant, config_entry: MockConfigEntry, smtp_port: int
) -> None:
    received = async_capture_events(hass, f"{DOMAIN}_email_received")
    created = async_capture_events(hass, f"{DOMAIN}_incident_created")
    updated = async_capture_events(hass, f"{DOMAIN}_incident_updated")
    recipients = [f"nas+{'tag' * 20}{number}@homeassistant.local" for number in range(50)]
    content = _huge_email(100_000, recipients)
    assert len(content) > 1_000_000

    def _send() -> Any:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60, local_hostname="localhost") as client:
            client.ehlo()
            client.mail("monitor@example.com", ["SMTPUTF8"])
            for recipient in recipients:
                client.rcpt(recipient)
            first = client.data(content)
            client.rset()
            client.mail("monitor@example.com", ["SMTPUTF8"])
            client.rcpt(recipients[0])
            second = client.data(content.replace(b"<huge@", b"<huge-again@"))
            return first, second

    first, second = await hass.async_add_executor_job(_send)
    await hass.async_block_till_done()
    assert first[0] == second[0] == 250
    assert (len(received), len(created), len(updated)) == (2, 1, 1)
    assert all(size < MAX_EVENT_BYTES for size in _event_bytes(received + created + updated))
    assert received[0].data["subject"].endswith(CUT_MARK)
    assert received[0].data["from"].endswith(CUT_MARK)
    assert received[0].data["recipients"][-1] == "[… 31 more]"
    assert updated[0].data["email_subject"].endswith(CUT_MARK)
    assert created[0].data["from"].endswith(CUT_MARK)

    registry = er.async_get(hass)
    entities = er.async_entries_for_config_entry(registry, config_entry.entry_id)
    states = [hass.states.get(entity.entity_id) for entity in entities]
    sizes = {
        state.entity_id: len(json_bytes(state.attributes)) for state in states if state is not None
    }
    assert sizes
    assert max(sizes.values()) < MAX_ATTRIBUTES_BYTES, sizes
