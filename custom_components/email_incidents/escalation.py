"""Escalation in Home Assistant: notify each level's targets, tell them when the incident is
accepted or resolved, and act on the companion app's Accept and Resolve buttons.

The engine decides when a level runs (SPEC 5) and the pager (core.paging) which notifications
go out now and which wait for a target's summary; this module only turns those decisions into
notify actions and records how each one went in the incident's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceNotFound
from homeassistant.helpers.event import async_track_point_in_utc_time

from .const import DOMAIN, LOGGER, incident_url
from .core.engine import IncidentEngine
from .core.models import (
    Actor,
    ActorKind,
    DoneNotice,
    Incident,
    LogKind,
    Priority,
)
from .core.outcomes import IncidentError, IncidentEvent, IncidentEventType
from .core.paging import Summary
from .store import StoreWriteError
from .texts import Texts, async_load_texts

EVENT_MOBILE_APP_NOTIFICATION_ACTION: Final = "mobile_app_notification_action"
ACTION_PREFIX: Final = "EMAIL_INCIDENTS_"
ACCEPT_ACTION_PREFIX: Final = f"{ACTION_PREFIX}ACCEPT_"
RESOLVE_ACTION_PREFIX: Final = f"{ACTION_PREFIX}RESOLVE_"
CLEAR_NOTIFICATION: Final = "clear_notification"
MOBILE_APP_ACTOR_NAME: Final = "mobile app"
# A notify action that hangs (an unreachable push service) must not hold the other targets' log
# entries back forever.
NOTIFY_TIMEOUT: Final = 30.0

type IncidentListener = Callable[[IncidentEvent], None]
# Runs an engine change, stores it and announces its events (the runtime's async_apply).
type ApplyChange = Callable[
    [Callable[[datetime], Iterable[IncidentEvent] | None]], Awaitable[tuple[IncidentEvent, ...]]
]


def notification_tag(incident_id: str) -> str:
    """One tag per incident, so each level replaces the previous level's notification."""
    return f"{DOMAIN}_{incident_id}"


def notification_actions(incident_id: str, texts: Texts) -> list[dict[str, str]]:
    """The companion app's buttons; their action ids come back in mobile app events."""
    return [
        {
            "action": f"{ACCEPT_ACTION_PREFIX}{incident_id}",
            "title": texts("notification", "accept"),
        },
        {
            "action": f"{RESOLVE_ACTION_PREFIX}{incident_id}",
            "title": texts("notification", "resolve"),
        },
    ]


def _counted(texts: Texts, unit: str, count: int) -> str:
    return texts("notification", f"{unit}_one" if count == 1 else f"{unit}_other", count=count)


def age_words(texts: Texts, age: timedelta) -> str:
    """ "less than a minute", "5 minutes", "2 hours", "1 day": whole days or hours if exact."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return texts("notification", "less_than_a_minute")
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0:
            return _counted(texts, unit, minutes // size)
    return _counted(texts, "minute", minutes)


def escalation_notification(event: IncidentEvent, source_name: str, texts: Texts) -> dict[str, Any]:
    """The notify action data for one escalation level of an incident, in `texts`' language."""
    incident = event.incident
    priority = texts("priority", incident.priority.value)
    level = texts("notification", "level", level=event.level)
    if event.round:
        level = texts("notification", "level_round", level=event.level, round=event.round + 1)
    lines = [
        incident.summary,
        texts("notification", "source", source=source_name, priority=priority),
        *([texts("notification", "key", key=incident.key)] if incident.key else []),
        texts(
            "notification",
            "open_for",
            age=age_words(texts, event.at - incident.created),
            emails=_counted(texts, "email", incident.email_count),
        ),
        level,
    ]
    url = incident_url(incident.id)
    data: dict[str, Any] = {
        "tag": notification_tag(incident.id),
        "actions": notification_actions(incident.id, texts),
        # Tapping the notification opens the incident in the companion app (iOS, Android).
        "url": url,
        "clickAction": url,
    }
    if incident.priority is Priority.HIGH:
        # iOS breaks through focus modes; Android delivers at once even in doze.
        data |= {"push": {"interruption-level": "time-sensitive"}, "priority": "high", "ttl": 0}
    return {
        "title": texts("notification", "title", source=source_name, summary=incident.summary),
        "message": "\n".join(lines),
        "data": data,
    }


# The companion app's critical alert: iOS plays it through Do Not Disturb and the mute switch,
# Android on the alarm stream; neither counts against the push service's daily limit.
CRITICAL_PUSH: Final = {
    "push": {
        "interruption-level": "critical",
        "sound": {"name": "default", "critical": 1, "volume": 1.0},
    },
    "priority": "high",
    "ttl": 0,
    "channel": "alarm_stream",
}
SUMMARY_TAG: Final = f"{DOMAIN}_summary"
SUMMARY_LOG: Final = "in a summary"


