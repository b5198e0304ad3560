"""Sensors: open incidents, status, latest incident and statistics per source; counters of the
listener."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_utc_time_change
from homeassistant.util import dt as dt_util

from .const import SUBENTRY_MAILBOX, SUBENTRY_ROTATION, SUBENTRY_SOURCE
from .core.models import IncidentStatus
from .core.rotation import OnCall
from .core.statistics import IncidentStatistics, MeanDuration
from .entity import (
    EmailIncidentsEntity,
    MailboxEntity,
    RotationEntity,
    async_add_subentry_entities,
)
from .events import cut, incident_data
from .people import person_name
from .runtime import EmailIncidentsConfigEntry, EmailIncidentsRuntime

PARALLEL_UPDATES = 0
NEWEST_SHOWN = 5

type SourceValue = str | int | float | datetime | None


@dataclass(frozen=True, kw_only=True)
class SourceSensorDescription(SensorEntityDescription):
    """A sensor of an alert source or a mailbox (its subentry id), read from the runtime."""

    value_fn: Callable[[EmailIncidentsRuntime, str], SourceValue]
    attributes_fn: Callable[[EmailIncidentsRuntime, str], Mapping[str, Any]] = lambda _r, _s: {}
    changes_with_every_email: bool = False
    # A mean over a window of days: shown again when a day leaves it, at midnight (UTC).
    changes_with_the_day: bool = False


@dataclass(frozen=True, kw_only=True)
class ListenerSensorDescription(SensorEntityDescription):
    """A sensor of the listener."""

    value_fn: Callable[[EmailIncidentsRuntime], int | datetime | None]


def _status(runtime: EmailIncidentsRuntime, source_id: str) -> str:
    if runtime.engine.open_count(source_id, IncidentStatus.PENDING):
        return "pending"
    return "accepted" if runtime.engine.open_count(source_id) else "ok"


def _open_attributes(runtime: EmailIncidentsRuntime, source_id: str) -> dict[str, Any]:
    engine = runtime.engine
    return {
        "pending": engine.open_count(source_id, IncidentStatus.PENDING),
        "accepted": engine.open_count(source_id, IncidentStatus.ACCEPTED),
        "incidents": [
            {
                "id": incident.id,
                "summary": cut(incident.summary),
                "status": incident.status.value,
                "key": cut(incident.key),
                "created": incident.created.isoformat(),
            }
            for incident in engine.open_incidents(source_id, NEWEST_SHOWN)
        ],
    }


def _latest(runtime: EmailIncidentsRuntime, source_id: str) -> str | None:
    latest = runtime.engine.incidents(source_id=source_id, limit=1)
    return latest[0].status.value if latest else None


def _latest_attributes(runtime: EmailIncidentsRuntime, source_id: str) -> dict[str, Any]:
    latest = runtime.engine.incidents(source_id=source_id, limit=1)
    if not latest:
        return {}
    data = incident_data(runtime, latest[0])
    return {
        name: data[name]
        for name in (
            "incident_id", "summary", "key", "priority", "from", "email_count",
            "created", "last_email", "accepted", "resolved", "accepted_by", "resolved_by",
        )
    }  # fmt: skip


def _minutes(mean: MeanDuration | None) -> float | None:
    """Unknown while no incident is in the window."""
    return round(mean.mean.total_seconds() / 60, 2) if mean is not None else None


def _mean_time(
    key: str,
    counted: str,
    figure: Callable[[IncidentStatistics, str, datetime], MeanDuration | None],
) -> SourceSensorDescription:
    """A mean time over the last 30 days in minutes, and how many incidents it is taken over
    (`counted`). Read from the engine's running sums: no pass over the incidents."""

    def mean(runtime: EmailIncidentsRuntime, source_id: str) -> MeanDuration | None:
        return figure(runtime.engine.statistics, source_id, dt_util.utcnow())

    def attributes(runtime: EmailIncidentsRuntime, source_id: str) -> dict[str, int]:
        found = mean(runtime, source_id)
        return {counted: found.incidents if found is not None else 0}

    return SourceSensorDescription(
        key=key,
        translation_key=key,
        # Accept and resolve rules change it by e-mail too.
        changes_with_every_email=True,
        changes_with_the_day=True,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda runtime, source_id: _minutes(mean(runtime, source_id)),
        attributes_fn=attributes,
    )


