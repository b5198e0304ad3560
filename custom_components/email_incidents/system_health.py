"""System health: is the listener up, where, with TLS, and how much it has to do."""

from __future__ import annotations

from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN
from .runtime import EmailIncidentsConfigEntry


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    entries: list[EmailIncidentsConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not entries:
        return {"listener_running": False}
    runtime = entries[0].runtime_data
    settings = runtime.settings
    engine = runtime.engine
    return {
        "listener_running": runtime.listener is not None and runtime.listener.running,
        "address": f"{settings.host}:{settings.port}",
        "tls": settings.tls_enabled,
        "open_incidents": sum(engine.open_count(source) for source in engine.sources),
        "emails_received": engine.state.counters.get("received", 0),
    }
