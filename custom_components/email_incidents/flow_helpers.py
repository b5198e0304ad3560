"""What the subentry flows share: saving, selectors, the field and header inputs, errors, and
the readable form of rules built from translated texts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import re
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .core.rules import FIELDS, HEADER_PREFIX, KeyMethod, RuleError
from .flow_validation import input_errors
from .texts import Texts

FIELD_HEADER: Final = "header"
# A RuleError names the core's input at fault; the forms ask for a header name separately.
FORM_FIELD_OF_RULE_INPUT: Final = {"field": "header_name"}
# The longest text each typed field takes.
TEXT_LIMITS: Final = {
    "name": 100,
    "addresses": 254,
    "header_name": 100,
    "value": 1000,
    "pattern": 1000,
    "prefix": 255,
    "suffix": 255,
    "template": 255,
    "targets": 255,
}
NUMBER_FIELDS: Final = (
    "auto_resolve_minutes",
    "expected_interval_minutes",
    "maintenance_max_minutes",
    "repeat",
    "delay_minutes",
)


class SavingSubentryFlow(ConfigSubentryFlow):
    """A subentry flow whose last step saves the subentry it created or reconfigured."""

    def save(self, data: dict[str, Any]) -> SubentryFlowResult:
        """Create the subentry named `data["name"]`, or update it. Not async_update_and_abort:
        from 2026.10 its default ending shows Home Assistant's generic text instead of this
        integration's (translations/en.json)."""
        if self.source == "reconfigure":
            self.hass.config_entries.async_update_subentry(
                self._get_entry(), self._get_reconfigure_subentry(), data=data, title=data["name"]
            )
            return self.async_abort(reason="reconfigure_successful")
        return self.async_create_entry(title=data["name"], data=data)


def typed_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors of the texts and numbers typed into a source or policy form, by field."""
    return input_errors(user_input, TEXT_LIMITS, NUMBER_FIELDS)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def select(options: list[str], translation_key: str) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options, translation_key=translation_key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def labelled(options: list[tuple[str, str]], *, multiple: bool = False) -> SelectSelector:
    """A choice among the items being edited, labelled with their own text."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=value, label=label) for value, label in options],
            multiple=multiple,
            mode=SelectSelectorMode.LIST,
        )
    )


def minutes(maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=0, max=maximum, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
        )
    )


def field_select() -> SelectSelector:
    return select([*FIELDS, FIELD_HEADER], "field")


def split_field(field: str) -> tuple[str, str]:
    """Stored "header:X-Name" as the form shows it: the field choice and the header name."""
    if field.startswith(HEADER_PREFIX):
        return FIELD_HEADER, field[len(HEADER_PREFIX) :]
    return field, ""


def join_field(user_input: Mapping[str, Any]) -> str:
    if user_input["field"] == FIELD_HEADER:
        return f"{HEADER_PREFIX}{user_input.get('header_name', '').strip()}"
    return str(user_input["field"])


def form_error(err: RuleError) -> tuple[dict[str, str], str]:
    """The form error of a core RuleError, and its message for the `error_detail` placeholder."""
    return {FORM_FIELD_OF_RULE_INPUT.get(err.field, err.field): err.reason}, str(err)


def markdown_text(text: str) -> str:
    """Text shown as it is inside a description, which the frontend renders as Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


type Quote = Callable[[str], str]


def code(text: str) -> str:
    """Typed text (a value, a pattern) as a Markdown code span, whatever it contains."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def quoted(text: str) -> str:
    """Typed text in a choice's label, which is plain text."""
    return f"“{text}”"


def field_text(texts: Texts, field: str, quote: Quote = code) -> str:
    choice, header = split_field(field)
    if choice == FIELD_HEADER:
        return texts("rule_text", "header_field", name=quote(header))
    return texts("field", choice)


def condition_text(texts: Texts, condition: Mapping[str, Any], quote: Quote = code) -> str:
    """ "Subject contains `PROBLEM`", in the language of `texts`."""
    text = texts(
        "rule_text",
        "condition",
        field=field_text(texts, condition["field"], quote),
        operator=texts("operator", condition["operator"]),
        value=quote(condition["value"]),
    )
    if condition.get("case_sensitive"):
        text += texts("rule_text", "case_sensitive")
    return text


def key_rule_text(texts: Texts, rule: Mapping[str, Any], quote: Quote = code) -> str:
    """ "Subject, regular expression `...`, key `{host}`", in the language of `texts`."""
    method = KeyMethod(rule["method"])
    found = texts("key_method", method)
    if method is KeyMethod.REGEX:
        found = texts("rule_text", "regex", pattern=quote(rule["pattern"]))
    elif method is KeyMethod.BETWEEN:
        suffix = rule.get("suffix") or ""
        found = texts(
            "rule_text",
            "between" if suffix else "after",
            prefix=quote(rule["prefix"]),
            suffix=quote(suffix),
        )
    field = field_text(texts, rule["field"], quote)
    text = texts("rule_text", "key_rule", field=field, method=found)
    if rule.get("case_sensitive"):
        text += texts("rule_text", "case_sensitive")
    if rule.get("template"):
        text += texts("rule_text", "template", template=quote(rule["template"]))
    return text


def numbered(lines: list[str]) -> list[tuple[str, str]]:
    """Choices "0", "1", ... labelled "1. ...", "2. ..."."""
    return [(str(index), f"{index + 1}. {line}") for index, line in enumerate(lines)]
