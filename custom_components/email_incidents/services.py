"""Actions: accept, resolve, create, annotate and list incidents.

`accept_incident` and `resolve_incident` take one incident id or a list of them. A list is
changed in one store write; an incident that cannot be changed does not stop the others. Asked
for a response, the action reports each incident's result and fails for none of them; without
one, it fails after the others were changed, naming those that were not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
import contextlib
from datetime import datetime, timedelta
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
SERVICE_START_MAINTENANCE = "start_maintenance"
SERVICE_END_MAINTENANCE = "end_maintenance"
ATTR_UNTIL = "until"

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

# How many failed incidents the error of a call without a response names; the response names all.
ERRORS_NAMED = 10


def _incident_ids(value: list[str]) -> list[str]:
    """A list of incident ids, trimmed, without empty entries and repeats; at least one."""
    ids = list(dict.fromkeys(item.strip() for item in value if item.strip()))
    if not ids:
        raise vol.Invalid("no incident id given")
    return ids


INCIDENT_IDS = vol.Any(cv.string, vol.All([cv.string], _incident_ids))
NOTE = vol.All(cv.string, vol.Length(min=1, max=2000))

ONE_INCIDENT_SCHEMA = vol.Schema({vol.Required(ATTR_INCIDENT_ID): cv.string})
ACCEPT_SCHEMA = vol.Schema(
    {vol.Required(ATTR_INCIDENT_ID): INCIDENT_IDS, vol.Optional(ATTR_NOTE): NOTE}
)
RESOLVE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional(ATTR_INCIDENT_ID): INCIDENT_IDS,
            vol.Optional(ATTR_SOURCE): cv.string,
            vol.Optional(ATTR_KEY): cv.string,
            vol.Optional(ATTR_NOTE): NOTE,
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
NOTE_SCHEMA = vol.Schema({vol.Required(ATTR_INCIDENT_ID): cv.string, vol.Required(ATTR_NOTE): NOTE})
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


START_MAINTENANCE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Required(ATTR_SOURCE): cv.string,
            vol.Exclusive(ATTR_DURATION, "end"): vol.All(cv.time_period, cv.positive_timedelta),
            vol.Exclusive(ATTR_UNTIL, "end"): cv.datetime,
        }
    ),
    cv.has_at_least_one_key(ATTR_DURATION, ATTR_UNTIL),
)
SOURCE_SCHEMA = vol.Schema({vol.Required(ATTR_SOURCE): cv.string})


def require_runtime(hass: HomeAssistant) -> EmailIncidentsRuntime:
    if (runtime := loaded_runtime(hass)) is not None:
        return runtime
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")


def named_subentry(
    hass: HomeAssistant, names: Mapping[str, str], reference: str, *, kind: str
) -> str:
    """Which of the subentries (their names by id) a reference means: its subentry id, its
    device id or its name (case does not matter); else the error `unknown_<kind>`."""
    if reference in names:
        return reference
    device = dr.async_get(hass).async_get(reference)
    if device is not None:
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and identifier in names:
                return identifier
    folded = reference.casefold()
    for key, name in names.items():
        if name.casefold() == folded:
            return key
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=f"unknown_{kind}",
        translation_placeholders={kind: reference},
    )


def _source_id(hass: HomeAssistant, runtime: EmailIncidentsRuntime, source: str) -> str:
    """An alert source from its subentry id, its device id or its name."""
    names = {source_id: config.name for source_id, config in runtime.engine.sources.items()}
    return named_subentry(hass, names, source, kind="source")


async def async_user_actor(hass: HomeAssistant, context: Context | None, fallback: Actor) -> Actor:
    """The user behind a change, by name; else `fallback` (automations have no user)."""
    if context and context.user_id and (user := await hass.auth.async_get_user(context.user_id)):
        return Actor(kind=ActorKind.USER, name=user.name or user.id)
    return fallback


async def _actor(hass: HomeAssistant, call: ServiceCall) -> Actor:
    return await async_user_actor(
        hass, call.context, Actor(kind=ActorKind.ACTION, name=call.service)
    )


def _incident_error(runtime: EmailIncidentsRuntime, err: IncidentError) -> ServiceValidationError:
    """An engine error as the translated error of an action."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.reason,
        translation_placeholders={
            "incident_id": err.incident_id or "",
            "source": runtime.source_name(err.source_id) if err.source_id else "",
        },
    )


async def async_apply_change(
    runtime: EmailIncidentsRuntime,
    change: Callable[[datetime], Iterable[IncidentEvent] | None],
) -> tuple[IncidentEvent, ...]:
    """Run an engine change for an action; engine and store errors become translated errors."""
    try:
        return await runtime.async_apply(change)
    except IncidentError as err:
        raise _incident_error(runtime, err) from err
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
    runtime = require_runtime(call.hass)
    actor = await _actor(call.hass, call)
    incident_id = call.data[ATTR_INCIDENT_ID]
    await async_apply_change(runtime, lambda now: change(runtime.engine, incident_id, actor, now))


class _NothingToStoreError(Exception):
    """No incident of a call could be changed: there is nothing to store."""


def _noted(
    engine: IncidentEngine,
    events: Iterable[IncidentEvent],
    note: str | None,
    actor: Actor,
    now: datetime,
) -> tuple[IncidentEvent, ...]:
    """The events of a change, with the note (if any) in the timeline of each incident changed,
    after the change. Its own event is not announced: the change's event tells of the incident."""
    events = tuple(events)
    if note:
        for event in events:
            engine.add_note(event.incident.id, note, actor, now)
    return events


