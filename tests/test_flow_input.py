"""Hostile values in every field a user types, in the listener's flows (set up and reconfigure)
and the subentry flows (alert sources with their rules, escalation policies with their levels):
control characters, NUL bytes, over-long texts, too many entries and values of the wrong type
get a form error (translated) or Home Assistant's own schema error, never an exception that
would answer HTTP 500, and nothing is stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from homeassistant.config_entries import ConfigEntryState, SubentryFlowContext
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import issue_registry as ir
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import (
    CONF_TLS_CERT,
    CONF_TLS_KEY,
    DOMAIN,
    SUBENTRY_POLICY,
    SUBENTRY_SOURCE,
)

from .test_config_flow import form
from .test_source_flow import basics
from .test_translations import assert_translated

type Result = dict[str, Any]

CONTROL_CHARACTERS = [chr(code) for code in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029"]
with_control_character = st.builds(
    lambda before, control, after: before + control + after,
    st.text(max_size=10),
    st.sampled_from(CONTROL_CHARACTERS),
    st.text(max_size=10),
)
too_long = st.integers(min_value=4097, max_value=20_000).map(lambda length: "a" * length)
wrong_type = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
hostile_text = st.one_of(with_control_character, too_long, wrong_type)
# Home Assistant's number selector takes anything float() takes, NaN included.
hostile_number = st.one_of(
    st.sampled_from([float("nan"), "nan", "NaN", float("inf"), "-inf", "1e999"]),
    wrong_type.filter(lambda value: not isinstance(value, int | float)),
)
hostile_list = st.one_of(
    hostile_text,
    st.lists(hostile_text, min_size=1, max_size=3).map(lambda items: ["ok", *items]),
    st.just(["a"] * 101),
)
HOSTILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Field:
    """A typed field: how to reach its form, a valid submission, where the value goes."""

    flow: str  # "user", "reconfigure", SUBENTRY_SOURCE or SUBENTRY_POLICY
    steps: tuple[dict[str, Any], ...]  # what to submit to reach the form
    valid: dict[str, Any]
    name: str
    section: str | None = None
    is_list: bool = False
    is_number: bool = False

    @property
    def hostile(self) -> st.SearchStrategy[Any]:
        if self.is_number:
            return hostile_number
        return hostile_list if self.is_list else hostile_text

    @property
    def error_key(self) -> str:
        return self.section or self.name

    def submission(self, value: Any) -> dict[str, Any]:
        if self.section is None:
            return {**self.valid, self.name: value}
        return {**self.valid, self.section: {**self.valid[self.section], self.name: value}}


def _listener_fields(flow: str) -> list[Field]:
    valid = form(2525)
    return [
        Field(flow, (), valid, "host"),
        Field(flow, (), valid, "mail_domain"),
        Field(flow, (), valid, "allowed_networks", is_list=True),
        Field(flow, (), valid, CONF_TLS_CERT, section="tls"),
        Field(flow, (), valid, CONF_TLS_KEY, section="tls"),
        Field(flow, (), valid, "auth_username", section="authentication"),
        Field(flow, (), valid, "auth_password", section="authentication"),
        Field(flow, (), valid, "port", is_number=True),
        Field(flow, (), valid, "max_message_size", is_number=True),
        Field(flow, (), valid, "tls_port", section="tls", is_number=True),
        *(
            Field(flow, (), valid, name, section="limits", is_number=True)
            for name in valid["limits"]
        ),
    ]


KEYED = {"creation_mode": "incident_keys"}
RULE = {"field": "header", "operator": "contains", "case_sensitive": False}
KEY_RULE = {"field": "header", "method": "regex", "case_sensitive": False}
TO_RULE = ({}, basics(), {"next_step_id": "filters"}, {"next_step_id": "add_filter"})
FIELDS = [
    *_listener_fields("user"),
    *_listener_fields("reconfigure"),
    Field(SUBENTRY_SOURCE, (), basics(), "name"),
    Field(SUBENTRY_SOURCE, (), basics(), "addresses", is_list=True),
    Field(SUBENTRY_SOURCE, (), basics(), "auto_resolve_minutes", is_number=True),
    Field(SUBENTRY_SOURCE, (), basics(), "expected_interval_minutes", is_number=True),
    Field(SUBENTRY_SOURCE, (), basics(), "maintenance_max_minutes", is_number=True),
    Field(SUBENTRY_SOURCE, TO_RULE, {**RULE, "header_name": "X-A", "value": "v"}, "header_name"),
    Field(SUBENTRY_SOURCE, TO_RULE, {**RULE, "header_name": "X-A", "value": "v"}, "value"),
    *(
        Field(
            SUBENTRY_SOURCE,
            ({}, basics(**KEYED)),
            {
                **KEY_RULE,
                "header_name": "X-Id",
                "pattern": "(.*)",
                "prefix": "",
                "suffix": "",
                "template": "",
            },
            name,
        )
        for name in ("header_name", "pattern", "prefix", "suffix", "template")
    ),
    Field(SUBENTRY_POLICY, (), {"name": "On call", "repeat": 0}, "name"),
    Field(SUBENTRY_POLICY, (), {"name": "On call", "repeat": 0}, "repeat", is_number=True),
    Field(
        SUBENTRY_POLICY,
        ({}, {"name": "On call", "repeat": 0}),
        {"delay_minutes": 0, "targets": ["notify.phone"]},
        "delay_minutes",
        is_number=True,
    ),
    Field(
        SUBENTRY_POLICY,
        ({}, {"name": "On call", "repeat": 0}),
        {"delay_minutes": 0, "targets": ["notify.phone"]},
        "targets",
        is_list=True,
    ),
]


def _field_id(field: Field) -> str:
    return f"{field.flow}-{field.section + '.' if field.section else ''}{field.name}"


async def _flow_driver(
    hass: HomeAssistant, field: Field, entry: MockConfigEntry | None
) -> tuple[Result, Callable[[Result, dict[str, Any]], Awaitable[Result]]]:
    """The flow opened at the field's form, and how to submit to it."""
    manager: Any
    if field.flow in ("user", "reconfigure"):
        manager = hass.config_entries.flow
        context: dict[str, Any] = {"source": field.flow}
        if entry is not None:
            context["entry_id"] = entry.entry_id
        result = await manager.async_init(DOMAIN, context=context)
    else:
        assert entry is not None
        manager = hass.config_entries.subentries
        result = await manager.async_init(
            (entry.entry_id, field.flow), context=SubentryFlowContext(source="user")
        )

    async def _submit(current: Result, user_input: dict[str, Any]) -> Result:
        new = cast(Result, await manager.async_configure(current["flow_id"], user_input))
        assert_translated(new)
        return new

    for step in field.steps[1:]:
        result = await _submit(result, step)
    assert result["type"] is FlowResultType.FORM, result
    return result, _submit


