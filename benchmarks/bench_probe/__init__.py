"""Benchmark-only integration: records when each new incident's bus event fires, when the event loop
was late to run a 10 ms timer, and how long the integrations took to set up, in files the
benchmark reads."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import json
from pathlib import Path
import time

from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType
from homeassistant.setup import async_get_setup_timings

DOMAIN = "bench_probe"
FLUSH_INTERVAL = timedelta(seconds=0.5)
TICK = 0.01
LATE = 0.005


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    events_file = Path(hass.config.path("bench_events.log"))
    stalls_file = Path(hass.config.path("bench_stalls.log"))
    pending: list[str] = []
    stalls: list[str] = []

    async def _watch_loop() -> None:
        while True:
            started = hass.loop.time()
            await asyncio.sleep(TICK)
            if (late := hass.loop.time() - started - TICK) > LATE:
                stalls.append(f"{time.time():.6f} {late:.6f}\n")

    @callback
    def _incident_created(event: Event) -> None:
        # Only the moment is taken here: the probe must not slow down what it measures.
        pending.append(f"{time.time():.6f} {event.data['summary']}\n")

    def _append(path: Path, lines: list[str]) -> None:
        with path.open("a", encoding="utf-8") as file:
            file.writelines(lines)

    async def _flush(_now: datetime) -> None:
        for path, lines in ((events_file, pending), (stalls_file, stalls)):
            if lines:
                taken = lines.copy()
                lines.clear()
                await hass.async_add_executor_job(_append, path, taken)

    def _started(_event: Event) -> None:
        Path(hass.config.path("bench_timings.json")).write_text(
            json.dumps(async_get_setup_timings(hass)), encoding="utf-8"
        )

    hass.bus.async_listen("email_incidents_incident_created", _incident_created)
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STARTED, _started)
    async_track_time_interval(hass, _flush, FLUSH_INTERVAL)
    hass.async_create_background_task(_watch_loop(), f"{DOMAIN} loop watch")
    return True