def summary_notification(summary: Summary, texts: Texts) -> dict[str, Any]:
    """One target's summary of the incidents held in its window; it opens the Incidents panel
    with those incidents and offers no buttons (accepting many is done there)."""
    count = len(summary.incident_ids)
    url = f"/{DOMAIN.replace('_', '-')}?ids={','.join(summary.incident_ids)}"
    return {
        "title": texts("notification", "summary_title", count=count),
        "message": ", ".join(f"{name} ({number})" for name, number in summary.by_source),
        "data": {"tag": SUMMARY_TAG, "url": url, "clickAction": url},
    }


def done_notification(event: IncidentEvent, texts: Texts) -> dict[str, Any]:
    """What replaces an incident's notification when it is accepted or resolved: who did it,
    without buttons."""
    incident = event.incident
    actor = event.actor
    who = (actor.name or actor.kind.value) if actor is not None else ""
    key = "accepted_by" if event.type is IncidentEventType.ACCEPTED else "resolved_by"
    url = incident_url(incident.id)
    return {
        "title": texts("notification", key, incident_id=incident.id, actor=who),
        "message": incident.summary,
        "data": {"tag": notification_tag(incident.id), "url": url, "clickAction": url},
    }


def clear_notification(incident_id: str) -> dict[str, Any]:
    """The notify action data that removes an incident's notification from a phone."""
    return {"message": CLEAR_NOTIFICATION, "data": {"tag": notification_tag(incident_id)}}


def notified_targets(incident: Incident) -> set[str]:
    """Targets that got the incident's own notification, from the log (it survives restarts).
    A summary is not one: telling its targets of each incident would be the storm again."""
    targets = set()
    for entry in incident.log:
        target, _, message = entry.message.partition(": ")
        if entry.kind is LogKind.NOTIFIED and not message.startswith(SUMMARY_LOG):
            targets.add(target)
    return targets


