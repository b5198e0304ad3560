"""The pager: at most so many notifications per target per window, the rest summed up when
the window ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.email_incidents.core.paging import Bundling, PageDecision, Pager, Summary

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
BUNDLING = Bundling(per_window=3, window=timedelta(minutes=5))
SENT, BUNDLED = PageDecision.SENT, PageDecision.BUNDLED


def test_a_storm_is_three_notifications_and_one_summary_per_target() -> None:
    pager = Pager()
    decisions = [
        pager.page("notify.phone", f"INC-{n}", "NAS" if n % 2 else "Switches", BUNDLING, T0)
        for n in range(1, 41)
    ]
    assert decisions == [SENT] * 3 + [BUNDLED] * 37
    # Another target has a window of its own.
    assert pager.page("notify.tablet", "INC-1", "Switches", BUNDLING, T0) is SENT
    assert pager.next_due() == T0 + timedelta(minutes=5)
    assert pager.due(T0 + timedelta(minutes=4)) == []
    (summary,) = pager.due(T0 + timedelta(minutes=5))
    assert summary == Summary(
        target="notify.phone",
        incident_ids=tuple(f"INC-{n}" for n in range(4, 41)),
        by_source=(("Switches", 19), ("NAS", 18)),
    )
    assert pager.due(T0 + timedelta(minutes=6)) == []
    assert pager.next_due() is None
    # The next window starts with the next notification.
    assert pager.page("notify.phone", "INC-41", "NAS", BUNDLING, T0 + timedelta(minutes=7)) is SENT


def test_without_bundling_every_notification_goes_out() -> None:
    pager = Pager()
    assert {pager.page("notify.phone", f"INC-{n}", "NAS", None, T0) for n in range(40)} == {SENT}
    assert pager.next_due() is None


def test_held_incidents_accepted_before_the_summary_are_left_out() -> None:
    pager = Pager()
    for n in range(1, 6):
        pager.page("notify.phone", f"INC-{n}", "NAS", BUNDLING, T0)
    # A later level of a held incident stays held.
    assert pager.page("notify.phone", "INC-5", "NAS", BUNDLING, T0) is BUNDLED
    pager.forget("INC-4")
    (summary,) = pager.due(T0 + timedelta(minutes=5))
    assert summary.incident_ids == ("INC-5",)
    for n in range(6, 10):
        pager.page("notify.phone", f"INC-{n}", "NAS", BUNDLING, T0 + timedelta(minutes=6))
    pager.forget("INC-9")
    assert pager.due(T0 + timedelta(minutes=11)) == []


def test_a_window_that_ended_unnoticed_is_still_summarised() -> None:
    """The next page after a window's end starts a new window; the old one's summary is kept
    for `due`."""
    pager = Pager()
    for n in range(1, 5):
        pager.page("notify.phone", f"INC-{n}", "NAS", BUNDLING, T0)
    later = T0 + timedelta(minutes=6)
    assert pager.page("notify.phone", "INC-5", "NAS", BUNDLING, later) is SENT
    assert pager.next_due() == T0 + timedelta(minutes=5)
    pager.forget("INC-99")
    (summary,) = pager.due(later)
    assert summary.incident_ids == ("INC-4",)
