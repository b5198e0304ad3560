"""What an incident keeps of its e-mails, snooze and escalate now, and their stored form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.lifecycle import BODY_CHARS
from custom_components.email_incidents.core.models import (
    Attachment,
    EmailRecord,
    EmailRef,
    InboundEmail,
    IncidentStatus,
    LogKind,
)
from custom_components.email_incidents.core.outcomes import IncidentError, IncidentEventType
from custom_components.email_incidents.core.state import (
    state_from_data,
    state_to_data,
    take_changes,
)

from .test_engine import T0, USER, escalating_engine, mail, source


def test_first_ten_and_last_forty_emails_are_kept() -> None:
    engine = IncidentEngine(sources={"nas": source(creation_mode="when_all_resolved")})
    for number in range(60):
        engine.ingest(mail(subject=f"Disk {number}", body=f"body {number}"), T0)
    [incident] = engine.incidents()
    assert incident.email_count == 60
    assert incident.emails_omitted == 10
    subjects = [email.subject for email in incident.emails]
    assert subjects == [f"Disk {n}" for n in (*range(10), *range(20, 60))]
    assert isinstance(incident.emails[-1], EmailRecord)
    assert incident.emails[-1].body == "body 59"


def test_a_long_body_is_cut_with_a_mark_and_emails_go_to_the_sink() -> None:
    stored: list[EmailRecord] = []

    def store_email(email: EmailRecord) -> EmailRef:
        stored.append(email)
        return EmailRef(1, len(stored), 100)

    engine = IncidentEngine(
        sources={"nas": source(creation_mode="when_all_resolved")}, store_email=store_email
    )
    email = InboundEmail(
        subject="Backup",
        from_address="tool@example.com",
        to=("nas@homeassistant.local",),
        envelope_recipients=("nas@homeassistant.local",),
        message_id="<1@example.com>",
        body="y" * (BODY_CHARS + 10),
        attachments=(Attachment(filename="a.log", content_type="text/plain", size=3),),
    )
    engine.ingest(email, T0)
    engine.ingest(mail(body="short"), T0)
    [incident] = engine.incidents()
    assert incident.emails == [EmailRef(1, 1, 100), EmailRef(1, 2, 100)]
    first, second = stored
    assert first.body_truncated
    assert len(first.body) == BODY_CHARS
    assert first.body.endswith("[… truncated]")
    assert (first.message_id, first.to, first.attachments, first.received) == (
        "<1@example.com>",
        ("nas@homeassistant.local",),
        email.attachments,
        T0,
    )
    assert (second.body, second.body_truncated) == ("short", False)


def test_snooze_holds_the_next_level_then_it_runs() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    [level_1] = engine.run_due(T0)
    assert level_1.level == 1
    [incident] = engine.incidents()
    [snoozed] = engine.snooze(incident.id, timedelta(hours=1), USER, T0)
    assert (snoozed.type, snoozed.actor) == (IncidentEventType.SNOOZED, USER)
    assert incident.escalation is not None
    assert incident.escalation.snoozed_until == T0 + timedelta(hours=1)
    assert incident.log[-1].message == "snoozed for 1 hour"
    # Level 2 was due after 10 minutes; it waits for the snooze to end.
    assert engine.next_deadline() == T0 + timedelta(hours=1)
    assert engine.run_due(T0 + timedelta(minutes=30)) == ()
    [level_2] = engine.run_due(T0 + timedelta(hours=1))
    assert level_2.level == 2
    assert incident.escalation is not None
    assert incident.escalation.snoozed_until is None
    # A snooze shorter than the wait changes nothing.
    engine.snooze(incident.id, timedelta(seconds=1), USER, T0 + timedelta(hours=1))
    assert engine.next_deadline() == T0 + timedelta(hours=1, minutes=1)


def test_escalate_now_runs_the_next_level_and_starts_over_after_the_last() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    [incident] = engine.incidents()
    engine.snooze(incident.id, timedelta(hours=1), USER, T0)
    [now_1] = engine.escalate_now(incident.id, USER, T0)
    assert (now_1.type, now_1.level, now_1.actor) == (IncidentEventType.ESCALATED, 1, USER)
    assert incident.escalation_level == 1
    assert incident.log[-1].actor == USER
    engine.escalate_now(incident.id, USER, T0)
    engine.escalate_now(incident.id, USER, T0)  # round 2, level 1
    [last] = engine.escalate_now(incident.id, USER, T0)
    assert (last.level, last.round) == (2, 1)
    assert incident.escalation is None
    [again] = engine.escalate_now(incident.id, USER, T0)
    assert (again.level, again.round) == (1, 0)


def test_snooze_and_escalate_refusals() -> None:
    engine = escalating_engine()
    plain = IncidentEngine(sources={"nas": source()})
    for current in (engine, plain):
        current.ingest(mail(), T0)
    with pytest.raises(IncidentError) as refused:
        plain.snooze("INC-1", timedelta(hours=1), USER, T0)
    assert refused.value.reason == "not_escalating"
    with pytest.raises(IncidentError) as refused:
        plain.escalate_now("INC-1", USER, T0)
    assert refused.value.reason == "no_escalation_policy"
    engine.accept("INC-1", USER, T0)
    for action in (
        lambda: engine.snooze("INC-1", timedelta(hours=1), USER, T0),
        lambda: engine.escalate_now("INC-1", USER, T0),
    ):
        with pytest.raises(IncidentError) as refused:
            action()
        assert refused.value.reason == "already_accepted"
    with pytest.raises(IncidentError) as refused:
        engine.escalate_now("INC-9", USER, T0)
    assert refused.value.reason == "unknown_incident"


def test_snooze_survives_support_hours_and_a_restart() -> None:
    engine = escalating_engine(priority="low", support_hours_entity="schedule.office")
    engine.ingest(mail(), T0)
    engine.snooze("INC-1", timedelta(hours=2), USER, T0)
    engine.set_support_hours("nas", False, T0)
    engine.set_support_hours("nas", True, T0 + timedelta(hours=1))
    assert engine.next_deadline() == T0 + timedelta(hours=2)
    restored = state_from_data(state_to_data(engine.state))
    assert restored.incidents["INC-1"] == engine.state.incidents["INC-1"]


def test_emails_survive_the_stored_form() -> None:
    engine = IncidentEngine(sources={"nas": source()}, store_email=lambda _: EmailRef(3, 10, 99))
    email = InboundEmail(
        subject="Backup",
        from_address="tool@example.com",
        to=("nas@homeassistant.local",),
        envelope_recipients=("nas@homeassistant.local",),
        body="text",
        attachments=(Attachment(filename="a.log", content_type="text/plain", size=3),),
    )
    engine.ingest(email, T0)
    inline = IncidentEngine(sources={"nas": source()})
    inline.ingest(email, T0)
    for current in (engine, inline):
        restored = state_from_data(state_to_data(current.state))
        assert restored.incidents == current.state.incidents


def _version_1(incident: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "next_number": 3, "incidents": [incident]}


def test_version_1_details_become_the_first_email_and_are_written_again() -> None:
    by_email = {
        "id": "INC-1",
        "source": "nas",
        "status": "pending",
        "summary": "Disk failure",
        "details": "Volume 1 is degraded.",
        "from": "nas@example.com",
        "priority": "high",
        "created": T0.isoformat(),
        "emails": 3,
    }
    by_action = {**by_email, "id": "INC-2", "from": "", "emails": 0}
    state = state_from_data(
        {"version": 1, "next_number": 3, "incidents": [dict(by_email), dict(by_action)]}
    )
    migrated = state.incidents["INC-1"]
    [first] = migrated.emails
    assert (first.received, first.from_address, first.subject, first.body) == (
        T0,
        "nas@example.com",
        "Disk failure",
        "Volume 1 is degraded.",
    )
    assert migrated.emails_omitted == 2
    assert state.incidents["INC-2"].emails == []
    # The next write carries every incident in its new form.
    assert set(take_changes(state).incidents) == {"INC-1", "INC-2"}


def test_maintenance_is_in_the_timeline() -> None:
    engine = escalating_engine()
    engine.ingest(mail(), T0)
    engine.snooze("INC-1", timedelta(hours=1), USER, T0)
    engine.set_maintenance("nas", True, T0)
    engine.set_maintenance("nas", False, T0 + timedelta(minutes=5))
    [incident] = engine.incidents()
    assert incident.status is IncidentStatus.PENDING
    assert [entry.message for entry in incident.log if entry.kind is LogKind.MAINTENANCE] == [
        "escalation paused: maintenance",
        "escalation resumed: maintenance over",
    ]
    # The snooze still holds after the maintenance.
    assert engine.next_deadline() == T0 + timedelta(hours=1)
