"""Subentry flows: alert sources (with their rules and the rule tester) and escalation policies.

Both flows keep the data being edited in `self._data`, in exactly the form that is stored, and
validate it by building the core's objects from it (`source_from_data`), so the form and the
engine always agree on what is valid.
"""

from __future__ import annotations

from copy import deepcopy
import re
from typing import Any, Final

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import CONF_DOMAIN, DEFAULT_DOMAIN, SUBENTRY_POLICY, SUBENTRY_SOURCE
from .core.config import (
    CreationMode,
    SourceConfig,
    normalise_source_address,
    source_from_data,
)
from .core.engine import Outcome, SourceOutcome, addressed_to
from .core.models import Priority
from .core.rules import (
    FIELDS,
    HEADER_PREFIX,
    KeyMethod,
    MatchMode,
    NoKeyFallback,
    Operator,
    RuleError,
)
from .core.text import clean_line
from .flow_validation import text_errors

NO_POLICY: Final = "none"
FIELD_HEADER: Final = "header"
TESTED_EMAILS: Final = 20
TESTED_SUBJECT_CHARS: Final = 100
MAX_MINUTES: Final = 100_000
MAX_LEVEL_DELAY_MINUTES: Final = 1440
MAX_REPEAT: Final = 10
# Rule sets of a source and the data key of their all/any mode.
RULE_SETS: Final = {
    "filters": "filter_mode",
    "resolve_conditions": "resolve_mode",
    "accept_conditions": "accept_mode",
}
# A RuleError names the core's input at fault; the forms ask for a header name separately.
FORM_FIELD_OF_RULE_INPUT: Final = {"field": "header_name"}
NOTIFY_TARGET: Final = re.compile(r"^notify\.[a-z0-9_]+\Z")
# The longest text each typed field takes.
TEXT_LIMITS: Final = {
    "name": 100,
    "addresses": 254,
    "header_name": 100,
    "value": 1000,
    "pattern": 1000,
    "prefix": 255,
    "suffix": 255,
    "targets": 255,
}
# notify.send_message acts on notify entities and needs an entity id, which a level cannot give.
ENTITY_NOTIFY_SERVICE: Final = "send_message"
NEW_SOURCE_DEFAULTS: Final[dict[str, Any]] = {
    "priority": Priority.HIGH.value,
    "escalation_policy": None,
    "creation_mode": CreationMode.PER_SUBJECT.value,
    "strip_reply_tags": True,
    "auto_resolve_minutes": 0,
    "expected_interval_minutes": 0,
    "support_hours_entity": None,
    "catch_all": False,
    "filters": [],
    "filter_mode": MatchMode.ALL.value,
    "key_rule": None,
    "resolve_conditions": [],
    "resolve_mode": MatchMode.ANY.value,
    "accept_conditions": [],
    "accept_mode": MatchMode.ANY.value,
    "no_key_fallback": NoKeyFallback.OPEN_WITHOUT_KEY.value,
}