async def _change_incidents(call: ServiceCall, change: IncidentChange) -> ServiceResponse:
    """Apply `change` to each incident the call names (one id or a list), in one store write;
    the call's note goes into the timeline of each incident changed. What each did is the
    response; without one, the call fails after the others were changed."""
    runtime = require_runtime(call.hass)
    actor = await _actor(call.hass, call)
    named = call.data[ATTR_INCIDENT_ID]
    incident_ids: list[str] = [named] if isinstance(named, str) else named
    note: str | None = call.data.get(ATTR_NOTE)
    failures: dict[str, IncidentError] = {}

    def change_each(now: datetime) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        for incident_id in incident_ids:
            try:
                changed = change(runtime.engine, incident_id, actor, now) or ()
            except IncidentError as err:  # raised before the incident changed
                failures[incident_id] = err
                continue
            events.extend(_noted(runtime.engine, changed, note, actor, now))
        if len(failures) == len(incident_ids):
            raise _NothingToStoreError
        return events

    with contextlib.suppress(_NothingToStoreError):
        await async_apply_change(runtime, change_each)
    errors = {incident_id: _incident_error(runtime, err) for incident_id, err in failures.items()}
    if errors and not call.return_response:
        if len(incident_ids) == 1:  # as an action on one incident has always failed
            [(failed_id, failed)] = errors.items()
            raise failed from failures[failed_id]
        messages = [str(error) for error in errors.values()]
        if len(messages) > ERRORS_NAMED:
            messages[ERRORS_NAMED:] = [f"{len(messages) - ERRORS_NAMED} more"]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="incidents_failed",
            translation_placeholders={
                "failed": str(len(errors)),
                "count": str(len(incident_ids)),
                "errors": "; ".join(messages),
            },
        )
    results: list[Any] = [
        {"incident_id": incident_id, "success": True}
        if (error := errors.get(incident_id)) is None
        else {
            "incident_id": incident_id,
            "success": False,
            "error": error.translation_key,
            "message": str(error),
        }
        for incident_id in incident_ids
    ]
    return {
        "results": results,
        "succeeded": len(incident_ids) - len(errors),
        "failed": len(errors),
    }


async def _accept(call: ServiceCall) -> ServiceResponse:
    return await _change_incidents(call, IncidentEngine.accept)


async def _resolve(call: ServiceCall) -> ServiceResponse:
    if ATTR_INCIDENT_ID in call.data:
        return await _change_incidents(call, IncidentEngine.resolve)
    runtime = require_runtime(call.hass)
    actor = await _actor(call.hass, call)
    if ATTR_KEY not in call.data:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="key_required")
    source_id = _source_id(call.hass, runtime, call.data[ATTR_SOURCE])
    key = call.data[ATTR_KEY]
    note: str | None = call.data.get(ATTR_NOTE)
    events = await async_apply_change(
        runtime,
        lambda now: _noted(
            runtime.engine,
            runtime.engine.resolve_by_key(source_id, key, actor, now),
            note,
            actor,
            now,
        ),
    )
    results: list[Any] = [{"incident_id": e.incident.id, "success": True} for e in events]
    return {"results": results, "succeeded": len(results), "failed": 0}


async def _create(call: ServiceCall) -> ServiceResponse:
    runtime = require_runtime(call.hass)
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
    runtime = require_runtime(call.hass)
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


def window_end(call: ServiceCall, now: datetime, in_the_past: str) -> datetime | None:
    """When a window of the call ends: after its `duration`, at its `until` (an error with
    the key `in_the_past` if that has passed), or None when it gives neither."""
    if ATTR_DURATION in call.data:
        duration: timedelta = call.data[ATTR_DURATION]
        return now + duration
    if ATTR_UNTIL not in call.data:
        return None
    until = dt_util.as_utc(call.data[ATTR_UNTIL])  # a naive time is local
    if until <= now:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=in_the_past,
            translation_placeholders={"until": call.data[ATTR_UNTIL].isoformat()},
        )
    return until


async def _start_maintenance(call: ServiceCall) -> None:
    """A maintenance window: on now, off by itself after the duration or at the time."""
    runtime = require_runtime(call.hass)
    source_id = _source_id(call.hass, runtime, call.data[ATTR_SOURCE])
    until = window_end(call, dt_util.utcnow(), "maintenance_in_the_past")

    def change(at: datetime) -> None:
        runtime.engine.set_maintenance(source_id, True, at, until)

    await async_apply_change(runtime, change)


async def _end_maintenance(call: ServiceCall) -> None:
    runtime = require_runtime(call.hass)
    source_id = _source_id(call.hass, runtime, call.data[ATTR_SOURCE])

    def change(at: datetime) -> None:
        runtime.engine.set_maintenance(source_id, False, at)

    await async_apply_change(runtime, change)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for as long as Home Assistant runs)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_ACCEPT,
        _accept,
        schema=ACCEPT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_RESOLVE,
        _resolve,
        schema=RESOLVE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
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
    hass.services.async_register(DOMAIN, SERVICE_ESCALATE, _escalate, schema=ONE_INCIDENT_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_START_MAINTENANCE, _start_maintenance, schema=START_MAINTENANCE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_END_MAINTENANCE, _end_maintenance, schema=SOURCE_SCHEMA
    )
