"""Rotations as data and time: who is on call at a moment, until when, and who comes next.

Shifts follow the local wall clock of the rotation's time zone: a daily handover at 09:00 stays
at 09:00 across daylight saving time changes (that day's shift is an hour shorter or longer),
and so do shifts counted in hours (a 12-hour rotation hands over at 08:00 and 20:00 all year).
An override puts a member on call until a moment; the schedule goes on underneath it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final

# A policy level names a rotation among its notify actions as this prefix and the rotation's id.
ROTATION_TARGET_PREFIX: Final = "rotation:"


class ShiftUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


_UNIT_LENGTH: Final = {
    ShiftUnit.HOURS: timedelta(hours=1),
    ShiftUnit.DAYS: timedelta(days=1),
    ShiftUnit.WEEKS: timedelta(weeks=1),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationMember:
    """A person taking turns, and the notify actions that reach them."""

    person: str  # the person entity
    name: str
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rotation:
    """Members in order; the first one's shift starts at `first_handover` (local wall clock,
    naive) and each following shift `shift_length` `shift_unit`s later."""

    rotation_id: str
    name: str
    members: tuple[RotationMember, ...]
    shift_length: int
    shift_unit: ShiftUnit
    first_handover: datetime
    zone: tzinfo

    @property
    def shift(self) -> timedelta:
        return self.shift_length * _UNIT_LENGTH[self.shift_unit]

    def member(self, person: str) -> RotationMember | None:
        return next((member for member in self.members if member.person == person), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class OnCallOverride:
    """A member put on call by hand until a moment."""

    person: str
    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OnCall:
    """Who is on call now, until when, and who takes over then."""

    member: RotationMember
    until: datetime
    next_member: RotationMember
    overridden: bool = False


def _handover(rotation: Rotation, index: int) -> datetime:
    """The moment shift `index` starts, in UTC. A wall-clock time that does not exist (the
    hour skipped in spring) is read with the offset before the change."""
    local = rotation.first_handover + index * rotation.shift
    return local.replace(tzinfo=rotation.zone).astimezone(UTC)


def shift_index(rotation: Rotation, now: datetime) -> int:
    """The number of the shift running at `now` (negative before the first handover)."""
    local = now.astimezone(rotation.zone).replace(tzinfo=None)
    index = (local - rotation.first_handover) // rotation.shift
    # The wall clock repeats an hour in autumn: compare the real moments around the guess.
    while _handover(rotation, index + 1) <= now:
        index += 1
    while _handover(rotation, index) > now:
        index -= 1
    return index


def scheduled(rotation: Rotation, now: datetime) -> OnCall | None:
    """Who the schedule puts on call at `now`; None for a rotation without members."""
    if not rotation.members:
        return None
    index = shift_index(rotation, now)
    count = len(rotation.members)
    return OnCall(
        member=rotation.members[index % count],
        until=_handover(rotation, index + 1),
        next_member=rotation.members[(index + 1) % count],
    )


def on_call(rotation: Rotation, now: datetime, override: OnCallOverride | None) -> OnCall | None:
    """Who is on call at `now`: the override's member while it lasts, else the schedule's."""
    if override is not None and now < override.until:
        member = rotation.member(override.person)
        after = scheduled(rotation, override.until)
        if member is not None and after is not None:
            return OnCall(
                member=member, until=override.until, next_member=after.member, overridden=True
            )
    return scheduled(rotation, now)


@dataclass(frozen=True, slots=True, kw_only=True)
class PagedTargets:
    """A level's targets with its rotations replaced by the notify actions of whoever is on
    call, and how each rotation was resolved (for the incident's timeline)."""

    targets: tuple[str, ...]
    through_rotations: tuple[str, ...]


def page_targets(
    targets: Iterable[str],
    rotations: Mapping[str, Rotation],
    overrides: Mapping[str, OnCallOverride],
    now: datetime,
) -> PagedTargets:
    """Resolve a level's targets at `now`; a notify action named twice is paged once."""
    resolved: dict[str, None] = {}
    through: list[str] = []
    for target in targets:
        if not target.startswith(ROTATION_TARGET_PREFIX):
            resolved[target] = None
            continue
        rotation_id = target.removeprefix(ROTATION_TARGET_PREFIX)
        rotation = rotations.get(rotation_id)
        if rotation is None:
            through.append(f"{rotation_id}: rotation removed")
            continue
        current = on_call(rotation, now, overrides.get(rotation_id))
        if current is None:
            through.append(f"{rotation.name}: nobody on call")
            continue
        resolved.update(dict.fromkeys(current.member.targets))
        actions = ", ".join(current.member.targets) or "no notify action"
        through.append(f"{rotation.name}: {current.member.name} ({actions})")
    return PagedTargets(targets=tuple(resolved), through_rotations=tuple(through))


def rotation_from_data(
    rotation_id: str,
    data: Mapping[str, Any],
    *,
    zone: tzinfo,
    person_name: Callable[[str], str],
) -> Rotation:
    """A rotation from its stored subentry data; members are named by their person now."""
    return Rotation(
        rotation_id=rotation_id,
        name=str(data.get("name") or rotation_id),
        members=tuple(
            RotationMember(
                person=str(member["person"]),
                name=person_name(str(member["person"])),
                targets=tuple(member.get("targets") or ()),
            )
            for member in data.get("members", ())
        ),
        shift_length=int(data.get("shift_length", 1)),
        shift_unit=ShiftUnit(data.get("shift_unit", ShiftUnit.WEEKS)),
        first_handover=datetime.fromisoformat(str(data["first_handover"])).replace(tzinfo=None),
        zone=zone,
    )
