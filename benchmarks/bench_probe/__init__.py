"""Benchmark-only integration: records when each e-mail's bus event fires and how long the
integrations took to set up, in files the benchmark reads."""

from __future__ import annotations

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


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    events_file = Path(hass.config.path("bench_events.log"))
    pending: list[str] = []

    @callback
    def _email_received(event: Event) -> None:
        # Only the moment is taken here: the probe must not slow down what it measures.
        pending.append(f"{time.time():.6f} {event.data['message_id']}\n")

    def _append(lines: list[str]) -> None:
        with events_file.open("a", encoding="utf-8") as file:
            file.writelines(lines)

    async def _flush(_now: datetime) -> None:
        if pending:
            lines = pending.copy()
            pending.clear()
            await hass.async_add_executor_job(_append, lines)

    def _started(_event: Event) -> None:
        Path(hass.config.path("bench_timings.json")).write_text(
            json.dumps(async_get_setup_timings(hass)), encoding="utf-8"
        )

    hass.bus.async_listen("email_incidents_email_received", _email_received)
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STARTED, _started)
    async_track_time_interval(hass, _flush, FLUSH_INTERVAL)
    return True
