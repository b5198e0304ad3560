"""Statistics sensors of an alert source in a real Home Assistant: incidents opened by real
e-mails over SMTP, accepted and resolved by the integration's actions at known moments; the mean
times to accept and to resolve, the count of incidents opened, their state classes for long-term
statistics, a restart, the day that leaves the window, and the README's dashboard card."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
import yaml

from custom_components.email_incidents.const import DOMAIN

from .conftest import source_subentry
from .entity_helpers import FROZEN_TIME, SendEmail, deliver, only_platform

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

TO_ACCEPT = "sensor.nas_time_to_accept"
TO_RESOLVE = "sensor.nas_time_to_resolve"
OPENED = "sensor.nas_incidents_opened"
START = datetime.fromisoformat(FROZEN_TIME)
MEAN_TIME = {"state_class": "measurement", "unit_of_measurement": "min", "device_class": "duration"}


@pytest.fixture(autouse=True)
def sensors_only() -> Generator[None]:
    with only_platform(Platform.SENSOR):
        yield


@pytest.fixture
def subentries() -> list[Any]:
    return [source_subentry(creation_mode="every_email")]


async def _call(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)
    await hass.async_block_till_done()


async def _at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    """Move the clock to that many minutes after FROZEN_TIME."""
    freezer.move_to(START + timedelta(minutes=minutes))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _shown(hass: HomeAssistant, entity_id: str) -> tuple[str, dict[str, Any]]:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state, dict(state.attributes)


def _figures(hass: HomeAssistant) -> dict[str, tuple[str, dict[str, Any]]]:
    return {entity_id: _shown(hass, entity_id) for entity_id in (TO_ACCEPT, TO_RESOLVE, OPENED)}


async def test_statistics_of_a_known_set_of_incidents(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
) -> None:
    assert _figures(hass) == {
        TO_ACCEPT: (STATE_UNKNOWN, {**MEAN_TIME, "incidents_accepted": 0} | _name(TO_ACCEPT)),
        TO_RESOLVE: (STATE_UNKNOWN, {**MEAN_TIME, "incidents_resolved": 0} | _name(TO_RESOLVE)),
        OPENED: ("0", {"state_class": "total_increasing"} | _name(OPENED)),
    }
    assert _name(TO_ACCEPT) == {"friendly_name": "NAS Time to accept"}
    for number in (1, 2, 3):
        await deliver(hass, send_email, subject=f"Problem {number}")
    assert _shown(hass, OPENED)[0] == "3"

    await _at(hass, freezer, 4)
    await _call(hass, "accept_incident", incident_id="INC-1")
    assert _shown(hass, TO_ACCEPT) == (
        "4.0",
        {**MEAN_TIME, "incidents_accepted": 1} | _name(TO_ACCEPT),
    )
    await _at(hass, freezer, 10)
    await _call(hass, "accept_incident", incident_id="INC-2")
    await _at(hass, freezer, 30)
    await _call(hass, "resolve_incident", incident_id="INC-1")
    # Resolved without an accept: counts in the time to resolve only.
    await _at(hass, freezer, 60)
    await _call(hass, "resolve_incident", incident_id="INC-3")
    # A fourth incident, still open: counts as opened only.
    await deliver(hass, send_email, subject="Problem 4")

    expected = {
        TO_ACCEPT: ("7.0", {**MEAN_TIME, "incidents_accepted": 2} | _name(TO_ACCEPT)),
        TO_RESOLVE: ("45.0", {**MEAN_TIME, "incidents_resolved": 2} | _name(TO_RESOLVE)),
        OPENED: ("4", {"state_class": "total_increasing"} | _name(OPENED)),
    }
    assert _figures(hass) == expected

    # A restart keeps them: they are stored with the incidents.
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert _figures(hass) == expected


def _name(entity_id: str) -> dict[str, str]:
    words = entity_id.removeprefix("sensor.nas_").replace("_", " ")
    return {"friendly_name": f"NAS {words.capitalize()}"}


@pytest.mark.usefixtures("setup_integration")
async def test_a_day_leaves_the_means_at_the_utc_midnight_30_days_later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, send_email: SendEmail
) -> None:
    """Accepted and resolved on 26 November (UTC): counted up to the end of 25 December, gone
    at midnight, with no other change; the count of incidents opened stays."""
    await deliver(hass, send_email)
    await _at(hass, freezer, 5)
    await _call(hass, "accept_incident", incident_id="INC-1")
    await _call(hass, "resolve_incident", incident_id="INC-1")
    freezer.move_to("2026-12-25T23:59:59+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert (_shown(hass, TO_ACCEPT)[0], _shown(hass, TO_RESOLVE)[0]) == ("5.0", "5.0")
    freezer.move_to("2026-12-26T00:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _figures(hass) == {
        TO_ACCEPT: (STATE_UNKNOWN, {**MEAN_TIME, "incidents_accepted": 0} | _name(TO_ACCEPT)),
        TO_RESOLVE: (STATE_UNKNOWN, {**MEAN_TIME, "incidents_resolved": 0} | _name(TO_RESOLVE)),
        OPENED: ("1", {"state_class": "total_increasing"} | _name(OPENED)),
    }


def _card_entities(card: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(card type, entity id) of every entity a card and its nested cards name."""
    for item in card.get("entities", ()):
        yield card["type"], item if isinstance(item, str) else item["entity"]
    for nested in card.get("cards", ()):
        yield from _card_entities(nested)


# What a statistics graph can draw of a sensor, by its state class.
STAT_TYPES = {"measurement": {"mean", "min", "max"}, "total_increasing": {"change", "sum"}}


@pytest.mark.usefixtures("setup_integration")
async def test_the_readme_card_names_entities_that_exist(hass: HomeAssistant) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- statistics-card-example -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    card = yaml.safe_load(block.group(1))
    named = list(_card_entities(card))
    assert {entity_id for _, entity_id in named} == {TO_ACCEPT, TO_RESOLVE, OPENED}
    assert {card_type for card_type, _ in named} == {"statistics-graph", "history-graph"}
    for nested in card["cards"]:
        if nested["type"] != "statistics-graph":
            continue
        for entity_id in nested["entities"]:
            state_class = hass.states.get(entity_id).attributes["state_class"]
            assert set(nested["stat_types"]) <= STAT_TYPES[state_class], entity_id
