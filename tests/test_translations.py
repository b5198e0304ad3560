"""Every text the config flows can show is in en.json.

The flow tests (test_config_flow.py, test_source_flow.py, test_policy_flow.py) pass every result
they drive the flows to through `assert_translated`, so each form, section, menu, selector, error
and abort that a flow shows is checked against en.json where it appears. The tests here check
en.json itself.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from pathlib import Path
import re
import string
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigSubentryFlow
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers.selector import SelectSelector
import pytest

from custom_components.email_incidents.config_flow import EmailIncidentsConfigFlow
from custom_components.email_incidents.const import (
    SUBENTRY_MAILBOX,
    SUBENTRY_POLICY,
    SUBENTRY_ROTATION,
    SUBENTRY_SOURCE,
)
from custom_components.email_incidents.mailbox_flow import MailboxSubentryFlow
from custom_components.email_incidents.policy_flow import EscalationPolicySubentryFlow
from custom_components.email_incidents.rotation_flow import RotationSubentryFlow
from custom_components.email_incidents.source_flow import AlertSourceSubentryFlow

PACKAGE = Path(__file__).parent.parent / "custom_components" / "email_incidents"
EN: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text("utf-8"))
FLOWS: dict[str, tuple[type[ConfigFlow] | type[ConfigSubentryFlow], Mapping[str, Any]]] = {
    "config": (EmailIncidentsConfigFlow, EN["config"]),
    SUBENTRY_SOURCE: (AlertSourceSubentryFlow, EN["config_subentries"][SUBENTRY_SOURCE]),
    SUBENTRY_POLICY: (EscalationPolicySubentryFlow, EN["config_subentries"][SUBENTRY_POLICY]),
    SUBENTRY_MAILBOX: (MailboxSubentryFlow, EN["config_subentries"][SUBENTRY_MAILBOX]),
    SUBENTRY_ROTATION: (RotationSubentryFlow, EN["config_subentries"][SUBENTRY_ROTATION]),
}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _assert_selector_translated(name: str, selector: Any) -> None:
    if not isinstance(selector, SelectSelector):
        return
    translation_key = selector.config.get("translation_key")
    if translation_key is None:
        return
    options = EN["selector"][translation_key]["options"]
    for option in selector.config["options"]:
        assert options.get(option), f"{name}: selector {translation_key} lacks {option}"


def _assert_fields_translated(step: Mapping[str, Any], schema: Any, where: str) -> None:
    for marker, validator in schema.schema.items():
        name = str(marker.schema)
        if isinstance(validator, section):
            texts = step["sections"][name]
            assert texts.get("name"), f"{where}: section {name} has no name"
            _assert_fields_translated(texts, validator.schema, f"{where}.{name}")
            continue
        assert step["data"].get(name), f"{where}: no label for {name}"
        assert step["data_description"].get(name), f"{where}: no description for {name}"
        _assert_selector_translated(f"{where}.{name}", validator)


def assert_translated(result: Mapping[str, Any]) -> None:
    """The texts of one flow result exist, and their placeholders are all provided."""
    handler = result["handler"]
    texts = FLOWS["config" if isinstance(handler, str) else handler[1]][1]
    provided = set(result.get("description_placeholders") or {})
    match result["type"]:
        case FlowResultType.FORM:
            step = texts["step"][result["step_id"]]
            assert step.get("title"), result["step_id"]
            assert _placeholders(step.get("description", "")) <= provided
            _assert_fields_translated(step, result["data_schema"], result["step_id"])
            for error in (result["errors"] or {}).values():
                assert texts["error"].get(error), f"no text for error {error}"
                assert _placeholders(texts["error"][error]) <= provided, error
        case FlowResultType.MENU:
            step = texts["step"][result["step_id"]]
            assert step.get("title"), result["step_id"]
            assert _placeholders(step["description"]) <= provided
            for option in result["menu_options"]:
                assert step["menu_options"].get(option), f"no label for option {option}"
                assert step["menu_option_descriptions"].get(option), option
        case FlowResultType.ABORT:
            assert texts["abort"].get(result["reason"]), f"no text for abort {result['reason']}"
        case _:
            assert result["type"] is FlowResultType.CREATE_ENTRY


def _steps(texts: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every step of a flow's texts, with each of its sections as a step of its own."""
    found = []
    for step_id, step in texts["step"].items():
        found.append((step_id, step))
        found.extend((f"{step_id}.{name}", part) for name, part in step.get("sections", {}).items())
    return found


@pytest.mark.parametrize("flow", list(FLOWS))
def test_every_field_has_a_label_and_a_description(flow: str) -> None:
    for step_id, step in _steps(FLOWS[flow][1]):
        assert set(step.get("data", {})) == set(step.get("data_description", {})), step_id
        assert all(step.get("data", {}).values()), step_id
        assert all(step.get("data_description", {}).values()), step_id
        assert set(step.get("menu_options", {})) == set(step.get("menu_option_descriptions", {})), (
            step_id
        )


@pytest.mark.parametrize("flow", list(FLOWS))
def test_every_translated_step_is_a_step_of_the_flow(flow: str) -> None:
    handler, texts = FLOWS[flow]
    for step_id in texts["step"]:
        assert callable(getattr(handler, f"async_step_{step_id}", None)), step_id


@pytest.mark.parametrize("flow", [SUBENTRY_SOURCE, SUBENTRY_POLICY])
def test_subentry_types_have_names_and_flow_initiators(flow: str) -> None:
    texts = FLOWS[flow][1]
    assert texts["entry_type"]
    assert texts["initiate_flow"]["user"]
    assert texts["initiate_flow"]["reconfigure"]


def test_every_rule_error_of_the_core_has_a_text() -> None:
    """The source flow shows the core's RuleError reasons as they are."""
    core = (PACKAGE / "core" / "rules.py").read_text("utf-8") + (
        PACKAGE / "core" / "config.py"
    ).read_text("utf-8")
    reasons = set(re.findall(r'reason="(\w+)"', core))
    assert reasons >= {"invalid_regex", "catastrophic_regex", "invalid_address", "empty_value"}
    errors = FLOWS[SUBENTRY_SOURCE][1]["error"]
    assert {reason for reason in reasons if not errors.get(reason)} == set()


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string of a translation file with its path."""
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _strings(value, f"{path}.{key}")]
    return [(path, node)] if isinstance(node, str) else []


# The frontend parses each message as ICU with tags: "<key>" opens a tag, "</" closes one.
ICU_TAG = re.compile(r"<[A-Za-z/]")


@pytest.mark.parametrize(
    "translation_file", sorted(PACKAGE.glob("translations/*.json")), ids=lambda path: path.name
)
def test_no_string_can_be_read_as_a_tag(translation_file: Path) -> None:
    strings = _strings(json.loads(translation_file.read_text("utf-8")))
    assert len(strings) > 100
    assert [(path, text) for path, text in strings if ICU_TAG.search(text)] == []


@pytest.mark.parametrize(
    "translation_file",
    sorted(set(PACKAGE.glob("translations/*.json")) - {PACKAGE / "translations" / "en.json"}),
    ids=lambda path: path.name,
)
def test_every_translation_has_every_text_with_its_placeholders(translation_file: Path) -> None:
    """Texts built in code are formatted with the placeholders of en.json, in any language."""
    english = dict(_strings(EN))
    translated = dict(_strings(json.loads(translation_file.read_text("utf-8"))))
    assert sorted(set(english) ^ set(translated)) == []
    assert [
        path
        for path, text in translated.items()
        if _placeholders(text) != _placeholders(english[path])
    ] == []
