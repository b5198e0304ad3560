"""Alert source and escalation policy configuration, built from the config flow's stored data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
import re
from typing import Any

from .models import DoneNotice, EscalationLevel, EscalationPolicy, Priority
from .paging import DEFAULT_PER_WINDOW, DEFAULT_WINDOW, Bundling
from .rules import (
    Condition,
    ConditionSet,
    KeyMethod,
    KeyRule,
    MatchMode,
    NoKeyFallback,
    Operator,
    RuleError,
)


class CreationMode(StrEnum):
    EVERY_EMAIL = "every_email"
    PER_SUBJECT = "per_subject"
    WHEN_ALL_RESOLVED = "when_all_resolved"
    WHEN_ALL_ACCEPTED_OR_RESOLVED = "when_all_accepted_or_resolved"
    INCIDENT_KEYS = "incident_keys"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceConfig:
    """An alert source as the engine uses it."""

    source_id: str
    name: str
    addresses: tuple[str, ...]
    priority: Priority = Priority.HIGH
    creation_mode: CreationMode = CreationMode.PER_SUBJECT
    filters: ConditionSet = field(default_factory=ConditionSet)
    key_rules: tuple[KeyRule, ...] = ()
    resolve_rule: ConditionSet | None = None
    accept_rule: ConditionSet | None = None
    no_key_fallback: NoKeyFallback = NoKeyFallback.OPEN_WITHOUT_KEY
    strip_reply_tags: bool = True
    auto_resolve_after: timedelta | None = None
    expected_interval: timedelta | None = None
    # How long maintenance turned on by its switch lasts; None: until turned off.
    maintenance_max: timedelta | None = None
    escalation_policy_id: str | None = None
    support_hours_entity: str | None = None
    catch_all: bool = False


_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def normalise_source_address(address: str, domain: str) -> str:
    """'nas' -> 'nas@<domain>', lower-case; RuleError when it is not an address."""
    value = address.strip().lower()
    if "@" not in value:
        value = f"{value}@{domain.lower()}"
    local, _, host = value.rpartition("@")
    if (
        not local
        or not _LOCAL_PART.match(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or "+" in local
        or not _DOMAIN.match(host)
    ):
        raise RuleError(
            f"{address!r} is not an e-mail address", field="addresses", reason="invalid_address"
        )
    return value


def conditions_from_data(items: Sequence[Mapping[str, Any]], mode: str) -> ConditionSet:
    return ConditionSet(
        conditions=tuple(
            Condition(
                field=str(item["field"]),
                operator=Operator(item["operator"]),
                value=str(item.get("value", "")),
                case_sensitive=bool(item.get("case_sensitive", False)),
            )
            for item in items
        ),
        mode=MatchMode(mode),
    )


def _minutes(value: Any) -> timedelta | None:
    minutes = int(value or 0)
    return timedelta(minutes=minutes) if minutes > 0 else None


# Version 2 of a source's stored data: an ordered list of key rules instead of one, each with
# its own case sensitivity (the single rule of version 1 was always case-sensitive).
SOURCE_DATA_VERSION = 2


def upgrade_source_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """A source's stored data in the current version; current data comes back unchanged."""
    upgraded = dict(data)
    if "key_rule" in upgraded:
        old_rule = upgraded.pop("key_rule")
        upgraded["key_rules"] = (
            [{**old_rule, "case_sensitive": True, "template": ""}] if old_rule else []
        )
    return upgraded


def key_rule_from_data(item: Mapping[str, Any]) -> KeyRule:
    return KeyRule(
        field=str(item["field"]),
        method=KeyMethod(item["method"]),
        pattern=str(item.get("pattern", "")),
        prefix=str(item.get("prefix", "")),
        suffix=str(item.get("suffix", "")),
        case_sensitive=bool(item.get("case_sensitive", False)),
        template=str(item.get("template", "")),
    )


def source_from_data(source_id: str, data: Mapping[str, Any], *, domain: str) -> SourceConfig:
    """Build and validate a source; RuleError names the input at fault."""
    resolve = data.get("resolve_conditions") or ()
    accept = data.get("accept_conditions") or ()
    return SourceConfig(
        source_id=source_id,
        name=str(data.get("name") or source_id),
        addresses=tuple(
            dict.fromkeys(
                normalise_source_address(address, domain) for address in data.get("addresses", ())
            )
        ),
        priority=Priority(data.get("priority", Priority.HIGH)),
        creation_mode=CreationMode(data.get("creation_mode", CreationMode.PER_SUBJECT)),
        filters=conditions_from_data(data.get("filters") or (), data.get("filter_mode", "all")),
        key_rules=tuple(key_rule_from_data(item) for item in data.get("key_rules") or ()),
        resolve_rule=conditions_from_data(resolve, data.get("resolve_mode", "any"))
        if resolve
        else None,
        accept_rule=conditions_from_data(accept, data.get("accept_mode", "any"))
        if accept
        else None,
        no_key_fallback=NoKeyFallback(data.get("no_key_fallback", NoKeyFallback.OPEN_WITHOUT_KEY)),
        strip_reply_tags=bool(data.get("strip_reply_tags", True)),
        auto_resolve_after=_minutes(data.get("auto_resolve_minutes")),
        expected_interval=_minutes(data.get("expected_interval_minutes")),
        maintenance_max=_minutes(data.get("maintenance_max_minutes")),
        escalation_policy_id=data.get("escalation_policy") or None,
        support_hours_entity=data.get("support_hours_entity") or None,
        catch_all=bool(data.get("catch_all", False)),
    )


def policy_from_data(policy_id: str, data: Mapping[str, Any]) -> EscalationPolicy:
    """A policy; bundling is on unless turned off (policies from before it have it too)."""
    return EscalationPolicy(
        policy_id=policy_id,
        name=str(data.get("name") or policy_id),
        levels=tuple(
            EscalationLevel(
                delay=timedelta(minutes=int(level.get("delay_minutes", 0))),
                targets=tuple(level.get("targets") or ()),
                critical=bool(level.get("critical", False)),
            )
            for level in data.get("levels", ())
        ),
        repeat=int(data.get("repeat", 0)),
        bundling=Bundling(
            per_window=int(data.get("bundle_limit", DEFAULT_PER_WINDOW)),
            window=timedelta(
                minutes=int(data.get("bundle_minutes", DEFAULT_WINDOW.total_seconds() // 60))
            ),
        )
        if data.get("bundle", True)
        else None,
        done_notice=DoneNotice(data.get("done_notice", DoneNotice.REPLACE)),
        ack_timeout=_minutes(data.get("ack_timeout_minutes")),
    )
