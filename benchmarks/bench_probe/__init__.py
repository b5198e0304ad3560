"""Benchmark-only integration: records when each e-mail's bus event fires and how long the
integrations took to set up, in files the benchmark reads."""

from __future__ import annotations

import json
from pathlib import Path
import time

from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.typing import ConfigType
from homeassistant.setup import async_get_setup_timings

DOMAIN = "bench_probe"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    events_file = await hass.async_add_executor_job(
        Path(hass.config.path("bench_events.log")).open, "a"
    )

    def _email_received(event: Event) -> None:
        events_file.write(f"{time.time():.6f} {event.data['message_id']}\n")
        events_file.flush()

    def _started(_event: Event) -> None:
        Path(hass.config.path("bench_timings.json")).write_text(
            json.dumps(async_get_setup_timings(hass)), encoding="utf-8"
        )

    hass.bus.async_listen("email_incidents_email_received", _email_received)
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STARTED, _started)
    return True
