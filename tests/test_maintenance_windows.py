"""Maintenance windows: start_maintenance for a duration or until a time turns the source's
maintenance switch on, shows when it ends, and turns it off by itself then, also when Home
Assistant was down at that moment; end_maintenance ends it at once; the switch alone stays on
until turned off, unless the source has a default maximum (an option of the source): then
turning it on opens a window of that length."""

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

from custom_components.email_incidents.const import DOMAIN, SUBENTRY_SOURCE

from .conftest import source_subentry
from .flow_driver import choose, start, submit, suggested

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


# --- the switch with a default maximum (an alert source option) -------------------------------

EIGHT_HOURS = [[source_subentry(maintenance_max_minutes=480)]]


async def _switch(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call("switch", service, {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done()


@pytest.mark.parametrize("subentries", EIGHT_HOURS)
async def test_the_switch_ends_by_itself_after_the_sources_maximum(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    await _switch(hass, "turn_on")
    state = hass.states.get(SWITCH)
    assert (state.state, state.attributes["ends"]) == ("on", "2026-12-07T11:00:00+00:00")
    # The end is stored: a restart in between keeps it.
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    await _advance(hass, freezer, 8 * 60 - 1)
    state = hass.states.get(SWITCH)
    assert (state.state, state.attributes["ends"]) == ("on", "2026-12-07T11:00:00+00:00")
    await _advance(hass, freezer, 1)
    state = hass.states.get(SWITCH)
    assert (state.state, "ends" in state.attributes) == ("off", False)
    # Turned off by hand before its end: off, and the next turn on counts from then.
    await _switch(hass, "turn_on")
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-07T19:00:00+00:00"
    await _switch(hass, "turn_off")
    await _advance(hass, freezer, 8 * 60)
    state = hass.states.get(SWITCH)
    assert (state.state, "ends" in state.attributes) == ("off", False)


@pytest.mark.parametrize("subentries", EIGHT_HOURS)
async def test_turning_on_a_switch_that_is_on_keeps_its_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    """A window from start_maintenance keeps its own end, shorter or longer than the
    maximum; so does one the switch started, when it is turned on again later."""
    await _start(hass, duration={"minutes": 30})
    await _switch(hass, "turn_on")
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-07T03:30:00+00:00"
    await hass.services.async_call(DOMAIN, "end_maintenance", {"source": "NAS"}, blocking=True)
    await _start(hass, duration={"hours": 24})
    await _switch(hass, "turn_on")
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-08T03:00:00+00:00"
    await hass.services.async_call(DOMAIN, "end_maintenance", {"source": "NAS"}, blocking=True)
    await _switch(hass, "turn_on")
    await _advance(hass, freezer, 60)
    await _switch(hass, "turn_on")
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-07T11:00:00+00:00"


async def _set_maximum(hass: HomeAssistant, entry: MockConfigEntry, maximum: int) -> None:
    """The source's form, as a user changes only the maximum."""
    result = await start(hass, entry, SUBENTRY_SOURCE, "source_nas")
    shown = {key: value for key, value in suggested(result).items() if value is not None}
    result = await submit(hass, result, {**shown, "maintenance_max_minutes": maximum})
    result = await choose(hass, result, "save")
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_a_changed_maximum_leaves_the_running_maintenance_alone(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_integration: MockConfigEntry
) -> None:
    """Set while the switch is on without an end, the maximum gives it none; changed while a
    window runs, the window keeps its end. It applies from the next turn on."""
    await _switch(hass, "turn_on")
    await _set_maximum(hass, setup_integration, 480)
    state = hass.states.get(SWITCH)
    assert (state.state, "ends" in state.attributes) == ("on", False)
    await _advance(hass, freezer, 60 * 24)
    assert hass.states.get(SWITCH).state == "on"

    await _switch(hass, "turn_off")
    await _switch(hass, "turn_on")
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-08T11:00:00+00:00"
    await _set_maximum(hass, setup_integration, 60)
    assert hass.states.get(SWITCH).attributes["ends"] == "2026-12-08T11:00:00+00:00"
    await _set_maximum(hass, setup_integration, 0)
    await _advance(hass, freezer, 8 * 60)
    assert hass.states.get(SWITCH).state == "off"

    # No maximum any more: on until turned off, as before.
    await _switch(hass, "turn_on")
    await _advance(hass, freezer, 60 * 24 * 7)
    state = hass.states.get(SWITCH)
    assert (state.state, "ends" in state.attributes) == ("on", False)
