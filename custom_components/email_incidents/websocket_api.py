"""Websocket commands of the Incidents panel and card: list, get and follow incidents, and the
ids of all incidents a filter matches (the panel's "select all matching"). The filters include
a list of ids: the incidents of a notification summary, whose link opens the panel with them.
The rotations with who is on call in each, for the panel's On call view.

Reading only; changes go through the actions (accept_incident, resolve_incident, add_note,
snooze_incident, escalate_incident, set_on_call, end_on_call_override), which record the
calling user; the panel's selection is accepted or resolved in one action call with the list of
its ids. Every websocket connection is authenticated; viewing needs no administrator.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN, SIGNAL_INCIDENTS_WRITTEN
from .core.models import OPEN_STATUSES, Incident, IncidentStatus
from .core.rotation import Rotation, scheduled
from .core.state import INCIDENT_ID_PREFIX
from .incident_view import async_incident_emails, incident_log, incident_summary
from .people import person_name
from .runtime import EmailIncidentsRuntime, loaded_runtime

STATUS_OPEN: Final = "open"
STATUS_FILTERS: Final = {
    STATUS_OPEN: OPEN_STATUSES,
    **{status.value: frozenset({status}) for status in IncidentStatus},
}
ERROR_NOT_LOADED: Final = "not_loaded"
# The panel's limit of ids from a link (MAX_LINK_IDS in frontend/logic.js).
MAX_IDS: Final = 500
INCIDENT_ID: Final = rf"{INCIDENT_ID_PREFIX}[0-9]{{1,12}}\Z"
# The key of a rotation's on-call sensor (sensor.py): its unique id is "<rotation id>_on_call".
ON_CALL_SENSOR_KEY: Final = "on_call"


@callback
def async_setup_websocket_api(hass: HomeAssistant) -> None:
    async_register_command(hass, ws_list_incidents)
    async_register_command(hass, ws_incident_ids)
    async_register_command(hass, ws_get_incident)
    async_register_command(hass, ws_subscribe_incidents)
    async_register_command(hass, ws_on_call)


def _runtime(
    hass: HomeAssistant, connection: ActiveConnection, msg_id: int
) -> EmailIncidentsRuntime | None:
    if (runtime := loaded_runtime(hass)) is None:
        connection.send_error(msg_id, ERROR_NOT_LOADED, "Email Incidents is not loaded")
    return runtime


FILTERS: Final[dict[str | vol.Marker, Any]] = {
    vol.Optional("source_id"): str,
    vol.Optional("status"): vol.In(list(STATUS_FILTERS)),
    vol.Optional("search"): str,
    vol.Optional("since"): cv.datetime,
    vol.Optional("ids"): vol.All([vol.Match(INCIDENT_ID)], vol.Length(max=MAX_IDS)),
}


def _matching(runtime: EmailIncidentsRuntime, msg: dict[str, Any]) -> list[Incident]:
    """The incidents the message's filters match, newest first: source, status, opened since,
    one of the ids given, and a text in the id, summary, key or source name (any case)."""
    since = msg.get("since")
    found = runtime.engine.incidents(
        source_id=msg.get("source_id"),
        statuses=STATUS_FILTERS[msg["status"]] if "status" in msg else None,
        since=dt_util.as_utc(since) if since is not None else None,
    )
    if "ids" in msg:
        wanted = set(msg["ids"])
        found = [incident for incident in found if incident.id in wanted]
    if search := msg.get("search", "").strip().casefold():
        names = {
            source_id: runtime.source_name(source_id).casefold()
            for source_id in {incident.source_id for incident in found}
        }
        found = [
            incident
            for incident in found
            if search in incident.id.casefold()
            or search in incident.summary.casefold()
            or (incident.key is not None and search in incident.key.casefold())
            or search in names[incident.source_id]
        ]
    return found


@websocket_command(
    {
        vol.Required("type"): "email_incidents/incidents/list",
        **FILTERS,
        vol.Optional("limit", default=50): vol.All(int, vol.Range(min=1, max=500)),
        vol.Optional("offset", default=0): vol.All(int, vol.Range(min=0)),
    }
)
@callback
def ws_list_incidents(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """A page of incidents, newest first, and how many match in all."""
    if (runtime := _runtime(hass, connection, msg["id"])) is None:
        return
    found = _matching(runtime, msg)
    offset = msg["offset"]
    page = found[offset : offset + msg["limit"]]
    connection.send_result(
        msg["id"],
        {
            "incidents": [incident_summary(runtime, incident) for incident in page],
            "total": len(found),
        },
    )


@websocket_command({vol.Required("type"): "email_incidents/incidents/ids", **FILTERS})
@callback
def ws_incident_ids(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The ids of every incident the filters match, newest first: what the panel selects when
    the user selects all that match (a few bytes each, where a page of summaries is 50)."""
    if (runtime := _runtime(hass, connection, msg["id"])) is None:
        return
    connection.send_result(
        msg["id"], {"ids": [incident.id for incident in _matching(runtime, msg)]}
    )


