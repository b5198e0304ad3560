"""Home Assistant's people as rotations see them: their names and their phones' notify
actions."""

from __future__ import annotations

from typing import Final

from homeassistant.const import ATTR_FRIENDLY_NAME
from homeassistant.core import HomeAssistant
from homeassistant.util import slugify

MOBILE_APP_DOMAIN: Final = "mobile_app"
# The person entity's attribute naming its Home Assistant user, and the companion app's
# registration data naming the user and the phone.
ATTR_USER_ID: Final = "user_id"
ATTR_DEVICE_NAME: Final = "device_name"


def person_name(hass: HomeAssistant, person: str) -> str:
    """A person's name as Home Assistant shows it (the entity id while it is not loaded)."""
    state = hass.states.get(person)
    if state is None:
        return person
    return str(state.attributes.get(ATTR_FRIENDLY_NAME) or state.name)


def mobile_app_notify_actions(hass: HomeAssistant, person: str) -> list[str]:
    """The notify actions of the phones the companion app registered for the person's user
    (the app names its action after the phone: notify.mobile_app_<phone name>)."""
    state = hass.states.get(person)
    user_id = state.attributes.get(ATTR_USER_ID) if state is not None else None
    if not user_id:
        return []
    return [
        f"notify.{MOBILE_APP_DOMAIN}_{slugify(entry.data[ATTR_DEVICE_NAME])}"
        for entry in hass.config_entries.async_entries(MOBILE_APP_DOMAIN)
        if entry.data.get(ATTR_USER_ID) == user_id and entry.data.get(ATTR_DEVICE_NAME)
    ]
