"""Driving subentry flows through Home Assistant's flow manager, checking every result's texts."""

from __future__ import annotations

from typing import Any, cast

from homeassistant.config_entries import SubentryFlowContext
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .test_translations import assert_translated

type Result = dict[str, Any]


def suggested(result: Result) -> dict[str, Any]:
    """The values a form shows pre-filled."""
    return {
        str(marker.schema): marker.description["suggested_value"]
        for marker in result["data_schema"].schema
        if marker.description and "suggested_value" in marker.description
    }


def fields(result: Result) -> list[str]:
    return [str(marker.schema) for marker in result["data_schema"].schema]


def options(result: Result, field: str) -> list[Any]:
    for marker, selector in result["data_schema"].schema.items():
        if str(marker.schema) == field:
            return list(selector.config["options"])
    raise AssertionError(field)


async def start(
    hass: HomeAssistant, entry: MockConfigEntry, kind: str, subentry_id: str | None = None
) -> Result:
    context = SubentryFlowContext(source="reconfigure" if subentry_id else "user")
    if subentry_id:
        context["subentry_id"] = subentry_id
    result = cast(
        Result,
        await hass.config_entries.subentries.async_init((entry.entry_id, kind), context=context),
    )
    assert_translated(result)
    return result


async def submit(hass: HomeAssistant, result: Result, user_input: dict[str, Any]) -> Result:
    new = cast(
        Result, await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    )
    assert_translated(new)
    return new


async def choose(hass: HomeAssistant, result: Result, option: str) -> Result:
    assert result["type"] is FlowResultType.MENU
    assert option in result["menu_options"]
    return await submit(hass, result, {"next_step_id": option})
