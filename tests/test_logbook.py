"""The logbook describes incident events in words."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.logbook import async_describe_events

from .entity_helpers import FROZEN_TIME, SendEmail, deliver

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)


@pytest.mark.usefixtures("setup_integration")
async def test_incident_events_in_words(
    hass: HomeAssistant, send_email: SendEmail, hass_admin_user: MockUser
) -> None:
    describers: dict[str, Callable[[Any], dict[str, Any]]] = {}
    async_describe_events(
        hass, lambda domain, event_type, describe: describers.setdefault(event_type, describe)
    )
    assert set(describers) == {
        f"{DOMAIN}_incident_{kind}"
        for kind in (
            "created",
            "updated",
            "accepted",
            "resolved",
            "escalated",
            "snoozed",
            "unaccepted",
        )
    }
    created = async_capture_events(hass, f"{DOMAIN}_incident_created")
    accepted = async_capture_events(hass, f"{DOMAIN}_incident_accepted")
    await deliver(hass, send_email, subject="disk full")
    await hass.services.async_call(
        DOMAIN,
        "accept_incident",
        {"incident_id": "INC-1"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done()
    described = [
        describers[event.event_type](SimpleNamespace(event_type=event.event_type, data=event.data))
        for event in (*created, *accepted)
    ]
    assert described == [
        {"name": "NAS", "message": "INC-1 'disk full' opened"},
        {"name": "NAS", "message": "INC-1 'disk full' accepted by Mock User"},
    ]
    escalated = describers[f"{DOMAIN}_incident_escalated"](
        SimpleNamespace(
            event_type=f"{DOMAIN}_incident_escalated",
            data={"incident_id": "INC-1", "summary": "disk full", "level": 2},
        )
    )
    assert escalated == {"name": DOMAIN, "message": "INC-1 'disk full' escalated to level 2"}
    unaccepted = describers[f"{DOMAIN}_incident_unaccepted"](
        SimpleNamespace(
            event_type=f"{DOMAIN}_incident_unaccepted",
            data={"incident_id": "INC-1", "summary": "disk full", "actor": "timeout"},
        )
    )
    assert unaccepted["message"].startswith(
        "INC-1 'disk full' back to pending: accepted but not resolved in time"
    )
