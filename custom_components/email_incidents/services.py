"""Actions: accept, resolve, create, annotate and list incidents."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from homeassistant.core import (
    Context,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .core.engine import IncidentEngine
from .core.models import Actor, ActorKind, IncidentStatus, Priority
from .core.outcomes import IncidentError, IncidentEvent
from .events import incident_data
from .incident_view import async_incident_emails, incident_log
from .runtime import EmailIncidentsRuntime, loaded_runtime
from .store import StoreWriteError

SERVICE_ACCEPT = "accept_incident"
SERVICE_RESOLVE = "resolve_incident"
SERVICE_CREATE = "create_incident"
SERVICE_ADD_NOTE = "add_note"
SERVICE_GET = "get_incidents"
SERVICE_SNOOZE = "snooze_incident"
SERVICE_ESCALATE = "escalate_incident"

ATTR_INCIDENT_ID = "incident_id"
ATTR_SOURCE = "source"
ATTR_KEY = "key"
ATTR_SUMMARY = "summary"
ATTR_DETAILS = "details"
ATTR_PRIORITY = "priority"
ATTR_NOTE = "note"
ATTR_STATUS = "status"
ATTR_SINCE = "since"
ATTR_LIMIT = "limit"
ATTR_DETAILS_WANTED = "details"
ATTR_DURATION = "duration"

ACCEPT_SCHEMA = vol.Schema({vol.Required(ATTR_INCIDENT_ID): cv.string})
RESOLVE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional(ATTR_INCIDENT_ID): cv.string,
            vol.Optional(ATTR_SOURCE): cv.string,
            vol.Optional(ATTR_KEY): cv.string,
        }
    ),
    cv.has_at_least_one_key(ATTR_INCIDENT_ID, ATTR_SOURCE),
)
CREATE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_SOURCE): cv.string,
        vol.Required(ATTR_SUMMARY): vol.All(cv.string, vol.Length(min=1, max=500)),
        vol.Optional(ATTR_DETAILS, default=""): cv.string,
        vol.Optional(ATTR_KEY): cv.string,
        vol.Optional(ATTR_PRIORITY): vol.In([priority.value for priority in Priority]),
    }
)
NOTE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_INCIDENT_ID): cv.string,
        vol.Required(ATTR_NOTE): vol.All(cv.string, vol.Length(min=1, max=2000)),
    }
)
GET_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_SOURCE): cv.string,
        vol.Optional(ATTR_STATUS): vol.All(
            cv.ensure_list, [vol.In([status.value for status in IncidentStatus])]
        ),
        vol.Optional(ATTR_SINCE): cv.datetime,
        vol.Optional(ATTR_LIMIT, default=50): vol.All(vol.Coerce(int), vol.Range(min=1, max=1000)),
        vol.Optional(ATTR_DETAILS_WANTED, default=False): cv.boolean,
    }
)
SNOOZE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_INCIDENT_ID): cv.string,
        vol.Required(ATTR_DURATION): vol.All(cv.time_period, cv.positive_timedelta),
    }
)


def _runtime(hass: HomeAssistant) -> EmailIncidentsRuntime:
    if (runtime := loaded_runtime(hass)) is not None:
        return runtime
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")


def _source_id(hass: HomeAssistant, runtime: EmailIncidentsRuntime, source: str) -> str:
    """An alert source from its subentry id, its device id or its name."""
    if source in runtime.engine.sources:
        return source
    device = dr.async_get(hass).async_get(source)
    if device is not None:
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and identifier in runtime.engine.sources:
                return identifier
    for source_id, config in runtime.engine.sources.items():
        if config.name.casefold() == source.casefold():
            return source_id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_source",
        translation_placeholders={"source": source},
    )


async def async_user_actor(hass: HomeAssistant, context: Context | None, fallback: Actor) -> Actor:
    """The user behind a change, by name; else `fallback` (automations have no user)."""
    if context and context.user_id and (user := await hass.auth.async_get_user(context.user_id)):
        return Actor(kind=ActorKind.USER, name=user.name or user.id)
    return fallback


async def _actor(hass: HomeAssistant, call: ServiceCall) -> Actor:
    return await async_user_actor(
        hass, call.context, Actor(kind=ActorKind.ACTION, name=call.service)
    )


async def async_apply_change(
    runtime: EmailIncidentsRuntime,
    change: Callable[[datetime], Iterable[IncidentEvent] | None],
) -> tuple[IncidentEvent, ...]:
    """Run an engine change for an action; engine and store errors become translated errors."""
    try:
        return await runtime.async_apply(change)
    except IncidentError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.reason,
            translation_placeholders={
                "incident_id": err.incident_id or "",
                "source": runtime.source_name(err.source_id) if err.source_id else "",
            },
        ) from err
    except StoreWriteError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="store_failed",
            translation_placeholders={"error": str(err)},
        ) from err


type IncidentChange = Callable[
    [IncidentEngine, str, Actor, datetime], Iterable[IncidentEvent] | None
]


async def _change_incident(call: ServiceCall, change: IncidentChange) -> None:
    """Apply `change` to the incident the call names, as the calling user."""
    runtime = _runtime(call.hass)
    actor = await _actor(call.hass, call)
    incident_id = call.data[ATTR_INCIDENT_ID]
    await async_apply_change(runtime, lambda now: change(runtime.engine, incident_id, actor, now))


async def _accept(call: ServiceCall) -> None:
    await _change_incident(call, IncidentEngine.accept)


async def _resolve(call: ServiceCall) -> None:
    if ATTR_INCIDENT_ID in call.data:
        await _change_incident(call, IncidentEngine.resolve)
        return
    runtime = _runtime(call.hass)
    actor = await _actor(call.hass, call)
    if ATTR_KEY not in call.data:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="key_required")
    source_id = _source_id(call.hass, runtime, call.data[ATTR_SOURCE])
    key = call.data[ATTR_KEY]
    await async_apply_change(
        runtime, lambda now: runtime.engine.resolve_by_key(source_id, key, actor, now)
    )


async def _create(call: ServiceCall) -> ServiceResponse:
    runtime = _runtime(call.hass)
    actor = await _actor(call.hass, call)
    source_id = _source_id(call.hass, runtime, call.data[ATTR_SOURCE])
    priority = Priority(call.data[ATTR_PRIORITY]) if ATTR_PRIORITY in call.data else None
    events = await async_apply_change(
        runtime,
        lambda now: runtime.engine.create(
            source_id,
            summary=call.data[ATTR_SUMMARY],
            details=call.data[ATTR_DETAILS],
            key=call.data.get(ATTR_KEY),
            priority=priority,
            actor=actor,
            now=now,
        ),
    )
    return {"incident": incident_data(runtime, events[0].incident)}


async def _add_note(call: ServiceCall) -> None:
    note = call.data[ATTR_NOTE]
    await _change_incident(
        call, lambda engine, incident_id, actor, now: engine.add_note(incident_id, note, actor, now)
    )


async def _get(call: ServiceCall) -> ServiceResponse:
    runtime = _runtime(call.hass)
    source_id = (
        _source_id(call.hass, runtime, call.data[ATTR_SOURCE]) if ATTR_SOURCE in call.data else None
    )
    statuses = (
        {IncidentStatus(status) for status in call.data[ATTR_STATUS]}
        if ATTR_STATUS in call.data
        else None
    )
    since = call.data.get(ATTR_SINCE)
    if since is not None:
        since = dt_util.as_utc(since)  # a naive time is in Home Assistant's time zone
    incidents = runtime.engine.incidents(
        source_id=source_id, statuses=statuses, since=since, limit=call.data[ATTR_LIMIT]
    )
    found: list[Any] = [incident_data(runtime, incident) for incident in incidents]
    if call.data[ATTR_DETAILS_WANTED]:
        for data, incident in zip(found, incidents, strict=True):
            data["log"] = incident_log(incident)
            data["emails"] = await async_incident_emails(runtime, incident)
            data["emails_omitted"] = incident.emails_omitted
    return {"incidents": found}


async def _snooze(call: ServiceCall) -> None:
    duration = call.data[ATTR_DURATION]
    await _change_incident(
        call,
        lambda engine, incident_id, actor, now: engine.snooze(incident_id, duration, actor, now),
    )


async def _escalate(call: ServiceCall) -> None:
    await _change_incident(call, IncidentEngine.escalate_now)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for as long as Home Assistant runs)."""
    hass.services.async_register(DOMAIN, SERVICE_ACCEPT, _accept, schema=ACCEPT_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_RESOLVE, _resolve, schema=RESOLVE_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_CREATE,
        _create,
        schema=CREATE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(DOMAIN, SERVICE_ADD_NOTE, _add_note, schema=NOTE_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_GET, _get, schema=GET_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, SERVICE_SNOOZE, _snooze, schema=SNOOZE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_ESCALATE, _escalate, schema=ACCEPT_SCHEMA)
