"""Escalation scheduling as data: first_due and advance, without an engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.email_incidents.core.escalation import (
    MIN_ROUND_GAP,
    EscalationStep,
    advance,
    first_due,
)
from custom_components.email_incidents.core.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationState,
)

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def policy(*delays_minutes: int, repeat: int = 0) -> EscalationPolicy:
    return EscalationPolicy(
        policy_id="oncall",
        name="On call",
        levels=tuple(
            EscalationLevel(delay=timedelta(minutes=delay), targets=(f"notify.level{number}",))
            for number, delay in enumerate(delays_minutes, start=1)
        ),
        repeat=repeat,
    )


def test_first_due_runs_level_one_at_once_or_waits_for_support_hours() -> None:
    assert first_due(policy(30, 10), T0, active=True) == EscalationState(
        policy_id="oncall", next_level=0, round=0, due=T0
    )
    assert first_due(policy(30, 10), T0, active=False) == EscalationState(
        policy_id="oncall", next_level=0, round=0, due=None
    )
    assert first_due(policy(), T0, active=True) is None


def run_all(escalation: EscalationPolicy) -> list[tuple[int, int, timedelta]]:
    """(level, round, offset from T0) of every step when each runs exactly when due."""
    steps: list[tuple[int, int, timedelta]] = []
    state = first_due(escalation, T0, active=True)
    while state is not None:
        assert state.due is not None
        now = state.due
        step, state = advance(escalation, state, now)
        assert step is not None
        steps.append((step.level, step.round, now - T0))
    return steps


def test_levels_follow_their_delays_and_rounds_repeat() -> None:
    # Level 1's delay (5) is the gap before each new round, not a wait at the start.
    assert run_all(policy(5, 10, 20, repeat=1)) == [
        (1, 0, timedelta(0)),
        (2, 0, timedelta(minutes=10)),
        (3, 0, timedelta(minutes=30)),
        (1, 1, timedelta(minutes=35)),
        (2, 1, timedelta(minutes=45)),
        (3, 1, timedelta(minutes=65)),
    ]


def test_rounds_are_at_least_a_minute_apart() -> None:
    assert run_all(policy(0, repeat=2)) == [
        (1, 0, timedelta(0)),
        (1, 1, MIN_ROUND_GAP),
        (1, 2, 2 * MIN_ROUND_GAP),
    ]


def test_an_overdue_level_runs_once_and_the_next_counts_from_now() -> None:
    escalation = policy(0, 10, 10)
    late = T0 + timedelta(hours=3)
    state = EscalationState(policy_id="oncall", next_level=1, due=T0 + timedelta(minutes=10))
    step, following = advance(escalation, state, late)
    assert step == EscalationStep(level=2, targets=("notify.level2",), round=0)
    assert following == EscalationState(
        policy_id="oncall", next_level=2, round=0, due=late + timedelta(minutes=10)
    )
    # The input is data: advancing never changes it.
    assert state == EscalationState(
        policy_id="oncall", next_level=1, due=T0 + timedelta(minutes=10)
    )


def test_a_level_the_policy_no_longer_has_ends_the_escalation() -> None:
    shrunk = policy(0)
    assert advance(shrunk, EscalationState(policy_id="oncall", next_level=3, due=T0), T0) == (
        None,
        None,
    )
