"""The rule tester's text: the recent e-mails replayed with the rules being edited, one line per
e-mail in the order they arrived, in the language Home Assistant is set to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.util import dt as dt_util

from .core.config import CreationMode, SourceConfig
from .core.outcomes import Outcome
from .core.replay import ReplayStep, replay
from .core.text import clean_line
from .flow_helpers import code, markdown_text
from .texts import Texts

if TYPE_CHECKING:
    from .runtime import EmailIncidentsRuntime

TESTED_SUBJECT_CHARS: Final = 100


def rule_test_results(entry: ConfigEntry, source: SourceConfig, texts: Texts) -> str:
    """What `source`, with its rules as given, would have done to the recent e-mails."""
    if entry.state is not ConfigEntryState.LOADED:
        return texts("tester", "not_running")
    runtime: EmailIncidentsRuntime = entry.runtime_data
    recent = [(r.received, r.email) for r in runtime.recent if r.refusal is None]
    # On the loop: the replay copies the live state. Every search in it is time-limited.
    steps = replay(runtime.engine, source, recent)
    if not steps:
        return texts("tester", "no_emails")
    return "\n".join(_line(texts, source, step) for step in steps)


def _line(texts: Texts, source: SourceConfig, step: ReplayStep) -> str:
    subject = clean_line(step.email.subject, TESTED_SUBJECT_CHARS)
    return texts(
        "tester",
        "line",
        time=dt_util.as_local(step.received).strftime("%Y-%m-%d %H:%M"),
        subject=markdown_text(subject) if subject else texts("tester", "no_subject"),
        outcome=outcome_text(texts, source, step),
    )


def outcome_text(texts: Texts, source: SourceConfig, step: ReplayStep) -> str:
    """What one e-mail did, as one phrase: "opens A (key `web01/HTTP`)", "resolves INC-4"."""
    outcome = step.outcome.outcome
    key = code(step.outcome.key or "")
    incidents = ", ".join(step.incidents)
    match outcome:
        case Outcome.CREATED if step.outcome.key:
            return texts("tester_outcome", "created_with_key", incident=incidents, key=key)
        case Outcome.CREATED if source.creation_mode is CreationMode.INCIDENT_KEYS:
            return texts("tester_outcome", "created_without_key", incident=incidents)
        case Outcome.FILTERED if step.filter_rule is not None:
            return texts("tester_outcome", "filtered_by_rule", number=step.filter_rule)
        case Outcome.ORPHAN_RESOLVE | Outcome.ORPHAN_ACCEPT if not step.outcome.key:
            return texts("tester_outcome", f"{outcome.value}_without_key")
    return texts("tester_outcome", outcome.value, incident=incidents, key=key)