def _select(options: list[str], translation_key: str) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options, translation_key=translation_key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def _labelled(options: list[tuple[str, str]], *, multiple: bool = False) -> SelectSelector:
    """A choice among the items being edited, labelled with their own text."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=value, label=label) for value, label in options],
            multiple=multiple,
            mode=SelectSelectorMode.LIST,
        )
    )


def _minutes(maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=0, max=maximum, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
        )
    )


def _field_select() -> SelectSelector:
    return _select([*FIELDS, FIELD_HEADER], "field")


def _describe(condition: dict[str, Any]) -> str:
    case = " (case sensitive)" if condition.get("case_sensitive") else ""
    operator = condition["operator"].replace("_", " ")
    return f"{condition['field']} {operator} “{condition['value']}”{case}"


def _split_field(field: str) -> tuple[str, str]:
    """Stored "header:X-Name" as the form shows it: the field choice and the header name."""
    if field.startswith(HEADER_PREFIX):
        return FIELD_HEADER, field[len(HEADER_PREFIX) :]
    return field, ""


def _join_field(user_input: dict[str, Any]) -> str:
    if user_input["field"] == FIELD_HEADER:
        return f"{HEADER_PREFIX}{user_input.get('header_name', '').strip()}"
    return str(user_input["field"])


def _form_error(err: RuleError) -> tuple[dict[str, str], str]:
    """The form error of a core RuleError, and its message for the `error_detail` placeholder."""
    return {FORM_FIELD_OF_RULE_INPUT.get(err.field, err.field): err.reason}, str(err)


def outcome_text(outcome: SourceOutcome) -> str:
    """What an e-mail would do, as one phrase of the rule tester."""
    key = f"key {outcome.key}" if outcome.key else "no key"
    ids = ", ".join(outcome.incident_ids)
    match outcome.outcome:
        case Outcome.CREATED:
            return f"new incident (key: {outcome.key})" if outcome.key else "new incident"
        case Outcome.APPENDED:
            return f"appends to {ids}"
        case Outcome.RESOLVED:
            return f"resolves {key} ({ids})"
        case Outcome.ACCEPTED:
            return f"accepts {key} ({ids})"
        case Outcome.ORPHAN_RESOLVE:
            return f"resolve e-mail, {key}: no open incident, nothing happens"
        case Outcome.ORPHAN_ACCEPT:
            return f"accept e-mail, {key}: no open incident, nothing happens"
        case Outcome.IGNORED_NO_KEY:
            return "no key: ignored"
        case Outcome.MAINTENANCE:
            return "maintenance mode: logged only"
        case _:  # FILTERED; a dry run never reports a duplicate
            return "filtered"


class AlertSourceSubentryFlow(ConfigSubentryFlow):
    """Add or change an alert source: its basics, then a menu of rules, the tester and save."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._editing: tuple[str, int] | None = None

    @property
    def _domain(self) -> str:
        return str(self._get_entry().data.get(CONF_DOMAIN, DEFAULT_DOMAIN))

    @property
    def _source_id(self) -> str | None:
        """The subentry being reconfigured; a new source has no id yet."""
        return self._reconfigure_subentry_id if self.source == "reconfigure" else None

    @property
    def _key_mode(self) -> bool:
        return bool(self._data.get("creation_mode") == CreationMode.INCIDENT_KEYS)

    def _build(self, data: dict[str, Any]) -> SourceConfig:
        """The engine's view of `data`; RuleError names what is invalid."""
        return source_from_data(self._source_id or "new_source", data, domain=self._domain)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new alert source."""
        self._data = deepcopy(NEW_SOURCE_DEFAULTS)
        return await self.async_step_basics()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an alert source; its incidents are kept."""
        # A deep copy: editing must not touch the stored lists, or the update would see no change.
        stored = deepcopy(dict(self._get_reconfigure_subentry().data))
        self._data = {**deepcopy(NEW_SOURCE_DEFAULTS), **stored}
        return await self.async_step_basics()

    # --- basics ------------------------------------------------------------------------------

    def _policy_options(self) -> list[SelectOptionDict]:
        return [
            SelectOptionDict(value=NO_POLICY, label="No escalation"),
            *(
                SelectOptionDict(value=subentry_id, label=subentry.title)
                for subentry_id, subentry in self._get_entry().subentries.items()
                if subentry.subentry_type == SUBENTRY_POLICY
            ),
        ]

    def _basics_schema(self, policies: list[SelectOptionDict]) -> vol.Schema:
        return vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("addresses"): TextSelector(TextSelectorConfig(multiple=True)),
                vol.Required("priority"): _select([p.value for p in Priority], "priority"),
                vol.Required("escalation_policy"): SelectSelector(
                    SelectSelectorConfig(
                        options=policies,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required("creation_mode"): _select(
                    [mode.value for mode in CreationMode], "creation_mode"
                ),
                vol.Required("strip_reply_tags"): BooleanSelector(),
                vol.Required("auto_resolve_minutes"): _minutes(MAX_MINUTES),
                vol.Required("expected_interval_minutes"): _minutes(MAX_MINUTES),
                vol.Optional("support_hours_entity"): EntitySelector(
                    EntitySelectorConfig(domain="schedule")
                ),
                vol.Required("catch_all"): BooleanSelector(),
            }
        )

    async def async_step_basics(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name, addresses, priority, how e-mails become incidents, timers."""
        errors: dict[str, str] = {}
        detail = ""
        policies = self._policy_options()
        if user_input is not None and not (errors := text_errors(user_input, TEXT_LIMITS)):
            candidate = self._basics_candidate(user_input)
            errors, detail = self._basics_errors(candidate)
            if not errors:
                self._data = candidate
                if self._key_mode and not self._data.get("key_rule"):
                    return await self.async_step_key_rule()
                return await self.async_step_rules()
        suggested = dict(user_input or self._data)
        # A removed policy is no longer an option: the source then has no escalation.
        if suggested.get("escalation_policy") not in {p["value"] for p in policies}:
            suggested["escalation_policy"] = NO_POLICY
        return self.async_show_form(
            step_id="basics",
            data_schema=self.add_suggested_values_to_schema(
                self._basics_schema(policies), suggested
            ),
            errors=errors,
            description_placeholders={"domain": self._domain, "error_detail": detail},
        )

    def _basics_candidate(self, user_input: dict[str, Any]) -> dict[str, Any]:
        policy = user_input["escalation_policy"]
        return {
            **self._data,
            **user_input,
            "name": str(user_input["name"]).strip(),
            "addresses": [a.strip() for a in user_input["addresses"] if a.strip()],
            "escalation_policy": None if policy == NO_POLICY else policy,
            "auto_resolve_minutes": int(user_input["auto_resolve_minutes"]),
            "expected_interval_minutes": int(user_input["expected_interval_minutes"]),
            "support_hours_entity": user_input.get("support_hours_entity") or None,
        }

    def _basics_errors(self, candidate: dict[str, Any]) -> tuple[dict[str, str], str]:
        """Errors of the basics; on success the addresses in `candidate` are normalised."""
        if not candidate["name"]:
            return {"name": "empty_value"}, ""
        if not candidate["addresses"]:
            return {"addresses": "no_addresses"}, ""
        try:
            source = self._build(candidate)
        except RuleError as err:
            return _form_error(err)
        candidate["addresses"] = list(source.addresses)
        for subentry_id, subentry in self._get_entry().subentries.items():
            if subentry.subentry_type != SUBENTRY_SOURCE or subentry_id == self._source_id:
                continue
            if source.catch_all and subentry.data.get("catch_all"):
                return {"catch_all": "second_catch_all"}, subentry.title
            taken = {
                normalise_source_address(address, self._domain)
                for address in subentry.data.get("addresses", [])
            }
            if duplicates := taken.intersection(source.addresses):
                return {"addresses": "duplicate_address"}, (
                    f"{', '.join(sorted(duplicates))} ({subentry.title})"
                )
        return {}, ""

    # --- the rules menu ----------------------------------------------------------------------

    async def async_step_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The menu: change basics or rules, test the rules, save."""
        options = ["basics", "add_rule"]
        if self._conditions():
            options += ["edit_rule", "remove_rules"]
        options.append("match_modes")
        if self._key_mode:
            options.append("key_rule")
        options += ["test_rules", "save"]
        return self.async_show_menu(
            step_id="rules",
            menu_options=options,
            description_placeholders={"summary": self._rules_summary()},
        )

    def _active_rule_sets(self) -> list[str]:
        """Resolve and accept rules only mean something when e-mails carry incident keys."""
        return list(RULE_SETS) if self._key_mode else ["filters"]

    def _conditions(self) -> list[tuple[str, int, dict[str, Any]]]:
        return [
            (rule_set, index, condition)
            for rule_set in self._active_rule_sets()
            for index, condition in enumerate(self._data.get(rule_set) or [])
        ]

    def _condition_choices(self) -> list[tuple[str, str]]:
        return [(f"{s}:{i}", f"{s}: {_describe(c)}") for s, i, c in self._conditions()]

    def _rules_summary(self) -> str:
        lines = [f"- {label}" for _, label in self._condition_choices()]
        if self._key_mode and (key_rule := self._data.get("key_rule")):
            lines.append(f"- key: {key_rule['method']} on {key_rule['field']}")
        return "\n".join(lines) or "No rules yet: every e-mail to the source counts."

    async def async_step_add_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new condition."""
        self._editing = None
        return await self.async_step_rule()

    async def async_step_edit_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the condition to change."""
        if user_input is not None:
            rule_set, _, index = user_input["rule"].partition(":")
            self._editing = (rule_set, int(index))
            return await self.async_step_rule()
        return self.async_show_form(
            step_id="edit_rule",
            data_schema=vol.Schema({vol.Required("rule"): _labelled(self._condition_choices())}),
        )

    def _with_condition(self, rule_set: str, condition: dict[str, Any]) -> dict[str, Any]:
        """The data with `condition` added, or replacing the one being edited."""
        lists = {name: list(self._data.get(name) or []) for name in RULE_SETS}
        if self._editing is None:
            lists[rule_set].append(condition)
        elif self._editing[0] == rule_set:
            lists[rule_set][self._editing[1]] = condition
        else:
            del lists[self._editing[0]][self._editing[1]]
            lists[rule_set].append(condition)
        return {**self._data, **lists}

    async def async_step_rule(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """One condition: which rule it belongs to, field, operator, value, case."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None and not (errors := text_errors(user_input, TEXT_LIMITS)):
            condition = {
                "field": _join_field(user_input),
                "operator": user_input["operator"],
                "value": user_input.get("value", ""),
                "case_sensitive": user_input["case_sensitive"],
            }
            candidate = self._with_condition(user_input.get("rule_set", "filters"), condition)
            try:
                self._build(candidate)
            except RuleError as err:
                errors, detail = _form_error(err)
            else:
                self._data = candidate
                self._editing = None
                return await self.async_step_rules()
        suggested: dict[str, Any] = {
            "rule_set": "filters",
            "field": "subject",
            "operator": Operator.CONTAINS.value,
            "case_sensitive": False,
        }
        if self._editing is not None:
            rule_set, index = self._editing
            current = self._data[rule_set][index]
            field, header_name = _split_field(current["field"])
            suggested = {
                **current,
                "rule_set": rule_set,
                "field": field,
                "header_name": header_name,
            }
        schema: dict[vol.Marker, Any] = {}
        if self._key_mode:
            schema[vol.Required("rule_set")] = _select(list(RULE_SETS), "rule_set")
        schema |= {
            vol.Required("field"): _field_select(),
            vol.Optional("header_name"): TextSelector(),
            vol.Required("operator"): _select([o.value for o in Operator], "operator"),
            vol.Optional("value"): TextSelector(),
            vol.Required("case_sensitive"): BooleanSelector(),
        }
        return self.async_show_form(
            step_id="rule",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or suggested
            ),
            errors=errors,
            description_placeholders={"error_detail": detail},
        )

    async def async_step_remove_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Remove one or more conditions."""
        if user_input is not None:
            doomed = set(user_input["rules"])
            for rule_set in RULE_SETS:
                self._data[rule_set] = [
                    condition
                    for index, condition in enumerate(self._data.get(rule_set) or [])
                    if f"{rule_set}:{index}" not in doomed
                ]
            return await self.async_step_rules()
        return self.async_show_form(
            step_id="remove_rules",
            data_schema=vol.Schema(
                {vol.Required("rules"): _labelled(self._condition_choices(), multiple=True)}
            ),
        )

    async def async_step_match_modes(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Whether all or any conditions of each rule set must match."""
        if user_input is not None:
            self._data.update(user_input)
            return await self.async_step_rules()
        modes = [mode.value for mode in MatchMode]
        fields = [RULE_SETS[rule_set] for rule_set in self._active_rule_sets()]
        schema = vol.Schema({vol.Required(name): _select(modes, "match_mode") for name in fields})
        return self.async_show_form(
            step_id="match_modes",
            data_schema=self.add_suggested_values_to_schema(schema, self._data),
        )

    async def async_step_key_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Where the incident key comes from, and what to do when there is none."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None and not (errors := text_errors(user_input, TEXT_LIMITS)):
            key_rule = {
                "field": _join_field(user_input),
                "method": user_input["method"],
                "pattern": user_input.get("pattern", ""),
                "prefix": user_input.get("prefix", ""),
                "suffix": user_input.get("suffix", ""),
            }
            candidate = {
                **self._data,
                "key_rule": key_rule,
                "no_key_fallback": user_input["no_key_fallback"],
            }
            try:
                self._build(candidate)
            except RuleError as err:
                errors, detail = _form_error(err)
            else:
                self._data = candidate
                return await self.async_step_rules()
        current = self._data.get("key_rule") or {"field": "subject", "method": KeyMethod.REGEX}
        field, header_name = _split_field(current["field"])
        suggested = {
            **current,
            "field": field,
            "header_name": header_name,
            "no_key_fallback": self._data["no_key_fallback"],
        }
        schema = vol.Schema(
            {
                vol.Required("field"): _field_select(),
                vol.Optional("header_name"): TextSelector(),
                vol.Required("method"): _select([m.value for m in KeyMethod], "key_method"),
                vol.Optional("pattern"): TextSelector(),
                vol.Optional("prefix"): TextSelector(),
                vol.Optional("suffix"): TextSelector(),
                vol.Required("no_key_fallback"): _select(
                    [f.value for f in NoKeyFallback], "no_key_fallback"
                ),
            }
        )
        return self.async_show_form(
            step_id="key_rule",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
            description_placeholders={"error_detail": detail},
        )

    # --- the rule tester and save ------------------------------------------------------------

    async def async_step_test_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """What the rules being edited would do to the e-mails received recently."""
        return self.async_show_menu(
            step_id="test_rules",
            menu_options=["rules", "save"],
            description_placeholders={"results": self._test_results()},
        )

    def _test_results(self) -> str:
        entry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return "The listener is not running, so there are no recent e-mails to test with."
        runtime = entry.runtime_data
        source = self._build(self._data)
        lines = []
        for recent in list(runtime.recent)[::-1][:TESTED_EMAILS]:
            when = dt_util.as_local(recent.received).strftime("%Y-%m-%d %H:%M")
            subject = clean_line(recent.email.subject, TESTED_SUBJECT_CHARS) or "(no subject)"
            if addressed_to(source, recent.email) or source.catch_all:
                verdict = outcome_text(runtime.engine.evaluate(recent.email, source))
            else:
                verdict = "not addressed to this source"
            lines.append(f"- {when} · {subject} · {verdict}")
        return "\n".join(lines) or "No e-mails received yet."

    async def async_step_save(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Store the source; the entry reloads with it, incidents are kept."""
        data = dict(self._data)
        if not self._key_mode:
            # Stored data says what the source does: rules of another mode would be dormant.
            data |= {"key_rule": None, "resolve_conditions": [], "accept_conditions": []}
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), data=data, title=data["name"]
            )
        return self.async_create_entry(title=data["name"], data=data)


class EscalationPolicySubentryFlow(ConfigSubentryFlow):
    """Add or change an escalation policy: name, repeat, and its levels through a menu."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._editing: int | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new policy."""
        self._data = {"name": "", "repeat": 0, "levels": []}
        return await self.async_step_policy()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a policy; sources using it escalate with the new levels after the reload."""
        self._data = deepcopy(dict(self._get_reconfigure_subentry().data))
        return await self.async_step_policy()

    @property
    def _levels(self) -> list[dict[str, Any]]:
        levels: list[dict[str, Any]] = self._data["levels"]
        return levels

    async def async_step_policy(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name and repeat count."""
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := text_errors(user_input, TEXT_LIMITS)):
            name = user_input["name"].strip()
            if name:
                self._data |= {"name": name, "repeat": int(user_input["repeat"])}
                if self._levels:
                    return await self.async_step_levels()
                return await self.async_step_add_level()
            errors["name"] = "empty_value"
        schema = vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("repeat"): NumberSelector(
                    NumberSelectorConfig(min=0, max=MAX_REPEAT, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="policy",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._data),
            errors=errors,
        )

    def _level_choices(self, first: int = 0) -> list[tuple[str, str]]:
        return [(str(index), self._level_text(index)) for index in range(first, len(self._levels))]

    def _level_text(self, index: int) -> str:
        level = self._levels[index]
        targets = ", ".join(level["targets"]) or "event only"
        return f"Level {index + 1}: after {level['delay_minutes']} min: {targets}"

    async def async_step_levels(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The menu of levels."""
        options = ["policy", "add_level"]
        if self._levels:
            options += ["edit_level", "remove_level"]
        if len(self._levels) > 1:
            options.append("move_level_up")
        options.append("save")
        return self.async_show_menu(
            step_id="levels",
            menu_options=options,
            description_placeholders={
                "levels": "\n".join(f"- {label}" for _, label in self._level_choices())
                or "No levels yet: incidents of sources with this policy do not escalate.",
            },
        )

    def _notify_targets(self) -> list[str]:
        return sorted(
            f"notify.{service}"
            for service in self.hass.services.async_services_for_domain("notify")
            if service != ENTITY_NOTIFY_SERVICE
        )

    async def async_step_add_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new level at the end."""
        self._editing = None
        return await self.async_step_level()

    async def async_step_edit_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the level to change."""
        if user_input is not None:
            self._editing = int(user_input["level"])
            return await self.async_step_level()
        return self.async_show_form(
            step_id="edit_level",
            data_schema=vol.Schema({vol.Required("level"): _labelled(self._level_choices())}),
        )

    async def async_step_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """One level: how long after the previous one, and whom to notify."""
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := text_errors(user_input, TEXT_LIMITS)):
            targets = list(user_input.get("targets", []))
            if all(NOTIFY_TARGET.match(target) for target in targets):
                level = {"delay_minutes": int(user_input["delay_minutes"]), "targets": targets}
                if self._editing is None:
                    self._levels.append(level)
                else:
                    self._levels[self._editing] = level
                self._editing = None
                return await self.async_step_levels()
            errors["targets"] = "invalid_target"
        current: dict[str, Any] = {"delay_minutes": 15 if self._levels else 0, "targets": []}
        if self._editing is not None:
            current = self._levels[self._editing]
        schema = vol.Schema(
            {
                vol.Required("delay_minutes"): _minutes(MAX_LEVEL_DELAY_MINUTES),
                # Typed targets are allowed: a phone's notify service may only appear later.
                vol.Optional("targets"): SelectSelector(
                    SelectSelectorConfig(
                        options=self._notify_targets(),
                        multiple=True,
                        custom_value=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="level",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or current),
            errors=errors,
        )

    async def async_step_remove_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Remove a level."""
        if user_input is not None:
            del self._levels[int(user_input["level"])]
            return await self.async_step_levels()
        return self.async_show_form(
            step_id="remove_level",
            data_schema=vol.Schema({vol.Required("level"): _labelled(self._level_choices())}),
        )

    async def async_step_move_level_up(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Swap a level with the one before it."""
        if user_input is not None:
            index = int(user_input["level"])
            levels = self._levels
            levels[index - 1], levels[index] = levels[index], levels[index - 1]
            return await self.async_step_levels()
        return self.async_show_form(
            step_id="move_level_up",
            data_schema=vol.Schema({vol.Required("level"): _labelled(self._level_choices(1))}),
        )

    async def async_step_save(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Store the policy; the entry reloads and sources using it escalate with it."""
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                data=self._data,
                title=self._data["name"],
            )
        return self.async_create_entry(title=self._data["name"], data=self._data)
