"""The pure core of Email Incidents: parsing, rules, the incident engine and its state.

Nothing here imports Home Assistant; time comes in as arguments, so everything is plain,
fast and deterministic to test.
"""

from .book import EngineLimits
from .config import (
    CreationMode,
    SourceConfig,
    normalise_source_address,
    policy_from_data,
    source_from_data,
)
from .engine import IncidentEngine
from .escalation import EscalationStep, advance, first_due
from .outcomes import (
    IncidentError,
    IncidentEvent,
    IncidentEventType,
    IngestResult,
    Outcome,
    SourceOutcome,
)
from .rules import (
    KEY_MAX_LENGTH,
    MATCH_TEXT_LIMIT,
    Condition,
    ConditionSet,
    KeyMethod,
    KeyRule,
    MatchMode,
    NoKeyFallback,
    Operator,
    RuleError,
    compile_pattern,
    field_text,
    normalise_subject,
    validate_field,
)
from .state import (
    SCHEMA_VERSION,
    EngineState,
    StateChanges,
    StateError,
    state_from_data,
    state_to_data,
    take_changes,
)

__all__ = [
    "KEY_MAX_LENGTH",
    "MATCH_TEXT_LIMIT",
    "SCHEMA_VERSION",
    "Condition",
    "ConditionSet",
    "CreationMode",
    "EngineLimits",
    "EngineState",
    "EscalationStep",
    "IncidentEngine",
    "IncidentError",
    "IncidentEvent",
    "IncidentEventType",
    "IngestResult",
    "KeyMethod",
    "KeyRule",
    "MatchMode",
    "NoKeyFallback",
    "Operator",
    "Outcome",
    "RuleError",
    "SourceConfig",
    "SourceOutcome",
    "StateChanges",
    "StateError",
    "advance",
    "compile_pattern",
    "field_text",
    "first_due",
    "normalise_source_address",
    "normalise_subject",
    "policy_from_data",
    "source_from_data",
    "state_from_data",
    "state_to_data",
    "take_changes",
    "validate_field",
]
