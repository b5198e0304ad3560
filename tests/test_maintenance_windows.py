"""Maintenance windows: start_maintenance for a duration or until a time turns the source's
maintenance switch on, shows when it ends, and turns it off by itself then, also when Home
Assistant was down at that moment; end_maintenance ends it at once; the switch alone stays on
until turned off."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import re

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
import voluptuous as vol
import yaml

from custom_components.email_incidents.const import DOMAIN

pytestmark = pytest.mark.freeze_time("2026-12-07T03:00:00+00:00")

SWITCH = "switch.nas_maintenance"


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def _start(hass: HomeAssistant, **data: object) -> None:
    await hass.services.async_call(
        DOMAIN, "start_maintenance", {"source": "NAS", **data}, blocking=True
    )
    await hass.async_block_till_done()


async def test_a_window_ends_by_itself(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    await _start(hass, duration={"minutes": 1})
    state = hass.states.get(SWITCH)
    assert state is not None
    assert (state.state, state.attributes["ends"]) == ("on", "2026-12-07T03:01:00+00:00")
    await _advance(hass, freezer, 0.5)
    assert hass.states.get(SWITCH).state == "on"
    await _advance(hass, freezer, 0.5)
    state = hass.states.get(SWITCH)
    assert (state.state, "ends" in state.attributes) == ("off", False)


async def test_a_window_that_ended_while_home_assistant_was_down(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    until = dt_util.as_local(dt_util.utcnow() + timedelta(minutes=10)).replace(tzinfo=None)
    await _start(hass, until=until.isoformat())
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-07T03:10:00+00:00"
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    freezer.tick(timedelta(minutes=11))
    assert await hass.config_entries.async_setup(setup_integration.entry_id)
    await hass.async_block_till_done()
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SWITCH).state == "off"


async def test_end_maintenance_and_the_switch_alone(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    await _start(hass, duration={"hours": 8})
    await hass.services.async_call(DOMAIN, "end_maintenance", {"source": "NAS"}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(SWITCH).state == "off"
    # Turned on from the switch: no end, stays on (as before windows).
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await _advance(hass, freezer, 60 * 24)
    state = hass.states.get(SWITCH)
    assert (state.state, "ends" in state.attributes) == ("on", False)


async def test_a_window_needs_an_end_in_the_future(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    with pytest.raises(vol.Invalid):
        await _start(hass)
    with pytest.raises(vol.Invalid):
        await _start(hass, duration={"minutes": 5}, until="2026-12-07 05:00:00")
    with pytest.raises(ServiceValidationError) as refused:
        await _start(hass, until="2026-12-07T02:00:00+00:00")
    assert refused.value.translation_key == "maintenance_in_the_past"
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN,
            "start_maintenance",
            {"source": "Nothing", "duration": {"minutes": 5}},
            blocking=True,
        )
    assert refused.value.translation_key == "unknown_source"
    assert hass.states.get(SWITCH).state == "off"


async def test_the_readme_example_opens_a_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    """The README's automation: Sunday at 01:55 its action opens a two-hour window."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- maintenance-window-example -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    example = yaml.safe_load(block.group(1))
    assert example["triggers"] == [{"trigger": "time", "at": "01:55:00"}]
    assert example["conditions"] == [{"condition": "time", "weekday": "sun"}]
    (action,) = example["actions"]
    domain, service = action["action"].split(".")
    await hass.services.async_call(domain, service, action["data"], blocking=True)
    await hass.async_block_till_done()
    state = hass.states.get(SWITCH)
    assert state.state == "on"
    assert state.attributes["ends"] == (dt_util.utcnow() + timedelta(hours=2)).isoformat()
    await _advance(hass, freezer, 120)
    assert hass.states.get(SWITCH).state == "off"
