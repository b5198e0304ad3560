"""Escalation end to end: real e-mails over SMTP open incidents, levels notify on time."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import (
    Actor,
    ActorKind,
    Incident,
    IncidentStatus,
    LogKind,
)
from custom_components.email_incidents.escalation import EVENT_MOBILE_APP_NOTIFICATION_ACTION
from custom_components.email_incidents.runtime import EmailIncidentsRuntime

from .conftest import FailingDisk, policy_subentry, source_subentry
from .entity_helpers import SendEmail, deliver

pytestmark = pytest.mark.freeze_time("2026-11-23T08:00:00+00:00")  # a Monday

PHONE = "notify.mobile_app_phone"
TABLET = "notify.mobile_app_tablet"
TWO_LEVELS = (
    {"delay_minutes": 10, "targets": [PHONE]},
    {"delay_minutes": 5, "targets": [PHONE, TABLET]},
)
# Keys from "PROBLEM db1 is down" / "RECOVERY db1 is up", as Nagios words it.
KEYED_SOURCE: dict[str, Any] = {
    "escalation_policy": "policy_oncall",
    "creation_mode": "incident_keys",
    "key_rules": [{"field": "subject", "method": "regex", "pattern": r"^\w+ (?P<key>\S+)"}],
    "resolve_conditions": [{"field": "subject", "operator": "starts_with", "value": "RECOVERY"}],
}
PROBLEM = "PROBLEM db1 is down"
HIGH_PRIORITY_PUSH = {
    "push": {"interruption-level": "time-sensitive"},
    "priority": "high",
    "ttl": 0,
}


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    # Notifications cleared on accept or resolve (a policy's choice; replacing them by a notice
    # is tested in test_paging.py).
    return [
        source_subentry(**KEYED_SOURCE),
        policy_subentry(levels=TWO_LEVELS, repeat=1, done_notice="clear"),
    ]


@pytest.fixture
def phone(hass: HomeAssistant) -> list[ServiceCall]:
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "mobile_app_phone")
    return calls


@pytest.fixture
def tablet(hass: HomeAssistant) -> list[ServiceCall]:
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "mobile_app_tablet")
    return calls


async def _run_due(hass: HomeAssistant) -> None:
    # Twice: what runs at this moment (a schedule turning on) can make a level due right now.
    for _ in range(2):
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    freezer.tick(timedelta(minutes=minutes))
    await _run_due(hass)


async def _advance_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: str) -> None:
    freezer.move_to(moment)
    await _run_due(hass)


async def _deliver(hass: HomeAssistant, send_email: SendEmail, **email: Any) -> None:
    """An e-mail over SMTP, then whatever became due with it (level 1 runs at once)."""
    await deliver(hass, send_email, **email)
    await _run_due(hass)


def _incident(entry: MockConfigEntry, incident_id: str = "INC-1") -> Incident:
    runtime: EmailIncidentsRuntime = entry.runtime_data
    incident = runtime.engine.get(incident_id)
    assert incident is not None
    return incident


def _notification(
    message: str, incident_id: str = "INC-1", *, push: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "title": f"[NAS] {PROBLEM}",
        "message": message,
        "data": {
            "tag": f"email_incidents_{incident_id}",
            "actions": [
                {"action": f"EMAIL_INCIDENTS_ACCEPT_{incident_id}", "title": "Accept"},
                {"action": f"EMAIL_INCIDENTS_RESOLVE_{incident_id}", "title": "Resolve"},
            ],
            "url": f"/email-incidents/{incident_id}",
            "clickAction": f"/email-incidents/{incident_id}",
            **(HIGH_PRIORITY_PUSH if push is None else push),
        },
    }


def _levels(calls: list[ServiceCall]) -> list[str]:
    """The last line of each notification: which level and round it was."""
    return [call.data["message"].rsplit("\n", 1)[-1] for call in calls]


CLEAR = {"message": "clear_notification", "data": {"tag": "email_incidents_INC-1"}}


@pytest.mark.usefixtures("setup_integration")
async def test_notifications_speak_the_language_of_home_assistant(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    hass.config.language = "de"
    await _deliver(hass, send_email, subject=PROBLEM)
    await _advance(hass, freezer, 10)
    assert [call.data["message"] for call in phone] == [
        f"{PROBLEM}\nQuelle: NAS, Priorität Hoch\nSchlüssel: db1\n"
        "Offen seit weniger als einer Minute, 1 E-Mail\nEskalationsstufe 1",
        f"{PROBLEM}\nQuelle: NAS, Priorität Hoch\nSchlüssel: db1\n"
        "Offen seit 10 Minuten, 1 E-Mail\nEskalationsstufe 2",
    ]
    assert [action["title"] for action in phone[0].data["data"]["actions"]] == [
        "Annehmen",
        "Beheben",
    ]


@pytest.mark.usefixtures("setup_integration")
async def test_levels_and_rounds_run_on_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    send_email: SendEmail,
    phone: list[ServiceCall],
    tablet: list[ServiceCall],
) -> None:
    await _deliver(hass, send_email, subject=PROBLEM)
    assert [call.data for call in phone] == [
        _notification(
            f"{PROBLEM}\nSource: NAS, priority High\nKey: db1\n"
            "Open for less than a minute, 1 e-mail\nEscalation level 1"
        )
    ]
    assert tablet == []

    await _advance(hass, freezer, 4)
    await _deliver(hass, send_email, subject=PROBLEM)
    await _advance(hass, freezer, 0.9)
    assert (len(phone), tablet) == (1, [])
    await _advance(hass, freezer, 0.1)
    level_2 = _notification(
        f"{PROBLEM}\nSource: NAS, priority High\nKey: db1\n"
        "Open for 5 minutes, 2 e-mails\nEscalation level 2"
    )
    assert [call.data for call in phone[1:]] == [level_2]
    assert [call.data for call in tablet] == [level_2]

    # The next round starts level 1's delay after the last level, then the policy is done.
    await _advance(hass, freezer, 9)
    assert len(phone) == 2
    await _advance(hass, freezer, 1)
    await _advance(hass, freezer, 5)
    await _advance(hass, freezer, 60)
    assert _levels(phone) == [
        "Escalation level 1",
        "Escalation level 2",
        "Escalation level 1, round 2",
        "Escalation level 2, round 2",
    ]
    assert _levels(tablet) == ["Escalation level 2", "Escalation level 2, round 2"]
    assert phone[2].data["message"].splitlines()[3] == "Open for 15 minutes, 2 e-mails"


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("stop", "status", "actor"),
    [
        (
            {"action": "accept_incident", "data": {"incident_id": "INC-1"}},
            IncidentStatus.ACCEPTED,
            Actor(kind=ActorKind.ACTION, name="accept_incident"),
        ),
        (
            {"action": "resolve_incident", "data": {"incident_id": "INC-1"}},
            IncidentStatus.RESOLVED,
            Actor(kind=ActorKind.ACTION, name="resolve_incident"),
        ),
        (
            {"email": "RECOVERY db1 is up"},
            IncidentStatus.RESOLVED,
            Actor(kind=ActorKind.EMAIL_RULE, name="nas@example.com"),
        ),
    ],
    ids=["accept_action", "resolve_action", "resolve_rule_email"],
)
async def test_accepting_or_resolving_stops_escalation_and_clears_notifications(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    tablet: list[ServiceCall],
    stop: dict[str, Any],
    status: IncidentStatus,
    actor: Actor,
) -> None:
    await _deliver(hass, send_email, subject=PROBLEM)
    await _advance(hass, freezer, 5)
    assert (len(phone), len(tablet)) == (2, 1)

    if "email" in stop:
        await _deliver(hass, send_email, subject=stop["email"])
    else:
        await hass.services.async_call(DOMAIN, stop["action"], stop["data"], blocking=True)
        await hass.async_block_till_done()
    incident = _incident(config_entry)
    assert (incident.status, incident.escalation) == (status, None)
    assert actor in (incident.accepted_by, incident.resolved_by)
    assert [call.data for call in phone[2:]] == [CLEAR]
    assert [call.data for call in tablet[1:]] == [CLEAR]

    await _advance(hass, freezer, 120)
    assert (len(phone), len(tablet)) == (3, 2)


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "subentries",
    [
        [
            source_subentry(**KEYED_SOURCE),
            policy_subentry(
                levels=(
                    {"delay_minutes": 0, "targets": ["notify.broken", "notify.missing", PHONE]},
                ),
                done_notice="clear",
            ),
        ]
    ],
)
async def test_each_target_is_recorded_and_a_failing_one_does_not_stop_the_others(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    broken = async_mock_service(
        hass, "notify", "broken", raise_exception=HomeAssistantError("push service unreachable")
    )
    await _deliver(hass, send_email, subject=PROBLEM)

    assert len(broken) == 1
    assert len(phone) == 1
    notifications = [
        (entry.kind, entry.message)
        for entry in _incident(config_entry).log
        if entry.kind in (LogKind.NOTIFIED, LogKind.NOTIFY_FAILED)
    ]
    assert notifications == [
        (LogKind.NOTIFY_FAILED, "notify.broken: push service unreachable"),
        (LogKind.NOTIFY_FAILED, "notify.missing: action not found"),
        (LogKind.NOTIFIED, f"{PHONE}: level 1"),
    ]

    # Only the target that got the notification is asked to clear it.
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert [call.data for call in phone[1:]] == [CLEAR]
    assert len(broken) == 1

    # Accepting cleared them; resolving later has nothing left to clear.
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert len(phone) == 2


async def _maintenance(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(
        "switch", service, {"entity_id": "switch.nas_maintenance"}, blocking=True
    )
    await _run_due(hass)


def _summaries(entry: MockConfigEntry) -> list[tuple[str, IncidentStatus]]:
    return [(i.summary, i.status) for i in entry.runtime_data.engine.incidents()]


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "subentries",
    [
        [
            source_subentry(**KEYED_SOURCE, expected_interval_minutes=120),
            policy_subentry(levels=TWO_LEVELS, done_notice="clear"),
        ]
    ],
)
async def test_maintenance_opens_nothing_and_pauses_but_lets_open_incidents_move(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    tablet: list[ServiceCall],
) -> None:
    """SPEC 4.1: in maintenance no incident opens and nothing notifies; e-mails to open
    incidents append, a recovery resolves; escalation pauses at its level and goes on from
    it when maintenance ends; no heartbeat incident opens and its timer restarts."""
    created = async_capture_events(hass, f"{DOMAIN}_incident_created")
    await _deliver(hass, send_email, subject=PROBLEM)
    await _deliver(hass, send_email, subject="PROBLEM web1 is down")
    assert _levels(phone) == ["Escalation level 1", "Escalation level 1"]
    await _advance(hass, freezer, 2)  # level 2 is due 3 minutes later

    await _maintenance(hass, "turn_on")
    await _deliver(hass, send_email, subject="RECOVERY db1 is up")
    await _deliver(hass, send_email, subject="PROBLEM web1 is still down")
    await _deliver(hass, send_email, subject="PROBLEM mail1 is down")
    runtime: EmailIncidentsRuntime = config_entry.runtime_data
    assert [
        outcome.outcome.value for recent in list(runtime.recent)[-3:] for outcome in recent.outcomes
    ] == [
        "resolved",
        "appended",
        "maintenance",
    ]
    assert _summaries(config_entry) == [
        ("PROBLEM web1 is down", IncidentStatus.PENDING),
        (PROBLEM, IncidentStatus.RESOLVED),
    ]
    assert _incident(config_entry, "INC-2").email_count == 2
    # Three hours pass: no level, no heartbeat incident.
    await _advance(hass, freezer, 180)
    assert _levels(phone) == ["Escalation level 1", "Escalation level 1", "clear_notification"]
    assert tablet == []
    assert len(created) == 2
    assert len(_summaries(config_entry)) == 2

    # Maintenance ends: web1 goes on at level 2 (not level 1 again), and the heartbeat counts
    # its two hours from now.
    await _maintenance(hass, "turn_off")
    assert _levels(tablet) == ["Escalation level 2"]
    assert _levels(phone)[3:] == ["Escalation level 2"]
    await _advance(hass, freezer, 119)
    assert len(created) == 2
    await _advance(hass, freezer, 1)
    assert [event.data["summary"] for event in created[2:]] == ["No e-mail from NAS for 2 hours"]


@pytest.mark.usefixtures("setup_integration", "tablet")
@pytest.mark.parametrize(
    "subentries",
    [
        [
            source_subentry(
                **KEYED_SOURCE, priority="low", support_hours_entity="schedule.support_hours"
            ),
            policy_subentry(levels=TWO_LEVELS, repeat=3, done_notice="clear"),
        ]
    ],
)
@pytest.mark.parametrize("expected_lingering_timers", [True])  # the schedule's next change
async def test_low_priority_escalates_only_inside_support_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    await hass.config.async_set_time_zone("UTC")
    hours = [{"from": "09:00:00", "to": "09:07:00"}]
    assert await async_setup_component(
        hass,
        "schedule",
        {"schedule": {"support_hours": {"name": "Support hours", "monday": hours}}},
    )
    await hass.async_block_till_done()
    assert hass.states.get("schedule.support_hours").state == "off"  # type: ignore[union-attr]

    await _deliver(hass, send_email, subject=PROBLEM)
    await _advance(hass, freezer, 59)
    assert phone == []

    # Support hours begin at 09:00: level 1 runs at once, without the high-priority push.
    await _advance(hass, freezer, 1)
    assert [call.data for call in phone] == [
        _notification(
            f"{PROBLEM}\nSource: NAS, priority Low\nKey: db1\n"
            "Open for 1 hour, 1 e-mail\nEscalation level 1",
            push={},
        )
    ]
    await _advance(hass, freezer, 5)
    assert _levels(phone) == ["Escalation level 1", "Escalation level 2"]

    # At 09:07, before the next round, escalation pauses until the next support hours, where it
    # starts over at level 1.
    await _advance_to(hass, freezer, "2026-11-23T09:07:00+00:00")
    assert hass.states.get("schedule.support_hours").state == "off"  # type: ignore[union-attr]
    for _ in range(6):
        await _advance(hass, freezer, 60 * 24)
    assert len(phone) == 2
    await _advance_to(hass, freezer, "2026-11-30T09:00:00+00:00")
    assert _levels(phone)[2:] == ["Escalation level 1"]


@pytest.mark.usefixtures("setup_integration", "tablet")
@pytest.mark.parametrize(
    ("action", "user", "status", "actor_name"),
    [
        ("EMAIL_INCIDENTS_ACCEPT_INC-1", True, IncidentStatus.ACCEPTED, "Mock User"),
        ("EMAIL_INCIDENTS_RESOLVE_INC-1", False, IncidentStatus.RESOLVED, "mobile app"),
    ],
)
async def test_mobile_app_buttons_act_on_the_incident(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    hass_admin_user: MockUser,
    action: str,
    user: bool,
    status: IncidentStatus,
    actor_name: str,
) -> None:
    await _deliver(hass, send_email, subject=PROBLEM)
    await _deliver(hass, send_email, subject="PROBLEM web1 is down")
    context = Context(user_id=hass_admin_user.id if user else None)
    hass.bus.async_fire(EVENT_MOBILE_APP_NOTIFICATION_ACTION, {"action": action}, context=context)
    await hass.async_block_till_done()

    incident = _incident(config_entry)
    assert incident.status is status
    assert Actor(kind=ActorKind.NOTIFICATION, name=actor_name) in (
        incident.accepted_by,
        incident.resolved_by,
    )
    assert _incident(config_entry, "INC-2").status is IncidentStatus.PENDING
    assert [call.data for call in phone[2:]] == [CLEAR]
    await _advance(hass, freezer, 60)
    assert _levels(phone[3:]) == ["Escalation level 2"]  # INC-2 only
    assert phone[3].data["data"]["tag"] == "email_incidents_INC-2"


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("action", "logged"),
    [
        (
            "EMAIL_INCIDENTS_ACCEPT_INC-99",
            ["Ignored EMAIL_INCIDENTS_ACCEPT_INC-99 from the mobile app: unknown_incident"],
        ),
        (
            "EMAIL_INCIDENTS_RESOLVE_INC-1",
            ["Ignored EMAIL_INCIDENTS_RESOLVE_INC-1 from the mobile app: already_resolved"],
        ),
        ("EMAIL_INCIDENTS_SNOOZE_INC-1", []),  # a button this version does not know
    ],
)
async def test_mobile_app_buttons_for_unknown_or_closed_incidents_are_ignored(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    integration_log: list[logging.LogRecord],
    action: str,
    logged: list[str],
) -> None:
    await _deliver(hass, send_email, subject=PROBLEM)
    await _deliver(hass, send_email, subject="RECOVERY db1 is up")
    log_before = list(_incident(config_entry).log)
    integration_log.clear()

    hass.bus.async_fire(EVENT_MOBILE_APP_NOTIFICATION_ACTION, {"action": action})
    hass.bus.async_fire(EVENT_MOBILE_APP_NOTIFICATION_ACTION, {"action": "OTHER_INTEGRATION"})
    await hass.async_block_till_done()

    assert _incident(config_entry).log == log_before
    assert [record.getMessage() for record in integration_log] == logged


async def test_pending_escalation_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
    tablet: list[ServiceCall],
) -> None:
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await _deliver(hass, send_email, subject=PROBLEM)
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    # Down for half an hour: levels 2 and the whole second round were missed.
    await _advance(hass, freezer, 30)
    assert (len(phone), tablet) == (1, [])
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await _advance(hass, freezer, 0)
    assert _levels(phone) == ["Escalation level 1", "Escalation level 2"]
    assert _levels(tablet) == ["Escalation level 2"]

    await _advance(hass, freezer, 9)
    assert len(phone) == 2
    await _advance(hass, freezer, 1)
    assert _levels(phone)[2:] == ["Escalation level 1, round 2"]
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def test_notifications_from_before_a_restart_are_cleared(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    phone: list[ServiceCall],
) -> None:
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await _deliver(hass, send_email, subject=PROBLEM)
    assert await hass.config_entries.async_reload(config_entry.entry_id)

    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.async_block_till_done()
    assert [call.data for call in phone[1:]] == [CLEAR]
    assert await hass.config_entries.async_unload(config_entry.entry_id)


@pytest.mark.usefixtures("setup_integration", "tablet")
async def test_a_failed_write_keeps_the_incident_as_stored(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: SendEmail,
    failing_disk: FailingDisk,
) -> None:
    """The disk fills up while the phone is notified: the notification went out, its log entry
    and a button press are not stored (and so not announced); pressed again later, it counts."""
    notified: list[ServiceCall] = []

    async def _notify_and_break_the_disk(call: ServiceCall) -> None:
        notified.append(call)
        failing_disk.failing = True

    hass.services.async_register("notify", "mobile_app_phone", _notify_and_break_the_disk)
    await _deliver(hass, send_email, subject=PROBLEM)
    assert len(notified) == 1
    assert [entry.kind for entry in _incident(config_entry).log] == [
        LogKind.CREATED,
        LogKind.ESCALATED,
    ]

    accept = {"action": "EMAIL_INCIDENTS_ACCEPT_INC-1"}
    hass.bus.async_fire(EVENT_MOBILE_APP_NOTIFICATION_ACTION, accept)
    await hass.async_block_till_done()
    assert _incident(config_entry).status is IncidentStatus.PENDING

    failing_disk.failing = False
    hass.bus.async_fire(EVENT_MOBILE_APP_NOTIFICATION_ACTION, accept)
    await hass.async_block_till_done()
    assert _incident(config_entry).accepted_by == Actor(
        kind=ActorKind.NOTIFICATION, name="mobile app"
    )


@pytest.mark.usefixtures("setup_integration")
async def test_a_level_that_cannot_be_stored_is_retried_later(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    send_email: SendEmail,
    phone: list[ServiceCall],
    failing_disk: FailingDisk,
) -> None:
    """Level 1 is due while the disk fails: nothing is announced, and the level is tried again
    30 seconds later, not in a tight loop."""
    await _deliver(hass, send_email, subject=PROBLEM)
    assert _levels(phone) == ["Escalation level 1"]
    failing_disk.failing = True
    await _advance(hass, freezer, 10)
    assert _levels(phone) == ["Escalation level 1"]
    failing_disk.failing = False
    await _advance(hass, freezer, 0.4)  # the disk is back, but the retry waits its 30 seconds
    assert _levels(phone) == ["Escalation level 1"]
    await _advance(hass, freezer, 0.1)
    assert _levels(phone) == ["Escalation level 1", "Escalation level 2"]
