"""Escalation scheduling as data: which level runs next, and when.

Level 1 runs as soon as an incident opens; level k+1 runs its own delay after level k; after the
last level a new round starts level 1's delay later (at least a minute), `repeat` more times.
A level that became due while Home Assistant was down runs once; the next one is scheduled from
then, so missed levels never burst out together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import EscalationPolicy, EscalationState

MIN_ROUND_GAP = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationStep:
    """A level that runs now."""

    level: int  # 1-based, as users count
    targets: tuple[str, ...]
    round: int


def first_due(policy: EscalationPolicy, now: datetime, *, active: bool) -> EscalationState | None:
    """The schedule of a newly opened incident (paused, due None, outside support hours)."""
    if not policy.levels:
        return None
    return EscalationState(policy_id=policy.policy_id, due=now if active else None)


def advance(
    policy: EscalationPolicy, state: EscalationState, now: datetime
) -> tuple[EscalationStep | None, EscalationState | None]:
    """Run the due level: the step to perform and the schedule after it (None when done)."""
    if state.next_level >= len(policy.levels):
        return None, None
    level = policy.levels[state.next_level]
    step = EscalationStep(level=state.next_level + 1, targets=level.targets, round=state.round)
    following = state.next_level + 1
    if following < len(policy.levels):
        return step, EscalationState(
            policy_id=state.policy_id,
            next_level=following,
            round=state.round,
            due=now + policy.levels[following].delay,
        )
    if state.round < policy.repeat:
        return step, EscalationState(
            policy_id=state.policy_id,
            next_level=0,
            round=state.round + 1,
            due=now + max(policy.levels[0].delay, MIN_ROUND_GAP),
        )
    return step, None
