"""Subentry flows: alert sources (with their rules and the rule tester) and escalation policies.

Both flows keep the data being edited in `self._data`, in exactly the form that is stored, and
validate it by building the core's objects from it, so the form and the engine always agree.
"""

from __future__ import annotations

from typing import Any

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
    policy_from_data,
    source_from_data,
)
from .core.engine import Outcome, SourceOutcome, addressed_to
from .core.models import Priority
from .core.rules import (
    FIELDS,
    HEADER_PREFIX,
    Condition,
    KeyMethod,
    KeyRule,
    MatchMode,
    NoKeyFallback,
    Operator,
    RuleError,
)

NO_POLICY = "none"
RULE_SETS = {
    "filters": "filter_mode",
    "resolve_conditions": "resolve_mode",
    "accept_conditions": "accept_mode",
}
TESTED_EMAILS = 20
FIELD_HEADER = "header"


def _select(options: list[str], key: str, *, multiple: bool = False) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            translation_key=key,
            multiple=multiple,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def _labelled(options: list[tuple[str, str]], *, multiple: bool = False) -> SelectSelector:
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


def _describe(condition: dict[str, Any]) -> str:
    case = " (case sensitive)" if condition.get("case_sensitive") else ""
    operator = condition["operator"].replace("_", " ")
    return f"{condition['field']} {operator} “{condition['value']}”{case}"


def _split_field(field: str) -> tuple[str, str]:
    if field.startswith(HEADER_PREFIX):
        return FIELD_HEADER, field[len(HEADER_PREFIX) :]
    return field, ""


def _join_field(field: str, header_name: str) -> str:
    return f"{HEADER_PREFIX}{header_name.strip()}" if field == FIELD_HEADER else field


def _rule_error(err: RuleError, field_names: dict[str, str]) -> tuple[dict[str, str], str]:
    """Form errors from a core RuleError, with its message as a placeholder for the detail."""
    return {field_names.get(err.field, "base"): err.reason}, str(err)


def outcome_text(outcome: SourceOutcome) -> str:
    """One line of the rule tester: what an e-mail would do."""
    key = f" (key: {outcome.key})" if outcome.key else ""
    ids = ", ".join(outcome.incident_ids)
    match outcome.outcome:
        case Outcome.CREATED:
            return f"opens a new incident{key}"
        case Outcome.APPENDED:
            return f"appends to {ids}{key}"
        case Outcome.RESOLVED:
            return f"resolves {ids}{key}"
        case Outcome.ACCEPTED:
            return f"accepts {ids}{key}"
        case Outcome.ORPHAN_RESOLVE:
            return f"resolve e-mail without an open incident{key}: nothing happens"
        case Outcome.ORPHAN_ACCEPT:
            return f"accept e-mail without an open incident{key}: nothing happens"
        case Outcome.IGNORED_NO_KEY:
            return "no key found: ignored"
        case Outcome.MAINTENANCE:
            return "maintenance mode: logged only"
        case _:
            return "filtered out"


