"""Paging people, not machines, in a real Home Assistant with recording notify actions: a storm
of incidents is a few notifications and a summary per target, critical levels ring through Do
Not Disturb, and the paged are told who accepted or resolved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, ServiceCall
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import LogKind
from custom_components.email_incidents.escalation import CRITICAL_PUSH
from custom_components.email_incidents.runtime import EmailIncidentsRuntime

from .conftest import make_email, policy_subentry, source_subentry
from .entity_helpers import SendEmail

pytestmark = pytest.mark.freeze_time("2026-12-07T03:00:00+00:00")

PHONE = "notify.mobile_app_phone"
ONE_LEVEL = ({"delay_minutes": 0, "targets": [PHONE]},)
STORM = 40


def _subentries(**policy: Any) -> list[ConfigSubentryData]:
    return [
        source_subentry(creation_mode="every_email", escalation_policy="policy_oncall"),
        policy_subentry(**{"levels": ONE_LEVEL, **policy}),
    ]


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return _subentries()


@pytest.fixture
def phone(hass: HomeAssistant) -> list[ServiceCall]:
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "mobile_app_phone")
    return calls


async def _storm(hass: HomeAssistant, send_email: SendEmail, count: int = STORM) -> None:
    """`count` distinct problems within seconds, over real SMTP."""
    for number in range(count):
        message = make_email(subject=f"Host web{number:02} is DOWN")
        assert await send_email(message) == {}
    # Level 1 runs at once: at the deadline that is due now.
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _runtime(entry: MockConfigEntry) -> EmailIncidentsRuntime:
    runtime: EmailIncidentsRuntime = entry.runtime_data
    return runtime


async def test_a_storm_is_three_notifications_and_a_summary(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    escalated = async_capture_events(hass, f"{DOMAIN}_incident_escalated")
    await _storm(hass, send_email)
    # Every incident escalates and fires its event, which says whom it was held back for; only
    # three reach the phone one by one.
    assert len(escalated) == STORM
    assert [event.data["bundled"] for event in escalated] == [[]] * 3 + [[PHONE]] * 37
    assert {event.data["critical"] for event in escalated} == {False}
    assert [call.data["data"]["tag"] for call in phone] == [
        f"{DOMAIN}_INC-{number}" for number in (1, 2, 3)
    ]
    await _advance(hass, freezer, 4)
    assert len(phone) == 3
    await _advance(hass, freezer, 1)
    assert len(phone) == 4
    held = [f"INC-{number}" for number in range(4, STORM + 1)]
    url = f"/email-incidents?ids={','.join(held)}"
    assert phone[3].data == {
        "title": "37 more incidents",
        "message": "NAS (37)",
        "data": {"tag": f"{DOMAIN}_summary", "url": url, "clickAction": url},
    }
    # Each held incident's timeline says who got what, and when.
    log = [
        (entry.kind, entry.message)
        for entry in _runtime(setup_integration).engine.get("INC-40").log  # type: ignore[union-attr]
        if entry.kind in (LogKind.BUNDLED, LogKind.NOTIFIED)
    ]
    assert log == [
        (LogKind.BUNDLED, f"{PHONE}: level 1, in the next summary"),
        (LogKind.NOTIFIED, f"{PHONE}: in a summary of 37 incidents"),
    ]
    # Nothing more until the next storm.
    await _advance(hass, freezer, 10)
    assert len(phone) == 4
    # Accepting the whole storm tells the phone of the three it got one by one, not of the
    # incidents it only had in the summary.
    await hass.services.async_call(
        DOMAIN,
        "accept_incident",
        {"incident_id": [f"INC-{number}" for number in range(1, STORM + 1)]},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert [call.data["title"] for call in phone[4:]] == [
        f"INC-{number} accepted by accept_incident" for number in (1, 2, 3)
    ]


@pytest.mark.parametrize("extra_listener_data", [{"messages_per_minute": 600}])
async def test_500_incidents_are_a_few_notifications_per_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    """500 incidents over two windows: at most 3 + 1 notifications per window."""
    await _storm(hass, send_email, 250)
    await _advance(hass, freezer, 5)
    await _storm(hass, send_email, 250)
    await _advance(hass, freezer, 5)
    titles = [call.data["title"] for call in phone]
    assert len(titles) == 8
    assert titles[3] == titles[7] == "247 more incidents"


@pytest.mark.parametrize("subentries", [_subentries(bundle=False)])
async def test_without_bundling_every_incident_is_pushed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    await _storm(hass, send_email)
    await _advance(hass, freezer, 10)
    assert len(phone) == STORM


@pytest.mark.parametrize(
    "subentries",
    [
        _subentries(
            levels=(
                {"delay_minutes": 0, "targets": [PHONE]},
                {"delay_minutes": 10, "targets": [PHONE], "critical": True},
            )
        )
    ],
)
async def test_a_critical_level_rings_through_do_not_disturb(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    await _storm(hass, send_email, 1)
    assert "channel" not in phone[0].data["data"]
    escalated = async_capture_events(hass, f"{DOMAIN}_incident_escalated")
    await _advance(hass, freezer, 10)
    assert escalated[0].data["critical"] is True
    data = phone[1].data["data"]
    # The companion app's documented payloads: iOS critical sound, Android alarm stream.
    assert data["push"] == {
        "interruption-level": "critical",
        "sound": {"name": "default", "critical": 1, "volume": 1.0},
    }
    assert (data["priority"], data["ttl"], data["channel"]) == ("high", 0, "alarm_stream")
    assert CRITICAL_PUSH.items() <= data.items()
    assert data["actions"][0]["title"] == "Accept"


async def test_the_paged_are_told_who_accepted_and_resolved(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    """The notification on the phone is replaced (same tag) by who acted, without buttons; a
    target that only had the incident in a summary-to-be gets nothing."""
    await _storm(hass, send_email, 4)
    assert len(phone) == 3
    for incident_id in ("INC-1", "INC-4"):
        await hass.services.async_call(
            DOMAIN, "accept_incident", {"incident_id": incident_id}, blocking=True
        )
    await hass.async_block_till_done()
    assert phone[3].data == {
        "title": "INC-1 accepted by accept_incident",
        "message": "Host web00 is DOWN",
        "data": {
            "tag": f"{DOMAIN}_INC-1",
            "url": "/email-incidents/INC-1",
            "clickAction": "/email-incidents/INC-1",
        },
    }
    assert len(phone) == 4
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert phone[4].data["title"] == "INC-1 resolved by resolve_incident"
    assert "actions" not in phone[4].data["data"]


@pytest.mark.parametrize("subentries", [_subentries(ack_timeout_minutes=30)])
async def test_accepted_and_forgotten_goes_back_to_pending(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    """With an acknowledgement timeout, an incident accepted and not resolved in time is
    pending again, says so, and escalates again from level 1; also across a restart."""
    unaccepted = async_capture_events(hass, f"{DOMAIN}_incident_unaccepted")
    await _storm(hass, send_email, 2)
    for incident_id in ("INC-1", "INC-2"):
        await hass.services.async_call(
            DOMAIN, "accept_incident", {"incident_id": incident_id}, blocking=True
        )
    await hass.async_block_till_done()
    assert len(phone) == 4  # two levels, two notices
    await _advance(hass, freezer, 29)
    assert unaccepted == []
    await _advance(hass, freezer, 1)
    assert [event.data["incident_id"] for event in unaccepted] == ["INC-1", "INC-2"]
    incident = _runtime(setup_integration).engine.get("INC-1")
    assert incident is not None
    assert (incident.status.value, incident.accepted, incident.accepted_by) == (
        "pending",
        None,
        None,
    )
    # Then level 1 runs again and notifies.
    assert [entry.kind for entry in incident.log[-3:]] == [
        LogKind.UNACCEPTED,
        LogKind.ESCALATED,
        LogKind.NOTIFIED,
    ]
    assert incident.log[-3].message == "not resolved within 30 minutes of being accepted"
    assert [call.data["data"]["tag"] for call in phone[4:]] == [
        f"{DOMAIN}_INC-1",
        f"{DOMAIN}_INC-2",
    ]
    assert "actions" in phone[4].data["data"]

    # Accepted again, then Home Assistant is down when the timeout passes: right after the
    # start the incident is pending again.
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    freezer.tick(timedelta(minutes=45))
    assert await hass.config_entries.async_setup(setup_integration.entry_id)
    await hass.async_block_till_done()
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [event.data["incident_id"] for event in unaccepted] == ["INC-1", "INC-2", "INC-1"]
    incident = _runtime(setup_integration).engine.get("INC-1")
    assert incident is not None
    assert incident.status.value == "pending"