SOURCE_SENSORS: tuple[SourceSensorDescription, ...] = (
    SourceSensorDescription(
        key="open_incidents",
        translation_key="open_incidents",
        changes_with_every_email=True,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda runtime, source_id: runtime.engine.open_count(source_id),
        attributes_fn=_open_attributes,
    ),
    SourceSensorDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=["ok", "pending", "accepted"],
        value_fn=_status,
    ),
    SourceSensorDescription(
        key="latest_incident",
        translation_key="latest_incident",
        changes_with_every_email=True,
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in IncidentStatus],
        value_fn=_latest,
        attributes_fn=_latest_attributes,
    ),
    _mean_time("time_to_accept", "incidents_accepted", IncidentStatistics.time_to_accept),
    _mean_time("time_to_resolve", "incidents_resolved", IncidentStatistics.time_to_resolve),
    SourceSensorDescription(
        key="incidents_opened",
        translation_key="incidents_opened",
        changes_with_every_email=True,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda runtime, source_id: runtime.engine.statistics.opened_count(source_id),
    ),
)


def _counter(name: str) -> Callable[[EmailIncidentsRuntime], int]:
    return lambda runtime: runtime.engine.state.counters.get(name, 0)


LISTENER_SENSORS: tuple[ListenerSensorDescription, ...] = (
    ListenerSensorDescription(
        key="emails_received",
        translation_key="emails_received",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=_counter("received"),
    ),
    ListenerSensorDescription(
        key="emails_accepted",
        translation_key="emails_accepted",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_counter("accepted"),
    ),
    ListenerSensorDescription(
        key="emails_filtered",
        translation_key="emails_filtered",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_counter("filtered"),
    ),
    ListenerSensorDescription(
        key="emails_refused",
        translation_key="emails_refused",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_counter("refused"),
    ),
    ListenerSensorDescription(
        key="last_email",
        translation_key="last_email",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda runtime: runtime.last_email,
    ),
)


def _mailbox_counter(runtime: EmailIncidentsRuntime, mailbox_id: str, name: str) -> int:
    return runtime.engine.state.counters.get(f"mailbox_{name}_{mailbox_id}", 0)


def _last_check(runtime: EmailIncidentsRuntime, mailbox_id: str) -> datetime | None:
    reader = runtime.mailboxes.get(mailbox_id)
    return reader.status.last_check if reader is not None else None


MAILBOX_SENSORS: tuple[SourceSensorDescription, ...] = (
    SourceSensorDescription(
        key="last_check",
        translation_key="last_check",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_last_check,
    ),
    SourceSensorDescription(
        key="emails_taken",
        translation_key="emails_taken",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda runtime, mailbox_id: _mailbox_counter(runtime, mailbox_id, "taken"),
        # Left in the folder: no alert source took them, or they were too large.
        attributes_fn=lambda runtime, mailbox_id: {
            "left_in_folder": _mailbox_counter(runtime, mailbox_id, "left"),
            "too_large": _mailbox_counter(runtime, mailbox_id, "too_large"),
        },
    ),
)


def _on_call(runtime: EmailIncidentsRuntime, rotation_id: str) -> OnCall | None:
    return runtime.engine.on_call(rotation_id, dt_util.utcnow())


def _on_call_name(runtime: EmailIncidentsRuntime, rotation_id: str) -> str | None:
    current = _on_call(runtime, rotation_id)
    return person_name(runtime.hass, current.member.person) if current is not None else None


