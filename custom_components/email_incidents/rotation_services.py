"""Actions of rotations: put a member on call for a while, or go back to the schedule."""

from __future__ import annotations

from datetime import datetime

from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .core.rotation import scheduled
from .people import person_name
from .runtime import EmailIncidentsRuntime
from .services import (
    ATTR_DURATION,
    ATTR_UNTIL,
    async_apply_change,
    named_subentry,
    require_runtime,
    window_end,
)

SERVICE_SET_ON_CALL = "set_on_call"
SERVICE_END_ON_CALL_OVERRIDE = "end_on_call_override"
ATTR_ROTATION = "rotation"
ATTR_MEMBER = "member"

SET_ON_CALL_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_ROTATION): cv.string,
        vol.Required(ATTR_MEMBER): cv.entity_domain("person"),
        vol.Exclusive(ATTR_DURATION, "end"): vol.All(cv.time_period, cv.positive_timedelta),
        vol.Exclusive(ATTR_UNTIL, "end"): cv.datetime,
    }
)
ROTATION_SCHEMA = vol.Schema({vol.Required(ATTR_ROTATION): cv.string})


def _rotation_id(hass: HomeAssistant, runtime: EmailIncidentsRuntime, rotation: str) -> str:
    """A rotation from its subentry id, its device id or its name."""
    names = {key: config.name for key, config in runtime.engine.rotations.items()}
    return named_subentry(hass, names, rotation, kind="rotation")


async def _set_on_call(call: ServiceCall) -> None:
    """A member on call until a moment, after a duration, or to the end of the shift running
    now; the schedule goes on underneath."""
    hass = call.hass
    runtime = require_runtime(hass)
    rotation_id = _rotation_id(hass, runtime, call.data[ATTR_ROTATION])
    rotation = runtime.engine.rotations[rotation_id]
    person = call.data[ATTR_MEMBER]
    if rotation.member(person) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_member",
            translation_placeholders={
                "person": person_name(hass, person),
                "rotation": rotation.name,
            },
        )
    now = dt_util.utcnow()
    if (until := window_end(call, now, "on_call_in_the_past")) is None:
        shift = scheduled(rotation, now)
        assert shift is not None  # the rotation has the member
        until = shift.until

    def change(_at: datetime) -> None:
        runtime.engine.set_on_call(rotation_id, person, until)

    await async_apply_change(runtime, change)


async def _end_on_call_override(call: ServiceCall) -> None:
    runtime = require_runtime(call.hass)
    rotation_id = _rotation_id(call.hass, runtime, call.data[ATTR_ROTATION])

    def change(_at: datetime) -> None:
        runtime.engine.end_on_call_override(rotation_id)

    await async_apply_change(runtime, change)


@callback
def async_setup_rotation_services(hass: HomeAssistant) -> None:
    """Register the rotations' actions (once, for as long as Home Assistant runs)."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_ON_CALL, _set_on_call, schema=SET_ON_CALL_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_END_ON_CALL_OVERRIDE, _end_on_call_override, schema=ROTATION_SCHEMA
    )