class EscalationNotifier:
    """Sends the notifications of one config entry's incidents."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        engine: IncidentEngine,
        *,
        source_name: Callable[[str], str],
        apply: ApplyChange,
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._engine = engine
        self._source_name = source_name
        self._apply = apply
        # Targets of notifications still being sent (not yet in the log) or whose log entries
        # were dropped by the log cap: they must be told too.
        self._sent: dict[str, set[str]] = {}
        self._summaries_unsub: CALLBACK_TYPE | None = None

    @callback
    def async_start(self, incident_listeners: list[IncidentListener]) -> CALLBACK_TYPE:
        """Follow incident events (join `incident_listeners`) and mobile app actions; returns
        the way to stop."""
        incident_listeners.append(self._async_on_incident_event)
        unsub_actions = self._hass.bus.async_listen(
            EVENT_MOBILE_APP_NOTIFICATION_ACTION,
            self._async_on_mobile_app_action,
            event_filter=_is_our_action,
        )

        @callback
        def _async_stop() -> None:
            unsub_actions()
            incident_listeners.remove(self._async_on_incident_event)
            if self._summaries_unsub is not None:
                self._summaries_unsub()
                self._summaries_unsub = None

        return _async_stop

    @callback
    def _async_on_incident_event(self, event: IncidentEvent) -> None:
        # The event carries the live incident: build everything now, send in a task.
        incident = event.incident
        if event.type is IncidentEventType.ESCALATED and event.targets:
            self._page(event)
        elif event.type in (IncidentEventType.ACCEPTED, IncidentEventType.RESOLVED):
            self._schedule_summaries()
            policy = self._engine.policy_of(incident.source_id)
            notice = policy.done_notice if policy is not None else DoneNotice.CLEAR
            # Accepting cleared the notifications already; a notice is replaced once more.
            if (
                notice is DoneNotice.CLEAR
                and incident.accepted is not None
                and (event.type is IncidentEventType.RESOLVED)
            ):
                return
            targets = self._sent.pop(incident.id, set()) | notified_targets(incident)
            if targets:
                data = (
                    clear_notification(incident.id)
                    if notice is DoneNotice.CLEAR
                    else None  # built with the texts, in the task
                )
                self._create_task(
                    self._async_tell_done(
                        replace(event, incident=replace(incident, log=[])), sorted(targets), data
                    ),
                    f"tell the paged about {incident.id}",
                )

    def _page(self, event: IncidentEvent) -> None:
        """Send the level's notifications the pager let through; the others wait for their
        target's summary."""
        incident = event.incident
        source_name = self._source_name(incident.source_id)
        now = tuple(target for target in event.targets if target not in event.bundled)
        # The incident as it is now: the texts are loaded before the notification is built.
        snapshot = replace(event, incident=replace(incident, log=[]))
        self._sent.setdefault(incident.id, set()).update(now)
        self._create_task(
            self._async_notify_escalation(snapshot, source_name, now, event.bundled),
            f"notify escalation of {incident.id}",
        )
        self._schedule_summaries()

    @callback
    def _schedule_summaries(self) -> None:
        if self._summaries_unsub is not None:
            self._summaries_unsub()
            self._summaries_unsub = None
        if (due := self._engine.pager.next_due()) is not None:
            self._summaries_unsub = async_track_point_in_utc_time(
                self._hass, self._async_send_summaries, due
            )

    async def _async_send_summaries(self, now: datetime) -> None:
        self._summaries_unsub = None
        summaries = self._engine.pager.due(now)
        self._schedule_summaries()
        if not summaries:
            return
        texts = await async_load_texts(self._hass)
        for summary in summaries:
            error = await self._async_call(
                summary.target, SUMMARY_TAG, summary_notification(summary, texts)
            )
            record = partial(self._record_summary, summary, error)
            try:
                await self._apply(record)
            except StoreWriteError:
                continue  # logged by the store; the summary went out regardless

    def _create_task(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        # Tracked by the entry, so unloading waits for notifications in flight.
        self._entry.async_create_task(self._hass, coroutine, name)

    def _record_summary(self, summary: Summary, error: str | None, now: datetime) -> None:
        message = error or f"{SUMMARY_LOG} of {len(summary.incident_ids)} incidents"
        for incident_id in summary.incident_ids:
            self._engine.record_notification(
                incident_id, target=summary.target, ok=error is None, message=message, now=now
            )

    async def _async_notify_escalation(
        self,
        event: IncidentEvent,
        source_name: str,
        targets: tuple[str, ...],
        held: tuple[str, ...],
    ) -> None:
        data = escalation_notification(event, source_name, await async_load_texts(self._hass))
        if event.critical:
            data["data"] |= CRITICAL_PUSH
        await self._async_notify(
            event.incident.id, event.level, targets, held, data, event.critical
        )

    async def _async_notify(
        self,
        incident_id: str,
        level: int | None,
        targets: tuple[str, ...],
        held: tuple[str, ...],
        data: Mapping[str, Any],
        critical: bool,
    ) -> None:
        errors = await asyncio.gather(
            *(self._async_call(target, incident_id, data) for target in targets)
        )
        failed = {target for target, error in zip(targets, errors, strict=True) if error}
        self._sent.get(incident_id, set()).difference_update(failed)
        sent = f"level {level}, critical" if critical else f"level {level}"

        def record(now: datetime) -> None:
            for target, error in zip(targets, errors, strict=True):
                self._engine.record_notification(
                    incident_id, target=target, ok=error is None, message=error or sent, now=now
                )
            for target in held:
                self._engine.record_bundled(incident_id, target=target, level=level, now=now)

        try:
            await self._apply(record)
        except StoreWriteError:
            return  # logged by the store; the notifications went out regardless

    async def _async_tell_done(
        self, event: IncidentEvent, targets: list[str], data: dict[str, Any] | None
    ) -> None:
        """Replace each paged target's notification by who accepted or resolved the incident,
        or clear it (`data` given)."""
        if data is None:
            data = done_notification(event, await async_load_texts(self._hass))
        incident_id = event.incident.id
        await asyncio.gather(*(self._async_call(target, incident_id, data) for target in targets))

    async def _async_call(
        self, target: str, incident_id: str, data: Mapping[str, Any]
    ) -> str | None:
        """Call one notify action; the error text when it failed."""
        domain, _, service = target.partition(".")
        try:
            async with asyncio.timeout(NOTIFY_TIMEOUT):
                await self._hass.services.async_call(domain, service, dict(data), blocking=True)
        except ServiceNotFound:
            error = "action not found"  # its own text is a translation key until one is loaded
        except Exception as err:  # noqa: BLE001 - one broken target must not stop the others
            error = str(err) or type(err).__name__
        else:
            return None
        LOGGER.warning("Could not notify %s about %s: %s", target, incident_id, error)
        return error

    async def _async_on_mobile_app_action(self, event: Event[Mapping[str, Any]]) -> None:
        action: str = event.data["action"]
        engine = self._engine
        change: Callable[[str, Actor, datetime], tuple[IncidentEvent, ...]]
        if action.startswith(ACCEPT_ACTION_PREFIX):
            incident_id, change = action.removeprefix(ACCEPT_ACTION_PREFIX), engine.accept
        elif action.startswith(RESOLVE_ACTION_PREFIX):
            incident_id, change = action.removeprefix(RESOLVE_ACTION_PREFIX), engine.resolve
        else:
            return
        actor = Actor(kind=ActorKind.NOTIFICATION, name=await self._user_name(event))
        try:
            await self._apply(partial(change, incident_id, actor))
        except IncidentError as err:
            # A second phone pressing the same button, or a notification older than the incident.
            LOGGER.debug("Ignored %s from the mobile app: %s", action, err.reason)
        except StoreWriteError:
            return  # logged by the store; the incident stays as it was, press again

    async def _user_name(self, event: Event[Mapping[str, Any]]) -> str:
        user_id = event.context.user_id
        if user_id and (user := await self._hass.auth.async_get_user(user_id)) and user.name:
            return user.name
        return MOBILE_APP_ACTOR_NAME


@callback
def _is_our_action(data: Mapping[str, Any]) -> bool:
    action = data.get("action")
    return isinstance(action, str) and action.startswith(ACTION_PREFIX)