def _on_call_attributes(runtime: EmailIncidentsRuntime, rotation_id: str) -> dict[str, Any]:
    if (current := _on_call(runtime, rotation_id)) is None:
        return {}
    return {
        "person": current.member.person,
        "until": current.until.isoformat(),
        "next": person_name(runtime.hass, current.next_member.person),
        "next_person": current.next_member.person,
        "overridden": current.overridden,
    }


ROTATION_SENSORS: tuple[SourceSensorDescription, ...] = (
    SourceSensorDescription(
        key="on_call",
        translation_key="on_call",
        value_fn=_on_call_name,
        attributes_fn=_on_call_attributes,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    runtime = entry.runtime_data
    async_add_entities(ListenerSensor(runtime, description) for description in LISTENER_SENSORS)
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: (
            SourceSensor(runtime, description, source_id) for description in SOURCE_SENSORS
        ),
        SUBENTRY_SOURCE,
    )
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, mailbox_id: (
            MailboxSensor(runtime, description, mailbox_id) for description in MAILBOX_SENSORS
        ),
        SUBENTRY_MAILBOX,
    )
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, rotation_id: (
            RotationSensor(runtime, description, rotation_id) for description in ROTATION_SENSORS
        ),
        SUBENTRY_ROTATION,
    )


class ListenerSensor(EmailIncidentsEntity, SensorEntity):
    entity_description: ListenerSensorDescription
    _changes_with_every_email = True

    @property
    def native_value(self) -> int | datetime | None:
        return self.entity_description.value_fn(self.runtime)


class SourceSensor(EmailIncidentsEntity, SensorEntity):
    entity_description: SourceSensorDescription
    # What changes with every e-mail stays out of the recorder's database.
    _unrecorded_attributes = frozenset({"incidents", "email_count", "last_email"})

    def __init__(
        self, runtime: EmailIncidentsRuntime, description: SourceSensorDescription, source_id: str
    ) -> None:
        super().__init__(runtime, description, source_id)
        self._changes_with_every_email = description.changes_with_every_email

    @property
    def native_value(self) -> SourceValue:
        assert self.source_id is not None
        return self.entity_description.value_fn(self.runtime, self.source_id)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        assert self.source_id is not None
        return self.entity_description.attributes_fn(self.runtime, self.source_id)

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if self.entity_description.changes_with_the_day:
            self.async_on_remove(
                async_track_utc_time_change(
                    self.hass, self._async_new_day, hour=0, minute=0, second=0
                )
            )

    @callback
    def _async_new_day(self, _now: datetime) -> None:
        """A day left the window: the mean may differ with no incident changed."""
        self._async_write_if_changed()


class MailboxSensor(MailboxEntity, SourceSensor):
    """A mailbox's sensor: the device and availability of a mailbox, the value of its
    description."""


class RotationSensor(RotationEntity, SourceSensor):
    """A rotation's sensor, written again at each handover and when an override ends."""

    _handover_unsub: CALLBACK_TYPE | None = None
    _handover_at: datetime | None = None

    @property
    def available(self) -> bool:
        return self.source_id in self.runtime.engine.rotations

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_handover)
        self._schedule_handover()

    @callback
    def _async_write_if_changed(self) -> None:
        super()._async_write_if_changed()
        self._schedule_handover()

    @callback
    def _schedule_handover(self) -> None:
        """Follow the end of the shift or override shown; the timer stays while it is the
        same (every change of the entry's incidents asks again)."""
        assert self.source_id is not None
        current = _on_call(self.runtime, self.source_id)
        until = current.until if current is not None else None
        if until == self._handover_at and self._handover_unsub is not None:
            return
        self._cancel_handover()
        if until is not None:
            self._handover_at = until
            self._handover_unsub = async_track_point_in_utc_time(
                self.hass, self._async_handover, until
            )

    @callback
    def _async_handover(self, _now: datetime) -> None:
        self._handover_unsub = None
        self._async_write_if_changed()

    @callback
    def _cancel_handover(self) -> None:
        self._handover_at = None
        if self._handover_unsub is not None:
            self._handover_unsub()
            self._handover_unsub = None