@websocket_command(
    {
        vol.Required("type"): "email_incidents/incidents/get",
        vol.Required("incident_id"): str,
    }
)
@async_response
async def ws_get_incident(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """One incident with its e-mails (bodies read from disk) and its timeline."""
    if (runtime := _runtime(hass, connection, msg["id"])) is None:
        return
    incident = runtime.engine.get(msg["incident_id"])
    if incident is None:
        connection.send_error(msg["id"], ERR_NOT_FOUND, f"No incident {msg['incident_id']}")
        return
    log = incident_log(incident)  # before the bodies are read: the incident may change
    summary = incident_summary(runtime, incident)
    emails_omitted = incident.emails_omitted
    emails = await async_incident_emails(runtime, incident)
    connection.send_result(
        msg["id"],
        {
            "incident": {
                **summary,
                "emails": emails,
                "emails_omitted": emails_omitted,
                "log": log,
                "log_omitted": incident.log_dropped,
            }
        },
    )


@websocket_command({vol.Required("type"): "email_incidents/incidents/subscribe"})
@callback
def ws_subscribe_incidents(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Every incident created or changed ({"incident": summary}) or removed ({"removed": id}),
    once it is on disk; the subscription outlives reloads of the integration."""
    msg_id = msg["id"]

    @callback
    def _forward(incident_ids: Collection[str]) -> None:
        runtime = loaded_runtime(hass)
        if runtime is None:
            return
        for incident_id in incident_ids:
            incident = runtime.engine.get(incident_id)
            event: dict[str, Any] = (
                {"incident": incident_summary(runtime, incident)}
                if incident is not None
                else {"removed": incident_id}
            )
            connection.send_message(event_message(msg_id, event))

    connection.subscriptions[msg_id] = async_dispatcher_connect(
        hass, SIGNAL_INCIDENTS_WRITTEN, _forward
    )
    connection.send_result(msg_id)


def _rotation_view(
    hass: HomeAssistant, runtime: EmailIncidentsRuntime, rotation: Rotation, now: datetime
) -> dict[str, Any]:
    """A rotation as the panel shows it; people are named as Home Assistant names them now."""
    current = runtime.engine.on_call(rotation.rotation_id, now)
    shift = scheduled(rotation, now)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{rotation.rotation_id}_{ON_CALL_SENSOR_KEY}"
    )
    return {
        "id": rotation.rotation_id,
        "name": rotation.name,
        "entity_id": entity_id,
        "members": [
            {"person": member.person, "name": person_name(hass, member.person)}
            for member in rotation.members
        ],
        "shift_length": rotation.shift_length,
        "shift_unit": rotation.shift_unit.value,
        # Where an override ends when neither a duration nor an end is given.
        "shift_until": shift.until.isoformat() if shift is not None else None,
        "on_call": (
            {
                "person": current.member.person,
                "name": person_name(hass, current.member.person),
                "until": current.until.isoformat(),
                "next_person": current.next_member.person,
                "next_name": person_name(hass, current.next_member.person),
                "overridden": current.overridden,
            }
            if current is not None
            else None
        ),
    }


@websocket_command({vol.Required("type"): "email_incidents/on_call"})
@callback
def ws_on_call(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Every rotation by name: its members in order, who is on call now, until when and who
    is next, whether by an override, and when the shift running now ends. Each names its
    on-call sensor, whose state changes at every handover and override: the panel fetches
    this again then."""
    if (runtime := _runtime(hass, connection, msg["id"])) is None:
        return
    now = dt_util.utcnow()
    rotations = [
        _rotation_view(hass, runtime, rotation, now)
        for rotation in runtime.engine.rotations.values()
    ]
    rotations.sort(key=lambda rotation: (rotation["name"].casefold(), rotation["id"]))
    connection.send_result(msg["id"], {"rotations": rotations})
