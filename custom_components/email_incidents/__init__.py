"""Email Incidents: turn e-mails from monitoring tools into incidents in Home Assistant."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, LOGGER, SUBENTRY_SOURCE
from .core.config import SOURCE_DATA_VERSION, upgrade_source_data
from .entity import async_register_devices
from .intents import async_setup_intents
from .listener import ListenerError
from .panel import async_register_frontend
from .recent import async_remove_recent_emails
from .rotation_services import async_setup_rotation_services
from .runtime import (
    EmailIncidentsConfigEntry,
    EmailIncidentsRuntime,
    clear_listener_issues,
    raise_listener_issue,
)
from .services import async_setup_services
from .settings import ListenerSettings
from .store import async_remove_stored_state
from .websocket_api import async_setup_websocket_api

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TODO,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Actions, Assist intents, the Incidents panel and the card live as long as Home Assistant,
    whether or not the listener is loaded."""
    async_setup_services(hass)
    async_setup_intents(hass)
    async_setup_rotation_services(hass)
    await async_register_frontend(hass)
    async_setup_websocket_api(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> bool:
    """Bring stored alert sources to the current version of their data (the minor version)."""
    if entry.version > 1:
        return False  # written by a newer release: nothing here can read it
    if entry.minor_version < SOURCE_DATA_VERSION:
        for subentry in list(entry.subentries.values()):
            if subentry.subentry_type == SUBENTRY_SOURCE:
                hass.config_entries.async_update_subentry(
                    entry, subentry, data=upgrade_source_data(subentry.data)
                )
        hass.config_entries.async_update_entry(entry, minor_version=SOURCE_DATA_VERSION)
        LOGGER.debug("Alert sources migrated to version %s of their data", SOURCE_DATA_VERSION)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> bool:
    """Load the incidents and start the listener."""
    runtime = EmailIncidentsRuntime(hass, entry)
    # Before the listener starts: actions work as soon as e-mails are accepted, also while
    # the platforms are still being set up.
    entry.runtime_data = runtime
    try:
        await runtime.async_start()
    except ListenerError as err:
        await runtime.async_stop()
        raise_listener_issue(hass, err, runtime.settings)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.reason,
            translation_placeholders={"error": str(err)},
        ) from err
    clear_listener_issues(hass)
    entry.async_on_unload(entry.add_update_listener(_async_apply_change))

    async def _async_stop_on_shutdown(_event: Event) -> None:
        # Clients between commands get 421, e-mails in DATA are finished, the state is written.
        await runtime.async_stop()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop_on_shutdown)
    )
    async_register_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_apply_change(hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> None:
    """Changed listener settings restart the listener through a reload (the state is written
    first, nothing is lost); alert sources and policies apply in place, without one."""
    runtime = entry.runtime_data
    if ListenerSettings.from_data(entry.data) != runtime.settings:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    runtime.async_apply_configuration()


async def async_unload_entry(hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> bool:
    """Stop the listener and write what is pending."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> None:
    """Forget the incidents when the integration is deleted."""
    await async_remove_stored_state(hass, entry.entry_id)
    await async_remove_recent_emails(hass, entry.entry_id)
