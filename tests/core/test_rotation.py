"""Who is on call: shifts on the local wall clock, across daylight saving time changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.rotation import (
    OnCallOverride,
    Rotation,
    RotationMember,
    ShiftUnit,
    on_call,
    page_targets,
    rotation_from_data,
    scheduled,
)
from custom_components.email_incidents.core.state import EngineState, state_from_data, state_to_data

BERLIN = ZoneInfo("Europe/Berlin")
ANNA = RotationMember(person="person.anna", name="Anna", targets=("notify.mobile_app_anna",))
BEN = RotationMember(person="person.ben", name="Ben", targets=("notify.mobile_app_ben",))
CARLA = RotationMember(person="person.carla", name="Carla", targets=())


def rotation(
    *,
    length: int = 1,
    unit: ShiftUnit = ShiftUnit.DAYS,
    first: datetime = datetime(2027, 3, 20, 9, 0),
    members: tuple[RotationMember, ...] = (ANNA, BEN),
) -> Rotation:
    return Rotation(
        rotation_id="ops",
        name="Ops",
        members=members,
        shift_length=length,
        shift_unit=unit,
        first_handover=first,
        zone=BERLIN,
    )


def at(text: str) -> datetime:
    """A moment given in Berlin's local time."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def who(rotation: Rotation, moment: datetime) -> str:
    current = scheduled(rotation, moment)
    assert current is not None
    return current.member.name


def test_daily_handover_at_local_time_across_the_spring_change() -> None:
    # 2027-03-28: clocks go from 02:00 CET to 03:00 CEST.
    daily = rotation()
    assert who(daily, at("2027-03-27T08:59")) == "Anna"
    assert who(daily, at("2027-03-27T09:00")) == "Ben"
    assert who(daily, at("2027-03-28T08:59")) == "Ben"
    assert who(daily, at("2027-03-28T09:00")) == "Anna"
    current = scheduled(daily, at("2027-03-27T12:00"))
    assert current is not None
    # The shift across the change is 23 hours long and ends at 09:00 local (07:00 UTC).
    assert current.until == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert current.next_member == ANNA


def test_daily_handover_at_local_time_across_the_autumn_change() -> None:
    # 2027-10-31: clocks go from 03:00 CEST back to 02:00 CET.
    daily = rotation(first=datetime(2027, 10, 1, 9, 0))
    current = scheduled(daily, at("2027-10-30T12:00"))
    assert current is not None
    assert current.until == datetime(2027, 10, 31, 8, 0, tzinfo=UTC)
    assert current.until - at("2027-10-30T09:00") == timedelta(hours=25)


def test_handover_inside_the_repeated_autumn_hour_happens_once() -> None:
    # Hourly shifts starting at :30; 02:30 exists twice on 2027-10-31.
    hourly = rotation(length=1, unit=ShiftUnit.HOURS, first=datetime(2027, 10, 30, 0, 30))
    first_0230 = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST
    moments = [first_0230 + timedelta(minutes=15 * step) for step in range(-8, 12)]
    names = [who(hourly, moment) for moment in moments]
    # Every change of member happens at a handover and the handovers only go forward.
    untils = [scheduled(hourly, moment).until for moment in moments]  # type: ignore[union-attr]
    assert untils == sorted(untils)
    assert all(until > moment for until, moment in zip(untils, moments, strict=True))
    changes = sum(1 for before, after in pairwise(names) if before != after)
    assert changes == len(set(untils)) - 1


def test_weekly_rotation_hands_over_on_monday_morning() -> None:
    weekly = rotation(
        unit=ShiftUnit.WEEKS, first=datetime(2027, 3, 15, 9, 0), members=(ANNA, BEN, CARLA)
    )
    assert who(weekly, at("2027-03-15T09:00")) == "Anna"
    assert who(weekly, at("2027-03-22T08:59")) == "Anna"
    assert who(weekly, at("2027-03-22T09:00")) == "Ben"
    # The week of the change: Monday 2027-03-29 09:00 CEST.
    assert who(weekly, at("2027-03-29T08:59")) == "Ben"
    assert who(weekly, at("2027-03-29T09:00")) == "Carla"
    assert who(weekly, at("2027-04-05T09:00")) == "Anna"


def test_twelve_hour_shifts_stay_at_eight_and_twenty_local() -> None:
    shifts = rotation(length=12, unit=ShiftUnit.HOURS, first=datetime(2027, 3, 26, 8, 0))
    assert who(shifts, at("2027-03-28T07:59")) == "Ben"
    assert who(shifts, at("2027-03-28T08:00")) == "Anna"
    assert who(shifts, at("2027-03-28T20:00")) == "Ben"