class AlertSourceSubentryFlow(ConfigSubentryFlow):
    """Add or change an alert source: its basics, then a menu of rules, the tester and save."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._editing: tuple[str, int] | None = None

    @property
    def _domain(self) -> str:
        return str(self._get_entry().data.get(CONF_DOMAIN, DEFAULT_DOMAIN))

    @property
    def _own_id(self) -> str | None:
        return self._reconfigure_subentry_id if self.source == "reconfigure" else None

    @property
    def _reconfigure_subentry_id(self) -> str:
        return self._get_reconfigure_subentry().subentry_id

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new alert source."""
        self._data = {
            "priority": Priority.HIGH.value,
            "creation_mode": CreationMode.PER_SUBJECT.value,
            "strip_reply_tags": True,
            "filters": [],
            "filter_mode": MatchMode.ALL.value,
            "resolve_conditions": [],
            "resolve_mode": MatchMode.ANY.value,
            "accept_conditions": [],
            "accept_mode": MatchMode.ANY.value,
            "no_key_fallback": NoKeyFallback.OPEN_WITHOUT_KEY.value,
        }
        return await self.async_step_basics()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an alert source; its incidents are kept."""
        self._data = dict(self._get_reconfigure_subentry().data)
        return await self.async_step_basics()

    def _basics_schema(self) -> vol.Schema:
        entry = self._get_entry()
        policies = [
            (subentry_id, subentry.title)
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_POLICY
        ]
        return vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("addresses"): TextSelector(TextSelectorConfig(multiple=True)),
                vol.Required("priority"): _select([p.value for p in Priority], "priority"),
                vol.Required("creation_mode"): _select(
                    [mode.value for mode in CreationMode], "creation_mode"
                ),
                vol.Required("escalation_policy", default=NO_POLICY): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=NO_POLICY, label="—"),
                            *(
                                SelectOptionDict(value=value, label=label)
                                for value, label in policies
                            ),
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required("strip_reply_tags"): BooleanSelector(),
                vol.Required("auto_resolve_minutes", default=0): _minutes(100_000),
                vol.Required("expected_interval_minutes", default=0): _minutes(100_000),
                vol.Optional("support_hours_entity"): EntitySelector(
                    EntitySelectorConfig(domain="schedule")
                ),
                vol.Required("catch_all", default=False): BooleanSelector(),
            }
        )

    async def async_step_basics(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name, addresses, priority, how e-mails become incidents, timers."""
        errors: dict[str, str] = {}
        placeholders = {"domain": self._domain, "error_detail": ""}
        if user_input is not None:
            candidate = {**self._data, **user_input}
            candidate.setdefault("support_hours_entity", None)
            if "support_hours_entity" not in user_input:
                candidate["support_hours_entity"] = None
            if candidate.get("escalation_policy") == NO_POLICY:
                candidate["escalation_policy"] = None
            for key in ("auto_resolve_minutes", "expected_interval_minutes"):
                candidate[key] = int(candidate.get(key) or 0)
            errors, placeholders["error_detail"] = self._basics_errors(candidate)
            if not errors:
                self._data = candidate
                return await self.async_step_rules()
        suggested = {**self._data}
        suggested["escalation_policy"] = self._data.get("escalation_policy") or NO_POLICY
        if user_input is not None:
            suggested.update(user_input)
        return self.async_show_form(
            step_id="basics",
            data_schema=self.add_suggested_values_to_schema(self._basics_schema(), suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _basics_errors(self, data: dict[str, Any]) -> tuple[dict[str, str], str]:
        if not str(data.get("name", "")).strip():
            return {"name": "empty_value"}, ""
        addresses = [address for address in data.get("addresses", []) if address.strip()]
        if not addresses:
            return {"addresses": "no_addresses"}, ""
        try:
            normalised = [normalise_source_address(a, self._domain) for a in addresses]
        except RuleError as err:
            return {"addresses": err.reason}, str(err)
        taken: dict[str, str] = {}
        catch_all_elsewhere = False
        for subentry_id, subentry in self._get_entry().subentries.items():
            if subentry.subentry_type != SUBENTRY_SOURCE or subentry_id == self._own_id:
                continue
            catch_all_elsewhere |= bool(subentry.data.get("catch_all"))
            for address in subentry.data.get("addresses", []):
                try:
                    taken[normalise_source_address(address, self._domain)] = subentry.title
                except RuleError:
                    continue
        for address in normalised:
            if address in taken:
                return {"addresses": "duplicate_address"}, f"{address} ({taken[address]})"
        if len(set(normalised)) != len(normalised):
            return {"addresses": "duplicate_address"}, ""
        if data.get("catch_all") and catch_all_elsewhere:
            return {"catch_all": "second_catch_all"}, ""
        data["addresses"] = normalised
        return {}, ""

    async def async_step_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The menu: change basics or rules, test the rules, save."""
        options = ["basics", "add_rule"]
        if self._conditions():
            options += ["edit_rule", "remove_rules"]
        options.append("match_modes")
        if self._data.get("creation_mode") == CreationMode.INCIDENT_KEYS:
            options.append("key_rule")
        options += ["test_rules", "save"]
        return self.async_show_menu(
            step_id="rules",
            menu_options=options,
            description_placeholders={"summary": self._rules_summary()},
        )

    def _conditions(self) -> list[tuple[str, int, dict[str, Any]]]:
        return [
            (rule_set, index, condition)
            for rule_set in RULE_SETS
            for index, condition in enumerate(self._data.get(rule_set) or [])
        ]

    def _rules_summary(self) -> str:
        names = {
            "filters": "Filter",
            "resolve_conditions": "Resolves",
            "accept_conditions": "Accepts",
        }
        lines = [f"- {names[rule_set]}: {_describe(c)}" for rule_set, _, c in self._conditions()]
        if (key_rule := self._data.get("key_rule")) and (
            self._data.get("creation_mode") == CreationMode.INCIDENT_KEYS
        ):
            lines.append(f"- Key: {key_rule['method']} on {key_rule['field']}")
        return "\n".join(lines) or "No rules yet: every e-mail to the source counts."

    def _rule_set_options(self) -> list[str]:
        if self._data.get("creation_mode") == CreationMode.INCIDENT_KEYS:
            return list(RULE_SETS)
        return ["filters"]

    async def async_step_add_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        self._editing = None
        return await self.async_step_rule()

    async def async_step_edit_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the rule to change."""
        conditions = self._conditions()
        if user_input is not None:
            rule_set, _, index = user_input["rule"].partition(":")
            self._editing = (rule_set, int(index))
            return await self.async_step_rule()
        return self.async_show_form(
            step_id="edit_rule",
            data_schema=vol.Schema(
                {
                    vol.Required("rule"): _labelled(
                        [(f"{s}:{i}", f"{s}: {_describe(c)}") for s, i, c in conditions]
                    )
                }
            ),
        )

    async def async_step_rule(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """One condition: field, operator, value, case."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None:
            rule_set = user_input.get("rule_set", "filters")
            condition = {
                "field": _join_field(user_input["field"], user_input.get("header_name", "")),
                "operator": user_input["operator"],
                "value": user_input.get("value", ""),
                "case_sensitive": user_input.get("case_sensitive", False),
            }
            if (
                user_input["field"] == FIELD_HEADER
                and not user_input.get("header_name", "").strip()
            ):
                errors = {"header_name": "invalid_header_name"}
            else:
                try:
                    Condition(
                        field=condition["field"],
                        operator=Operator(condition["operator"]),
                        value=condition["value"],
                        case_sensitive=condition["case_sensitive"],
                    )
                except RuleError as err:
                    errors, detail = _rule_error(err, {"field": "header_name", "value": "value"})
            if not errors:
                if self._editing is not None:
                    old_set, index = self._editing
                    del self._data[old_set][index]
                self._data[rule_set] = [*(self._data.get(rule_set) or []), condition]
                self._editing = None
                return await self.async_step_rules()
        suggested: dict[str, Any] = {
            "rule_set": "filters",
            "field": "subject",
            "operator": "contains",
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
        if user_input is not None:
            suggested.update(user_input)
        schema: dict[Any, Any] = {}
        if len(self._rule_set_options()) > 1:
            schema[vol.Required("rule_set")] = _select(self._rule_set_options(), "rule_set")
        schema.update(
            {
                vol.Required("field"): _select([*FIELDS, FIELD_HEADER], "field"),
                vol.Optional("header_name"): TextSelector(),
                vol.Required("operator"): _select([o.value for o in Operator], "operator"),
                vol.Optional("value"): TextSelector(),
                vol.Required("case_sensitive", default=False): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="rule",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), suggested),
            errors=errors,
            description_placeholders={"error_detail": detail},
        )

    async def async_step_remove_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Remove one or more rules."""
        if user_input is not None:
            doomed = {tuple(item.split(":")) for item in user_input.get("rules", [])}
            for rule_set in RULE_SETS:
                self._data[rule_set] = [
                    c
                    for i, c in enumerate(self._data.get(rule_set) or [])
                    if (rule_set, str(i)) not in doomed
                ]
            return await self.async_step_rules()
        return self.async_show_form(
            step_id="remove_rules",
            data_schema=vol.Schema(
                {
                    vol.Optional("rules", default=[]): _labelled(
                        [(f"{s}:{i}", f"{s}: {_describe(c)}") for s, i, c in self._conditions()],
                        multiple=True,
                    )
                }
            ),
        )

    async def async_step_match_modes(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Whether all or any conditions of each rule set must match."""
        modes = [mode.value for mode in MatchMode]
        fields = ["filter_mode"]
        if self._data.get("creation_mode") == CreationMode.INCIDENT_KEYS:
            fields += ["resolve_mode", "accept_mode"]
        if user_input is not None:
            self._data.update(user_input)
            return await self.async_step_rules()
        schema = vol.Schema({vol.Required(name): _select(modes, "match_mode") for name in fields})
        return self.async_show_form(
            step_id="match_modes",
            data_schema=self.add_suggested_values_to_schema(
                schema, {name: self._data.get(name, MatchMode.ALL.value) for name in fields}
            ),
        )

    async def async_step_key_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Where the incident key comes from, and what to do when there is none."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None:
            key_rule = {
                "field": _join_field(user_input["field"], user_input.get("header_name", "")),
                "method": user_input["method"],
                "pattern": user_input.get("pattern", ""),
                "prefix": user_input.get("prefix", ""),
                "suffix": user_input.get("suffix", ""),
            }
            if (
                user_input["field"] == FIELD_HEADER
                and not user_input.get("header_name", "").strip()
            ):
                errors = {"header_name": "invalid_header_name"}
            else:
                try:
                    KeyRule(
                        field=key_rule["field"],
                        method=KeyMethod(key_rule["method"]),
                        pattern=key_rule["pattern"],
                        prefix=key_rule["prefix"],
                        suffix=key_rule["suffix"],
                    )
                except RuleError as err:
                    errors, detail = _rule_error(
                        err, {"field": "header_name", "pattern": "pattern", "prefix": "prefix"}
                    )
            if not errors:
                self._data["key_rule"] = key_rule
                self._data["no_key_fallback"] = user_input["no_key_fallback"]
                return await self.async_step_rules()
        current = self._data.get("key_rule") or {"field": "subject", "method": "regex"}
        field, header_name = _split_field(current["field"])
        suggested = {
            **current,
            "field": field,
            "header_name": header_name,
            "no_key_fallback": self._data.get("no_key_fallback", NoKeyFallback.OPEN_WITHOUT_KEY),
        }
        if user_input is not None:
            suggested.update(user_input)
        schema = vol.Schema(
            {
                vol.Required("field"): _select([*FIELDS, FIELD_HEADER], "field"),
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
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"error_detail": detail},
        )

    def _preview_source(self) -> SourceConfig:
        return source_from_data(self._own_id or "new_source", self._data, domain=self._domain)

    async def async_step_test_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """What the rules being edited would do to the e-mails received recently."""
        if user_input is not None:
            return await self.async_step_rules()
        return self.async_show_form(
            step_id="test_rules",
            data_schema=vol.Schema({}),
            description_placeholders={"results": self._test_results()},
        )

    def _test_results(self) -> str:
        entry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return "The listener is not running, so there are no recent e-mails to test with."
        runtime = entry.runtime_data
        source = self._preview_source()
        lines = []
        for recent in list(runtime.recent)[::-1][:TESTED_EMAILS]:
            when = dt_util.as_local(recent.received).strftime("%Y-%m-%d %H:%M")
            subject = recent.email.subject or "(no subject)"
            if not addressed_to(source, recent.email) and not source.catch_all:
                verdict = "not addressed to this source"
            else:
                verdict = outcome_text(runtime.engine.evaluate(recent.email, source))
            lines.append(f"- {when} · {subject} · {verdict}")
        return "\n".join(lines) or "No e-mails received yet."

    async def async_step_save(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Store the source; the listener reloads with it, incidents are kept."""
        title = str(self._data["name"]).strip()
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), data=self._data, title=title
            )
        return self.async_create_entry(title=title, data=self._data)


class EscalationPolicySubentryFlow(ConfigSubentryFlow):
    """Add or change an escalation policy: name, repeat, and its levels through a menu."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._editing: int | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        self._data = {"name": "", "repeat": 0, "levels": []}
        return await self.async_step_policy()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        self._data = dict(self._get_reconfigure_subentry().data)
        self._data["levels"] = [dict(level) for level in self._data.get("levels", [])]
        return await self.async_step_policy()

    async def async_step_policy(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name and repeat count."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if not user_input["name"].strip():
                errors["name"] = "empty_value"
            else:
                self._data.update(name=user_input["name"].strip(), repeat=int(user_input["repeat"]))
                return await (
                    self.async_step_levels()
                    if self._data["levels"]
                    else self.async_step_add_level()
                )
        schema = vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("repeat", default=0): NumberSelector(
                    NumberSelectorConfig(min=0, max=10, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="policy",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._data),
            errors=errors,
        )

    def _level_labels(self, first: int = 0) -> list[tuple[str, str]]:
        return [
            (str(index), self._level_text(index))
            for index in range(first, len(self._data["levels"]))
        ]

    def _level_text(self, index: int) -> str:
        level = self._data["levels"][index]
        targets = ", ".join(level.get("targets") or []) or "event only"
        return f"Level {index + 1}: after {level['delay_minutes']} min: {targets}"

    async def async_step_levels(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The menu of levels."""
        options = ["policy", "add_level"]
        if self._data["levels"]:
            options += ["edit_level", "remove_level"]
        if len(self._data["levels"]) > 1:
            options.append("move_level_up")
        options.append("save")
        return self.async_show_menu(
            step_id="levels",
            menu_options=options,
            description_placeholders={
                "levels": "\n".join(f"- {label}" for _, label in self._level_labels())
                or "No levels yet.",
            },
        )

    def _notify_targets(self) -> list[str]:
        return sorted(
            f"notify.{service}"
            for service in self.hass.services.async_services_for_domain("notify")
            if service not in ("send_message", "persistent_notification")
        )

    async def async_step_add_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        self._editing = None
        return await self.async_step_level()

    async def async_step_edit_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        if user_input is not None:
            self._editing = int(user_input["level"])
            return await self.async_step_level()
        return self.async_show_form(
            step_id="edit_level",
            data_schema=vol.Schema({vol.Required("level"): _labelled(self._level_labels())}),
        )

    async def async_step_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """One level: how long after the previous one, and whom to notify."""
        if user_input is not None:
            level = {
                "delay_minutes": int(user_input["delay_minutes"]),
                "targets": list(user_input.get("targets", [])),
            }
            if self._editing is None:
                self._data["levels"].append(level)
            else:
                self._data["levels"][self._editing] = level
            self._editing = None
            return await self.async_step_levels()
        current: dict[str, Any] = {
            "delay_minutes": 0 if not self._data["levels"] else 15,
            "targets": [],
        }
        if self._editing is not None:
            current = self._data["levels"][self._editing]
        schema = vol.Schema(
            {
                vol.Required("delay_minutes"): _minutes(1440),
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
            step_id="level", data_schema=self.add_suggested_values_to_schema(schema, current)
        )

    async def async_step_remove_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        if user_input is not None:
            del self._data["levels"][int(user_input["level"])]
            return await self.async_step_levels()
        return self.async_show_form(
            step_id="remove_level",
            data_schema=vol.Schema({vol.Required("level"): _labelled(self._level_labels())}),
        )

    async def async_step_move_level_up(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        if user_input is not None:
            index = int(user_input["level"])
            levels = self._data["levels"]
            levels[index - 1], levels[index] = levels[index], levels[index - 1]
            return await self.async_step_levels()
        return self.async_show_form(
            step_id="move_level_up",
            data_schema=vol.Schema({vol.Required("level"): _labelled(self._level_labels(1))}),
        )

    async def async_step_save(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Store the policy; sources that use it escalate with the new levels."""
        policy_from_data("check", self._data)
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                data=self._data,
                title=self._data["name"],
            )
        return self.async_create_entry(title=self._data["name"], data=self._data)