async def _assert_refused(
    hass: HomeAssistant, field: Field, entry: MockConfigEntry | None, value: Any
) -> None:
    result, submit = await _flow_driver(hass, field, entry)
    try:
        result = await submit(result, field.submission(value))
    except InvalidData:
        return  # Home Assistant's schema refused the type: a form error in the frontend
    finally:
        for flow in [*hass.config_entries.flow.async_progress()]:
            hass.config_entries.flow.async_abort(flow["flow_id"])
    assert result["type"] is FlowResultType.FORM, (value, result)
    assert result["errors"].get(field.error_key) in (
        "invalid_text",
        "text_too_long",
        "too_many_values",
        "invalid_number",
    ), (value, result["errors"])


@pytest.mark.parametrize("field", [f for f in FIELDS if f.flow == "user"], ids=_field_id)
@HOSTILE
@given(data=st.data())
async def test_setting_up_the_listener_refuses_hostile_values(
    hass: HomeAssistant, field: Field, data: st.DataObject
) -> None:
    value = data.draw(field.hostile)
    await _assert_refused(hass, field, None, value)
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("field", [f for f in FIELDS if f.flow != "user"], ids=_field_id)
@HOSTILE
@given(data=st.data())
async def test_every_other_flow_refuses_hostile_values(
    hass: HomeAssistant, config_entry: MockConfigEntry, field: Field, data: st.DataObject
) -> None:
    value = data.draw(field.hostile)
    before = (dict(config_entry.data), dict(config_entry.subentries))
    await _assert_refused(hass, field, config_entry, value)
    assert (dict(config_entry.data), dict(config_entry.subentries)) == before


async def test_a_nul_byte_in_the_certificate_path_is_a_form_error(
    hass: HomeAssistant, smtp_port: int, tls_files: tuple[str, str]
) -> None:
    """It used to reach `load_cert_chain`, whose ValueError answered HTTP 500."""
    certificate, key = tls_files
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    tls = {CONF_TLS_CERT: certificate + "\x00.pem", CONF_TLS_KEY: key}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(smtp_port, tls=tls)
    )
    assert_translated(result)
    assert result["errors"] == {"tls": "invalid_text"}


@pytest.mark.parametrize(
    "extra_listener_data",
    [{CONF_TLS_CERT: "/etc/ssl/cert\x00.pem", CONF_TLS_KEY: "/etc/ssl/key.pem"}],
)
async def test_a_stored_certificate_path_with_a_nul_byte_raises_a_repair(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Settings stored before this check: the listener does not start, a repair says why,
    and no traceback."""
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "certificate_unreadable")
    assert issue is not None
    await hass.config_entries.async_unload(config_entry.entry_id)