def test_before_the_first_handover_the_order_runs_backwards() -> None:
    daily = rotation(members=(ANNA, BEN, CARLA))
    assert who(daily, at("2027-03-19T12:00")) == "Carla"
    assert who(daily, at("2027-03-18T12:00")) == "Ben"


def test_a_time_that_does_not_exist_reads_with_the_offset_before_the_change() -> None:
    night = rotation(first=datetime(2027, 3, 27, 2, 30))
    current = scheduled(night, at("2027-03-27T12:00"))
    assert current is not None
    # 02:30 is skipped on 2027-03-28: the handover comes at 01:30 UTC (03:30 CEST).
    assert current.until == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_an_override_wins_until_it_ends() -> None:
    daily = rotation()
    now = at("2027-03-20T12:00")  # Anna's shift
    override = OnCallOverride(person="person.ben", until=at("2027-03-21T18:00"))
    current = on_call(daily, now, override)
    assert current is not None
    assert (current.member, current.until, current.overridden) == (BEN, override.until, True)
    # At its end, the schedule names Ben (his shift began at 09:00 on the 21st).
    assert current.next_member == BEN
    after = on_call(daily, at("2027-03-21T18:00"), override)
    assert after is not None
    assert (after.member, after.overridden) == (BEN, False)
    assert on_call(daily, at("2027-03-22T10:00"), override).member == ANNA  # type: ignore[union-attr]


def test_an_override_for_someone_no_longer_a_member_is_ignored() -> None:
    daily = rotation()
    override = OnCallOverride(person="person.zoe", until=at("2027-03-21T18:00"))
    current = on_call(daily, at("2027-03-20T12:00"), override)
    assert current is not None
    assert (current.member, current.overridden) == (ANNA, False)


def test_a_rotation_without_members_has_nobody() -> None:
    assert scheduled(rotation(members=()), at("2027-03-20T12:00")) is None


def test_page_targets_resolves_rotations_and_names_each() -> None:
    rotations = {"ops": rotation(), "empty": rotation(members=())}
    paged = page_targets(
        ["notify.family", "rotation:ops", "notify.mobile_app_anna", "rotation:empty", "rotation:x"],
        rotations,
        {},
        at("2027-03-20T12:00"),
    )
    assert paged.targets == ("notify.family", "notify.mobile_app_anna")
    assert paged.through_rotations == (
        "Ops: Anna (notify.mobile_app_anna)",
        "Ops: nobody on call",
        "x: rotation removed",
    )


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2027-03-20T09:00:00", datetime(2027, 3, 20, 9, 0)),
        ("2027-03-20 09:00:00", datetime(2027, 3, 20, 9, 0)),
    ],
)
def test_rotation_from_data(stored: str, expected: datetime) -> None:
    built = rotation_from_data(
        "ops",
        {
            "name": "Ops",
            "members": [{"person": "person.anna", "targets": ["notify.mobile_app_anna"]}],
            "shift_length": 2,
            "shift_unit": "days",
            "first_handover": stored,
        },
        zone=BERLIN,
        person_name=lambda person: person.removeprefix("person.").title(),
    )
    assert built.first_handover == expected
    assert built.members == (ANNA,)
    assert built.shift == timedelta(days=2)


def test_the_engine_forgets_overrides_that_ended_or_lost_their_rotation() -> None:
    engine = IncidentEngine()
    now = at("2027-03-20T12:00")
    engine.configure({}, {}, now, {"ops": rotation(), "home": rotation()})
    engine.set_on_call("ops", "person.ben", now + timedelta(hours=1))
    engine.set_on_call("home", "person.ben", now + timedelta(hours=3))
    assert engine.on_call("ops", now).member == BEN  # type: ignore[union-attr]
    engine.configure({}, {}, now + timedelta(hours=2), {"ops": rotation()})
    assert engine.state.on_call_overrides == {}
    assert engine.on_call("home", now) is None


def test_overrides_are_stored_with_the_state() -> None:
    state = EngineState()
    state.on_call_overrides["ops"] = OnCallOverride(
        person="person.ben", until=datetime(2027, 3, 21, 17, 0, tzinfo=UTC)
    )
    assert state_from_data(state_to_data(state)).on_call_overrides == state.on_call_overrides
