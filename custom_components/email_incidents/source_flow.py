"""The alert source subentry flow: basics, then a menu with one entry per kind of rule (filters,
resolve rules, accept rules, key rules), the rule tester and save.

The flow keeps the data being edited in `self._data`, in exactly the form that is stored, and
validates it by building the core's objects from it (`source_from_data`), so the form and the
engine always agree on what is valid.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from .const import CONF_DOMAIN, DEFAULT_DOMAIN, SUBENTRY_POLICY, SUBENTRY_SOURCE
from .core.config import (
    CreationMode,
    SourceConfig,
    normalise_source_address,
    source_from_data,
    upgrade_source_data,
)
from .core.models import Priority
from .core.rules import KeyMethod, MatchMode, NoKeyFallback, Operator, RuleError
from .flow_helpers import (
    SavingSubentryFlow,
    condition_text,
    field_select,
    form_error,
    join_field,
    key_rule_text,
    labelled,
    minutes,
    numbered,
    quoted,
    select,
    split_field,
    typed_errors,
)
from .rule_tester import rule_test_results
from .texts import Texts, async_load_texts

NO_POLICY: Final = "none"
MAX_MINUTES: Final = 100_000
# The longest default maintenance a source can have: a week.
MAX_MAINTENANCE_MINUTES: Final = 10080
NEW_SOURCE_DEFAULTS: Final[dict[str, Any]] = {
    "priority": Priority.HIGH.value,
    "escalation_policy": None,
    "creation_mode": CreationMode.PER_SUBJECT.value,
    "strip_reply_tags": True,
    "auto_resolve_minutes": 0,
    "expected_interval_minutes": 0,
    "maintenance_max_minutes": 0,
    "support_hours_entity": None,
    "catch_all": False,
    "filters": [],
    "filter_mode": MatchMode.ALL.value,
    "key_rules": [],
    "resolve_conditions": [],
    "resolve_mode": MatchMode.ANY.value,
    "accept_conditions": [],
    "accept_mode": MatchMode.ANY.value,
    "no_key_fallback": NoKeyFallback.OPEN_WITHOUT_KEY.value,
}
KEY_RULES: Final = "key_rules"
# Shown in the key rule form's help, where the frontend would read it as markup if it were
# part of the translation.
KEY_RULE_EXAMPLES: Final = {
    "pattern_example": r"`Service Alert: (?P<host>[^/]+)/(?P<service>.+) is`",
    "template_example": "`{host}/{service}`",
}


@dataclass(frozen=True, slots=True)
class ConditionList:
    """One kind of condition rule: where it is stored and the steps that edit it."""

    data_key: str  # filters, resolve_conditions, accept_conditions
    mode_key: str  # its all/any choice; also the step that sets it
    menu: str  # the menu step listing the rules
    form: str  # the form step of one rule; add_<form>, edit_<form>, remove_<form>


FILTERS: Final = ConditionList("filters", "filter_mode", "filters", "filter")
RESOLVE_RULES: Final = ConditionList(
    "resolve_conditions", "resolve_mode", "resolve_rules", "resolve_rule"
)
ACCEPT_RULES: Final = ConditionList(
    "accept_conditions", "accept_mode", "accept_rules", "accept_rule"
)


class AlertSourceSubentryFlow(SavingSubentryFlow):
    """Add or change an alert source: its basics, then a menu of rules, the tester and save."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._editing: int | None = None
        self._texts: Texts | None = None

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

    async def _async_texts(self) -> Texts:
        if self._texts is None:
            self._texts = await async_load_texts(self.hass)
        return self._texts

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new alert source."""
        self._data = deepcopy(NEW_SOURCE_DEFAULTS)
        return await self.async_step_basics()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an alert source; its incidents are kept."""
        # A deep copy: editing must not touch the stored lists, or the update would see no change.
        stored = upgrade_source_data(deepcopy(dict(self._get_reconfigure_subentry().data)))
        self._data = {**deepcopy(NEW_SOURCE_DEFAULTS), **stored}
        return await self.async_step_basics()

    # --- basics ------------------------------------------------------------------------------

    def _policy_options(self, texts: Texts) -> list[SelectOptionDict]:
        return [
            SelectOptionDict(value=NO_POLICY, label=texts("rule_text", "no_policy")),
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
                vol.Required("priority"): select([p.value for p in Priority], "priority"),
                vol.Required("escalation_policy"): SelectSelector(
                    SelectSelectorConfig(options=policies, mode=SelectSelectorMode.DROPDOWN)
                ),
                vol.Required("creation_mode"): select(
                    [mode.value for mode in CreationMode], "creation_mode"
                ),
                vol.Required("strip_reply_tags"): BooleanSelector(),
                vol.Required("auto_resolve_minutes"): minutes(MAX_MINUTES),
                vol.Required("expected_interval_minutes"): minutes(MAX_MINUTES),
                vol.Required("maintenance_max_minutes"): minutes(MAX_MAINTENANCE_MINUTES),
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
        policies = self._policy_options(await self._async_texts())
        if user_input is not None and not (errors := typed_errors(user_input)):
            candidate = self._basics_candidate(user_input)
            errors, detail = self._basics_errors(candidate)
            if not errors:
                self._data = candidate
                if self._key_mode and not self._data[KEY_RULES]:
                    return await self.async_step_add_key_rule()
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
            "maintenance_max_minutes": int(user_input["maintenance_max_minutes"]),
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
            return form_error(err)
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

    def _condition_lists(self) -> list[ConditionList]:
        """Resolve and accept rules only mean something when e-mails carry incident keys."""
        return [FILTERS, RESOLVE_RULES, ACCEPT_RULES] if self._key_mode else [FILTERS]

    async def async_step_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The menu: basics, each kind of rule, the tester, save."""
        options = ["basics", FILTERS.menu]
        if self._key_mode:
            options += [KEY_RULES, RESOLVE_RULES.menu, ACCEPT_RULES.menu]
        options += ["test_rules", "save"]
        return self.async_show_menu(
            step_id="rules",
            menu_options=options,
            description_placeholders={"summary": await self._summary()},
        )

    async def _summary(self) -> str:
        """Every rule of the source, readable, with its pattern."""
        texts = await self._async_texts()
        sections = []
        for rules in self._condition_lists():
            sections.append(self._condition_section(texts, rules))
            if rules is FILTERS and self._key_mode:
                sections.append(self._key_section(texts))
        return "\n\n".join(sections)

    def _condition_section(self, texts: Texts, rules: ConditionList) -> str:
        conditions = self._data[rules.data_key]
        mode = self._data[rules.mode_key] if len(conditions) > 1 else ""
        heading = texts("rule_text", f"{rules.data_key}_heading{'_' if mode else ''}{mode}")
        if not conditions:
            return f"**{heading}** {texts('rule_text', f'no_{rules.data_key}')}"
        lines = [f"{n}. {condition_text(texts, c)}" for n, c in enumerate(conditions, 1)]
        return "\n".join([f"**{heading}**", *lines])

    def _key_section(self, texts: Texts) -> str:
        fallback = texts(
            "rule_text",
            "no_key_fallback",
            fallback=texts("no_key_fallback", self._data["no_key_fallback"]),
        )
        lines = [f"{n}. {key_rule_text(texts, r)}" for n, r in enumerate(self._data[KEY_RULES], 1)]
        heading = f"**{texts('rule_text', 'key_rules_heading')}**"
        # A blank line ends the numbered list: the fallback is no part of the last rule.
        return "\n".join([heading, *lines]) + f"\n\n{fallback}"

    # --- condition rules: filters, resolve rules, accept rules ---------------------------------

    async def _condition_menu(self, rules: ConditionList) -> SubentryFlowResult:
        options = [f"add_{rules.form}"]
        if self._data[rules.data_key]:
            options += [f"edit_{rules.form}", f"remove_{rules.form}"]
        if len(self._data[rules.data_key]) > 1:
            options.append(rules.mode_key)
        options.append("rules")
        return self.async_show_menu(
            step_id=rules.menu,
            menu_options=options,
            description_placeholders={
                "rules": self._condition_section(await self._async_texts(), rules)
            },
        )

    async def _condition_choices(self, rules: ConditionList) -> list[tuple[str, str]]:
        texts = await self._async_texts()
        return numbered([condition_text(texts, c, quoted) for c in self._data[rules.data_key]])

    async def _condition_form(
        self, rules: ConditionList, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """One condition: field, operator, value, case."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None and not (errors := typed_errors(user_input)):
            condition = {
                "field": join_field(user_input),
                "operator": user_input["operator"],
                "value": user_input.get("value", ""),
                "case_sensitive": user_input["case_sensitive"],
            }
            conditions = list(self._data[rules.data_key])
            if self._editing is None:
                conditions.append(condition)
            else:
                conditions[self._editing] = condition
            candidate = {**self._data, rules.data_key: conditions}
            try:
                self._build(candidate)
            except RuleError as err:
                errors, detail = form_error(err)
            else:
                self._data = candidate
                return await self._condition_menu(rules)
        suggested: dict[str, Any] = {
            "field": "subject",
            "operator": Operator.CONTAINS.value,
            "case_sensitive": False,
        }
        if self._editing is not None:
            current = self._data[rules.data_key][self._editing]
            field, header_name = split_field(current["field"])
            suggested = {**current, "field": field, "header_name": header_name}
        schema = vol.Schema(
            {
                vol.Required("field"): field_select(),
                vol.Optional("header_name"): TextSelector(),
                vol.Required("operator"): select([o.value for o in Operator], "operator"),
                vol.Optional("value"): TextSelector(),
                vol.Required("case_sensitive"): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id=rules.form,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
            description_placeholders={"error_detail": detail},
        )

    async def _choose_condition(
        self, rules: ConditionList, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        if user_input is not None:
            self._editing = int(user_input["rule"])
            return await self._condition_form(rules, None)
        return self.async_show_form(
            step_id=f"edit_{rules.form}",
            data_schema=vol.Schema(
                {vol.Required("rule"): labelled(await self._condition_choices(rules))}
            ),
        )

    async def _remove_conditions(
        self, rules: ConditionList, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        if user_input is not None:
            doomed = {int(index) for index in user_input.get("rules", [])}
            self._data[rules.data_key] = [
                c for i, c in enumerate(self._data[rules.data_key]) if i not in doomed
            ]
            return await self._condition_menu(rules)
        return self.async_show_form(
            step_id=f"remove_{rules.form}",
            # Optional: the frontend ticks the first choice of a required one.
            data_schema=vol.Schema(
                {
                    vol.Optional("rules"): labelled(
                        await self._condition_choices(rules), multiple=True
                    )
                }
            ),
        )

    async def _condition_mode(
        self, rules: ConditionList, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        if user_input is not None:
            self._data[rules.mode_key] = user_input[rules.mode_key]
            return await self._condition_menu(rules)
        schema = vol.Schema(
            {vol.Required(rules.mode_key): select([m.value for m in MatchMode], "match_mode")}
        )
        return self.async_show_form(
            step_id=rules.mode_key,
            data_schema=self.add_suggested_values_to_schema(schema, self._data),
        )

    async def async_step_filters(self, user_input: None = None) -> SubentryFlowResult:
        """The filters: e-mails that fail them are ignored."""
        return await self._condition_menu(FILTERS)

    async def async_step_add_filter(self, user_input: None = None) -> SubentryFlowResult:
        self._editing = None
        return await self._condition_form(FILTERS, None)

    async def async_step_filter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._condition_form(FILTERS, user_input)

    async def async_step_edit_filter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._choose_condition(FILTERS, user_input)

    async def async_step_remove_filter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._remove_conditions(FILTERS, user_input)

    async def async_step_filter_mode(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._condition_mode(FILTERS, user_input)

    async def async_step_resolve_rules(self, user_input: None = None) -> SubentryFlowResult:
        """The resolve rules: matching e-mails resolve the open incidents with their key."""
        return await self._condition_menu(RESOLVE_RULES)

    async def async_step_add_resolve_rule(self, user_input: None = None) -> SubentryFlowResult:
        self._editing = None
        return await self._condition_form(RESOLVE_RULES, None)

    async def async_step_resolve_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._condition_form(RESOLVE_RULES, user_input)

    async def async_step_edit_resolve_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._choose_condition(RESOLVE_RULES, user_input)

    async def async_step_remove_resolve_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._remove_conditions(RESOLVE_RULES, user_input)

    async def async_step_resolve_mode(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._condition_mode(RESOLVE_RULES, user_input)

    async def async_step_accept_rules(self, user_input: None = None) -> SubentryFlowResult:
        """The accept rules: matching e-mails accept the open incidents with their key."""
        return await self._condition_menu(ACCEPT_RULES)

    async def async_step_add_accept_rule(self, user_input: None = None) -> SubentryFlowResult:
        self._editing = None
        return await self._condition_form(ACCEPT_RULES, None)

    async def async_step_accept_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._condition_form(ACCEPT_RULES, user_input)

    async def async_step_edit_accept_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._choose_condition(ACCEPT_RULES, user_input)

    async def async_step_remove_accept_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._remove_conditions(ACCEPT_RULES, user_input)

    async def async_step_accept_mode(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        return await self._condition_mode(ACCEPT_RULES, user_input)

    # --- key rules -------------------------------------------------------------------------------

    async def async_step_key_rules(self, user_input: None = None) -> SubentryFlowResult:
        """The key rules, in order: the first that finds a key in an e-mail gives it."""
        options = ["add_key_rule"]
        if self._data[KEY_RULES]:
            options += ["edit_key_rule", "remove_key_rule"]
        if len(self._data[KEY_RULES]) > 1:
            options.append("move_key_rule_up")
        options += ["no_key_fallback", "rules"]
        return self.async_show_menu(
            step_id=KEY_RULES,
            menu_options=options,
            description_placeholders={"rules": self._key_section(await self._async_texts())},
        )

    async def _key_rule_choices(self, first: int = 0) -> list[tuple[str, str]]:
        texts = await self._async_texts()
        choices = numbered([key_rule_text(texts, r, quoted) for r in self._data[KEY_RULES]])
        return choices[first:]

    async def async_step_add_key_rule(self, user_input: None = None) -> SubentryFlowResult:
        self._editing = None
        return await self.async_step_key_rule()

    async def async_step_key_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """One key rule: where to look, how to find the key, how to write it."""
        errors: dict[str, str] = {}
        detail = ""
        if user_input is not None and not (errors := typed_errors(user_input)):
            rule = {
                "field": join_field(user_input),
                "method": user_input["method"],
                "pattern": user_input.get("pattern", ""),
                "prefix": user_input.get("prefix", ""),
                "suffix": user_input.get("suffix", ""),
                "case_sensitive": user_input["case_sensitive"],
                "template": user_input.get("template", "").strip(),
            }
            key_rules = list(self._data[KEY_RULES])
            if self._editing is None:
                key_rules.append(rule)
            else:
                key_rules[self._editing] = rule
            candidate = {**self._data, KEY_RULES: key_rules}
            try:
                self._build(candidate)
            except RuleError as err:
                errors, detail = form_error(err)
            else:
                self._data = candidate
                return await self.async_step_key_rules()
        suggested: dict[str, Any] = {
            "field": "subject",
            "method": KeyMethod.REGEX.value,
            "case_sensitive": False,
        }
        if self._editing is not None:
            current = self._data[KEY_RULES][self._editing]
            field, header_name = split_field(current["field"])
            suggested = {**current, "field": field, "header_name": header_name}
        schema = vol.Schema(
            {
                vol.Required("field"): field_select(),
                vol.Optional("header_name"): TextSelector(),
                vol.Required("method"): select([m.value for m in KeyMethod], "key_method"),
                vol.Optional("pattern"): TextSelector(),
                vol.Optional("prefix"): TextSelector(),
                vol.Optional("suffix"): TextSelector(),
                vol.Required("case_sensitive"): BooleanSelector(),
                vol.Optional("template"): TextSelector(),
            }
        )
        return self.async_show_form(
            step_id="key_rule",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
            description_placeholders={"error_detail": detail, **KEY_RULE_EXAMPLES},
        )

    async def async_step_edit_key_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        if user_input is not None:
            self._editing = int(user_input["rule"])
            return await self.async_step_key_rule()
        return self.async_show_form(
            step_id="edit_key_rule",
            data_schema=vol.Schema(
                {vol.Required("rule"): labelled(await self._key_rule_choices())}
            ),
        )

    async def async_step_remove_key_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        if user_input is not None:
            doomed = {int(index) for index in user_input.get("rules", [])}
            self._data[KEY_RULES] = [
                r for i, r in enumerate(self._data[KEY_RULES]) if i not in doomed
            ]
            return await self.async_step_key_rules()
        return self.async_show_form(
            step_id="remove_key_rule",
            data_schema=vol.Schema(
                {vol.Optional("rules"): labelled(await self._key_rule_choices(), multiple=True)}
            ),
        )

    async def async_step_move_key_rule_up(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Try a key rule one place earlier."""
        if user_input is not None:
            index = int(user_input["rule"])
            key_rules = self._data[KEY_RULES]
            key_rules[index - 1], key_rules[index] = key_rules[index], key_rules[index - 1]
            return await self.async_step_key_rules()
        return self.async_show_form(
            step_id="move_key_rule_up",
            data_schema=vol.Schema(
                {vol.Required("rule"): labelled(await self._key_rule_choices(1))}
            ),
        )

    async def async_step_no_key_fallback(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """What happens to an e-mail in which no key rule finds a key."""
        if user_input is not None:
            self._data["no_key_fallback"] = user_input["no_key_fallback"]
            return await self.async_step_key_rules()
        schema = vol.Schema(
            {
                vol.Required("no_key_fallback"): select(
                    [f.value for f in NoKeyFallback], "no_key_fallback"
                )
            }
        )
        return self.async_show_form(
            step_id="no_key_fallback",
            data_schema=self.add_suggested_values_to_schema(schema, self._data),
        )

    # --- the rule tester and save ------------------------------------------------------------

    async def async_step_test_rules(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """What the rules being edited would have done to the e-mails received recently."""
        texts = await self._async_texts()
        results = rule_test_results(self._get_entry(), self._build(self._data), texts)
        return self.async_show_menu(
            step_id="test_rules",
            menu_options=["rules", "save"],
            description_placeholders={"results": results},
        )

    async def async_step_save(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Store the source; it applies at once, incidents are kept."""
        data = dict(self._data)
        if not self._key_mode:
            # Stored data says what the source does: rules of another mode would be dormant.
            data |= {KEY_RULES: [], "resolve_conditions": [], "accept_conditions": []}
        return self.save(data)
