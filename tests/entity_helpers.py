"""Helpers shared by the entity tests: one platform at a time, snapshots, e-mails over SMTP."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.entity import BURST_WRITE_INTERVAL

from .conftest import make_email

FROZEN_TIME = "2026-11-26T10:00:00+00:00"

type SendEmail = Callable[..., Coroutine[Any, Any, dict[str, tuple[int, bytes]]]]


@contextmanager
def only_platform(platform: Platform) -> Generator[None]:
    """Load a single platform, so a test sees only the entities it is about."""
    with patch("custom_components.email_incidents.PLATFORMS", [platform]):
        yield


async def deliver(
    hass: HomeAssistant, send_email: SendEmail, to: str = "nas@homeassistant.local", **email: Any
) -> None:
    """Send one e-mail over real SMTP (by default to the NAS source) and wait until it is
    announced."""
    refused = await send_email(make_email(to=to, **email), recipients=(to,))
    assert refused == {}
    await wait_for_burst_writes(hass)


async def wait_for_burst_writes(hass: HomeAssistant) -> None:
    """Let the entities written at most once a second during a burst of e-mails show the last."""
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=BURST_WRITE_INTERVAL))
    await hass.async_block_till_done()


# The oldest supported release (hacs.json): its snapshots are in tests/snapshots/.
OLDEST_RELEASE = (2025, 4)


class ReleaseSnapshotExtension(HomeAssistantSnapshotExtension):
    """Registry entries and states as the running release serializes them. Their fields change
    between releases, so another release series keeps its own snapshots next to the oldest's
    (tests/snapshots-2026.10/ for 2026.10)."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        oldest = Path(super().dirname(test_location=test_location))
        if (MAJOR_VERSION, MINOR_VERSION) == OLDEST_RELEASE:
            return str(oldest)
        return str(oldest.with_name(f"{oldest.name}-{MAJOR_VERSION}.{MINOR_VERSION}"))


def assert_entities_match_snapshot(
    hass: HomeAssistant, snapshot: SnapshotAssertion, entry_id: str
) -> None:
    """Registry entry and state of every entity of the entry (disabled ones: no state) and
    their devices."""
    # Home Assistant's serializer leaves out ids and times that differ from run to run.
    snapshot = snapshot.use_extension(ReleaseSnapshotExtension)
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    entries = er.async_entries_for_config_entry(entity_registry, entry_id)
    assert entries
    device_ids: set[str] = set()
    for entity_entry in sorted(entries, key=lambda entry: entry.entity_id):
        assert entity_entry == snapshot(name=f"{entity_entry.entity_id}-entry")
        assert entity_entry.device_id is not None
        device_ids.add(entity_entry.device_id)
        state = hass.states.get(entity_entry.entity_id)
        if entity_entry.disabled_by is not None:
            assert state is None
            continue
        assert state == snapshot(name=f"{entity_entry.entity_id}-state")
    for device_id in device_ids:
        device = device_registry.async_get(device_id)
        assert device is not None
        assert device == snapshot(name=f"device-{device.name}")


def entity_id(hass: HomeAssistant, platform: Platform, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None
    return found
