"""The running integration: engine, store, listener and Home Assistant glue for one entry.

Every change goes the same way: the engine changes state on the event loop, the store writes it
(one write for changes that arrive together), and only then are events fired, entities updated
and SMTP clients answered. A failed write restores the last state on disk and reports a failure,
so nothing is announced that is not stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE, STATE_ON
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    LISTENER_DEVICE,
    LOGGER,
    SIGNAL_INCIDENTS_WRITTEN,
    SUBENTRY_MAILBOX,
    SUBENTRY_POLICY,
    SUBENTRY_ROTATION,
    SUBENTRY_SOURCE,
    state_changed_signal,
)
from .core.book import EngineLimits
from .core.config import SourceConfig, policy_from_data, source_from_data
from .core.engine import IncidentEngine
from .core.mailbox import MailboxConfig, mailbox_from_data
from .core.models import EmailRecord, EmailRef, InboundEmail, KeptEmail, Priority
from .core.outcomes import IncidentEvent, IngestResult, Outcome, SourceOutcome
from .core.parser import parse_email
from .core.rotation import Rotation, rotation_from_data
from .core.state import (
    EngineState,
    MailboxMark,
    state_from_data,
    state_from_readable_data,
    take_changes,
)
from .escalation import EscalationNotifier, IncidentListener
from .events import async_fire_email_received, async_fire_incident_event
from .listener import Delivery, ListenerError, RefusalCause, SmtpListener, load_tls_context
from .mailbox import MailboxReader
from .people import person_name
from .recent import RecentEmail, RecentEmails
from .settings import ListenerSettings
from .store import IncidentStore, StoreDamage, StoreWriteError

type EmailIncidentsConfigEntry = ConfigEntry[EmailIncidentsRuntime]

REFUSAL_LOG_PERIOD = 3600.0
BACKGROUND_SAVE_DELAY = 5.0
PRUNE_INTERVAL = timedelta(hours=1)
DEADLINE_RETRY_DELAY = timedelta(seconds=30)
INLINE_PARSE_BYTES = 4096


class EmailIncidentsRuntime:
    """Owns everything the config entry runs."""

    def __init__(self, hass: HomeAssistant, entry: EmailIncidentsConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.settings = ListenerSettings.from_data(entry.data)
        self.store = IncidentStore(
            hass,
            entry.entry_id,
            take_changes=lambda snapshot: take_changes(self.engine.state, all_message_ids=snapshot),
            restore=self._restore,
            written=self._announce_written,
        )
        self.engine = IncidentEngine(
            limits=EngineLimits(retention=timedelta(days=self.settings.retention_days)),
            store_email=self.store.emails.reserve,
        )
        self.listener: SmtpListener | None = None
        self.mailboxes: dict[str, MailboxReader] = {}
        self.recent = RecentEmails(hass, entry.entry_id, self.settings.recent_emails)
        self.last_email: datetime | None = None
        self.incident_listeners: list[IncidentListener] = []
        self.notifier = EscalationNotifier(
            hass, entry, self.engine, source_name=self.source_name, apply=self.async_apply
        )
        self._refusals_logged: dict[tuple[RefusalCause, str], float] = {}
        self._deadline_unsub: CALLBACK_TYPE | None = None
        self._background_save: CALLBACK_TYPE | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._device_ids: dict[str, str | None] = {}
        # Each platform's way to add the entities of an alert source, a mailbox or a rotation
        # added while running.
        self.entity_adders: dict[str, list[Callable[[str], None]]] = {
            SUBENTRY_SOURCE: [],
            SUBENTRY_MAILBOX: [],
            SUBENTRY_ROTATION: [],
        }
        self._support_hours_unsub: CALLBACK_TYPE | None = None
        self._flush_handle: asyncio.Handle | None = None
        self._changed_devices: set[str] = set()
        self._all_changed = False
        self._changed_by_emails_only = True

    # --- life cycle -------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Load the state, apply the configuration and start listening (ListenerError if not)."""
        await self.recent.async_load()
        data = await self.store.async_load()
        if data is not None:
            # Thousands of incidents take a while to read: not on Home Assistant's loop.
            state, unusable = await self.hass.async_add_executor_job(state_from_readable_data, data)
            if unusable:
                await self.store.async_unusable(unusable, state.incidents)
            self.engine.state = state
        if (damage := self.store.damage) is not None:
            raise_store_issue(self.hass, damage)
        now = dt_util.utcnow()
        self.engine.configure(self._source_configs(), self._policies(), now, self._rotations())
        self.last_email = max(self.engine.state.source_last_email.values(), default=None)
        self._track_support_hours(now)
        # Before the first deadline is scheduled: an overdue level runs right after start.
        self._unsubs.append(self.notifier.async_start(self.incident_listeners))
        tls_context = None
        if self.settings.tls_enabled:
            tls_context = await self.hass.async_add_executor_job(
                load_tls_context, self.settings.tls_certificate, self.settings.tls_key
            )
        listener = SmtpListener(self.hass.loop, self.settings, self, tls_context)
        await listener.async_start()
        self.listener = listener
        self._unsubs.append(async_track_time_interval(self.hass, self._async_prune, PRUNE_INTERVAL))
        # Rotations hand over on the local clock of Home Assistant's time zone.
        self._unsubs.append(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._async_core_config_updated)
        )
        self._schedule_deadline()
        await self._async_apply_mailboxes()

    @callback
    def _async_core_config_updated(self, _event: Event) -> None:
        self.async_apply_configuration()

    @callback
    def async_apply_configuration(self) -> None:
        """Apply changed alert sources and policies in place: the listener keeps its socket,
        incidents stay, and only the entities of added or changed sources hear of it."""
        now = dt_util.utcnow()
        before = self.engine.sources
        rotations_before = dict(self.engine.rotations)
        sources = self._source_configs()
        self.engine.configure(sources, self._policies(), now, self._rotations())
        self._track_support_hours(now)
        changed = [
            source_id
            for source_id, source in sources.items()
            if source_id in before and source != before[source_id]
        ]
        registry = dr.async_get(self.hass)
        for source_id in changed:
            name = sources[source_id].name
            if name != before[source_id].name and (device_id := self.device_id(source_id)):
                registry.async_update_device(device_id, name=name)
        for source_id in sources.keys() - before.keys():
            for add_entities in self.entity_adders[SUBENTRY_SOURCE]:
                add_entities(source_id)
        for rotation_id, rotation in self.engine.rotations.items():
            if (earlier := rotations_before.get(rotation_id)) is None:
                for add_entities in self.entity_adders[SUBENTRY_ROTATION]:
                    add_entities(rotation_id)
            elif rotation != earlier:
                changed.append(rotation_id)
                if rotation.name != earlier.name and (device_id := self.device_id(rotation_id)):
                    registry.async_update_device(device_id, name=rotation.name)
        # Removed sources' devices and entities go with their subentries (Home Assistant).
        for source_id in before.keys() - sources.keys():
            self._device_ids.pop(source_id, None)
        if LOGGER.isEnabledFor(logging.DEBUG):
            LOGGER.debug(
                "Configuration applied: %d sources (%d changed), %d policies",
                len(sources),
                len(changed),
                len(self.engine.policies),
            )
        self._after_change(changed)
        self.entry.async_create_background_task(
            self.hass, self._async_apply_mailboxes(), "email_incidents mailboxes"
        )

    async def _async_apply_mailboxes(self) -> None:
        """Start the readers of added mailboxes, restart those of changed ones (a new password
        after a refused login too), stop those of removed ones."""
        configs = self._mailbox_configs()
        known = set(self.mailboxes)
        for mailbox_id, reader in list(self.mailboxes.items()):
            if configs.get(mailbox_id) != reader.config:
                del self.mailboxes[mailbox_id]
                await reader.async_stop()
        for mailbox_id, config in configs.items():
            if mailbox_id not in self.mailboxes and self.listener is not None:
                reader = self.mailboxes[mailbox_id] = MailboxReader(self.hass, self, config)
                reader.start()
                if mailbox_id not in known:
                    for add_entities in self.entity_adders[SUBENTRY_MAILBOX]:
                        add_entities(mailbox_id)

    def _mailbox_configs(self) -> dict[str, MailboxConfig]:
        return {
            subentry_id: mailbox_from_data(subentry_id, subentry.data)
            for subentry_id, subentry in self.entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_MAILBOX
        }

    async def async_stop(self) -> None:
        """Stop listening (sessions in DATA may finish) and reading mailboxes, then write what
        is pending."""
        for reader in self.mailboxes.values():
            await reader.async_stop()
        if self.listener is not None:
            await self.listener.async_stop()
            self.listener = None
        if self._support_hours_unsub is not None:
            self._support_hours_unsub()
            self._support_hours_unsub = None
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._deadline_unsub is not None:
            self._deadline_unsub()
            self._deadline_unsub = None
        if self._background_save is not None:
            self._background_save()
            self._background_save = None
        # Counters (refusals) wait for the next write; this is the last one. If it fails (the
        # store logs it), the entry still unloads: every acknowledged e-mail is on disk
        # already, only those counters are lost.
        with contextlib.suppress(StoreWriteError):
            await self.store.async_commit()
        self.store.close()
        await self.recent.async_save()

    def _source_configs(self) -> dict[str, SourceConfig]:
        return {
            subentry_id: source_from_data(
                subentry_id, subentry.data, domain=self.settings.mail_domain
            )
            for subentry_id, subentry in self.entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_SOURCE
        }

    def _policies(self) -> dict[str, Any]:
        return {
            subentry_id: policy_from_data(subentry_id, subentry.data)
            for subentry_id, subentry in self.entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_POLICY
        }

    def _rotations(self) -> dict[str, Rotation]:
        zone = dt_util.get_default_time_zone()
        return {
            subentry_id: rotation_from_data(
                subentry_id,
                subentry.data,
                zone=zone,
                person_name=lambda person: person_name(self.hass, person),
            )
            for subentry_id, subentry in self.entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_ROTATION
        }

    def _restore(self, data: dict[str, Any] | None) -> None:
        now = dt_util.utcnow()
        self.engine.state = state_from_data(data) if data is not None else type(self.engine.state)()
        self.engine.configure(self.engine.sources, self.engine.policies, now, self.engine.rotations)
        self._after_change()

    # --- the listener's sink ----------------------------------------------------------------

    def accepts_recipient(self, address: str) -> bool:
        return self.engine.accepts_recipient(address)

    async def async_deliver(self, delivery: Delivery) -> str:
        """An SMTP client's e-mail, stored and announced: the reply it gets."""
        results = await self.async_deliver_all((delivery,))
        if results is None:
            return "451 4.3.0 Could not store the e-mail, try again later"
        return _delivery_reply(results[0])

    async def async_deliver_all(
        self,
        deliveries: Sequence[Delivery],
        record: Callable[[EngineState, list[IngestResult]], object] | None = None,
    ) -> list[IngestResult] | None:
        """E-mails that arrived together, ingested in their order, stored in one write and then
        announced: what each did, or None when the write failed (nothing of them is kept).
        `record` notes more in the same write (a mailbox's mark), after the ingests."""
        started = time.perf_counter()
        emails = await self._async_parse(deliveries)
        now = dt_util.utcnow()
        emails = [
            replace(email, envelope_recipients=(delivery.fallback_recipient,))
            if delivery.fallback_recipient and not self._routed(email)
            else email
            for delivery, email in zip(deliveries, emails, strict=True)
        ]
        results = [self.engine.ingest(email, now) for email in emails]
        if record is not None:
            record(self.engine.state, results)
        try:
            await self.store.async_commit()
        except StoreWriteError:
            for delivery, email in zip(deliveries, emails, strict=True):
                self.record_refusal(RefusalCause.STORE, delivery.client)
                self._remember(delivery, email, now, (), refusal=RefusalCause.STORE)
            return None
        self.last_email = now
        devices = {LISTENER_DEVICE}
        for delivery, email, result in zip(deliveries, emails, results, strict=True):
            if LOGGER.isEnabledFor(logging.DEBUG):
                _log_delivery(self.engine, email, result, time.perf_counter() - started)
            self._remember(delivery, email, now, result.outcomes)
            async_fire_email_received(self.hass, self, email, delivery.client, result.outcomes, now)
            self._publish(result.events)
            devices.update(outcome.source_id for outcome in result.outcomes)
        self._after_change(devices, by_email=True)
        return results

    async def _async_parse(self, deliveries: Sequence[Delivery]) -> list[InboundEmail]:
        """Parsed in order. A typical alert is parsed in well under a millisecond, less than
        the trip to a worker thread and back costs; even hostile input of this size takes a
        few. Larger e-mails are parsed in the executor, those of one batch in one job."""

        def parse(delivery: Delivery) -> InboundEmail:
            return parse_email(
                delivery.content,
                envelope_sender=delivery.mail_from,
                envelope_recipients=delivery.rcpt_tos,
            )

        large = [d for d in deliveries if len(d.content) > INLINE_PARSE_BYTES]
        parsed: dict[int, InboundEmail] = {}
        if large:
            parsed = dict(
                zip(
                    map(id, large),
                    await self.hass.async_add_executor_job(lambda: [parse(d) for d in large]),
                    strict=True,
                )
            )
        return [parsed[id(d)] if id(d) in parsed else parse(d) for d in deliveries]

    def _routed(self, email: InboundEmail) -> bool:
        return any(
            self.engine.accepts_recipient(address)
            for address in email.envelope_recipients + email.header_recipients
        )

    # --- the mailboxes' sink ----------------------------------------------------------------

    @property
    def max_message_size(self) -> int:
        return self.settings.max_message_size

    def mailbox_mark(self, mailbox_id: str) -> MailboxMark | None:
        return self.engine.state.mailbox_marks.get(mailbox_id)

    def fallback_address(self, source_id: str | None) -> str:
        source = self.engine.sources.get(source_id) if source_id else None
        return source.addresses[0] if source is not None and source.addresses else ""

    @callback
    def mailbox_changed(
        self, mailbox_id: str, change: Callable[[EngineState], object] | None = None
    ) -> None:
        """A mailbox's status changed for its entities; a `change` of its state (flags done,
        messages left for their size) is written soon, with no acknowledgement waiting."""
        if change is not None:
            change(self.engine.state)
            self._schedule_background_save()
        self._after_change([mailbox_id])

    def record_refusal(self, cause: RefusalCause, client: str, detail: str = "") -> None:
        counters = self.engine.state.counters
        counters["refused"] = counters.get("refused", 0) + 1
        counters[f"refused_{cause}"] = counters.get(f"refused_{cause}", 0) + 1
        now = time.monotonic()
        last = self._refusals_logged.get((cause, client))
        if last is None or now - last >= REFUSAL_LOG_PERIOD:
            self._refusals_logged[(cause, client)] = now
            LOGGER.warning(
                "Refused %s from %s%s (logged once an hour per client and cause)",
                cause.value.replace("_", " "),
                client or "unknown client",
                f": {detail}" if detail else "",
            )
        self._schedule_background_save()
        self._after_change([LISTENER_DEVICE], by_email=True)

    def _remember(
        self,
        delivery: Delivery,
        email: InboundEmail,
        now: datetime,
        outcomes: tuple[SourceOutcome, ...],
        refusal: str | None = None,
    ) -> None:
        self.recent.append(
            RecentEmail(
                received=now,
                client=delivery.client,
                mail_from=delivery.mail_from,
                rcpt_tos=delivery.rcpt_tos,
                email=email,
                outcomes=outcomes,
                refusal=refusal,
            )
        )

    # --- changes from Home Assistant --------------------------------------------------------

    async def async_apply(
        self, change: Callable[[datetime], Iterable[IncidentEvent] | None]
    ) -> tuple[IncidentEvent, ...]:
        """Run an engine change (IncidentError passes through), store it, then announce it."""
        events = tuple(change(dt_util.utcnow()) or ())
        await self.store.async_commit()
        self._publish(events)
        self._after_change()
        return events

    def _publish(self, events: Iterable[IncidentEvent]) -> None:
        for event in events:
            async_fire_incident_event(self.hass, self, event)
            for listener in self.incident_listeners:
                listener(event)

    @callback
    def _after_change(
        self, devices: Iterable[str] | None = None, *, by_email: bool = False
    ) -> None:
        """Reschedule the next deadline and write the states of the entities of `devices`
        (alert sources or the listener; all when None) once, at the end of this turn of the
        loop: the e-mails acknowledged by one write cost one pass, not one per e-mail. Changes
        made only by e-mails may wait for a burst's once-a-second write; any other change (an
        action, a deadline) is shown at once."""
        if devices is None:
            self._all_changed = True
        else:
            self._changed_devices.update(devices)
        self._changed_by_emails_only &= by_email
        if self._flush_handle is None:
            self._flush_handle = self.hass.loop.call_soon(self._flush_changes)

    @callback
    def _flush_changes(self) -> None:
        self._flush_handle = None
        self._schedule_deadline()
        entry_id = self.entry.entry_id
        signals = (
            [state_changed_signal(entry_id)]
            if self._all_changed
            else [state_changed_signal(entry_id, device) for device in self._changed_devices]
        )
        by_emails_only = self._changed_by_emails_only
        self._all_changed = False
        self._changed_devices = set()
        self._changed_by_emails_only = True
        for signal in signals:
            async_dispatcher_send(self.hass, signal, by_emails_only)

    @callback
    def _schedule_background_save(self) -> None:
        """Counters that need no acknowledgement are written a little later, together."""
        if self._background_save is None:
            self._background_save = async_track_point_in_utc_time(
                self.hass,
                self._async_background_save,
                dt_util.utcnow() + timedelta(seconds=BACKGROUND_SAVE_DELAY),
            )

    async def _async_background_save(self, _now: datetime) -> None:
        self._background_save = None
        try:
            await self.store.async_commit()
        except StoreWriteError:
            return  # logged by the store; the next write carries the counters

    # --- deadlines: escalation, auto-resolve, heartbeat -------------------------------------

    @callback
    def _schedule_deadline(self, not_before: datetime | None = None) -> None:
        if self._deadline_unsub is not None:
            self._deadline_unsub()
            self._deadline_unsub = None
        if self.listener is None:
            return
        deadline = self.engine.next_deadline()
        if deadline is not None:
            if not_before is not None:
                deadline = max(deadline, not_before)
            self._deadline_unsub = async_track_point_in_utc_time(
                self.hass, self._async_run_due, deadline
            )

    async def _async_run_due(self, _now: datetime) -> None:
        self._deadline_unsub = None
        try:
            await self.async_apply(self.engine.run_due)
        except StoreWriteError:
            # The restored state is due again at once; give the disk a moment before retrying.
            self._schedule_deadline(not_before=dt_util.utcnow() + DEADLINE_RETRY_DELAY)

    async def _async_prune(self, _now: datetime) -> None:
        if not self.engine.prune(dt_util.utcnow()):
            return
        try:
            await self.store.async_commit()
        except StoreWriteError:
            return  # logged by the store; the next pruning tries again
        # Only now that no incident on disk refers to them may their e-mails go.
        used = {
            email.segment
            for incident in self.engine.state.incidents.values()
            for email in incident.emails
            if isinstance(email, EmailRef)
        }
        await self.hass.async_add_executor_job(self.store.emails.remove_unused, used)

    @callback
    def _announce_written(self, incident_ids: Collection[str]) -> None:
        """Live views hear of every incident written: created, changed or removed."""
        async_dispatcher_send(self.hass, SIGNAL_INCIDENTS_WRITTEN, incident_ids)

    async def async_read_emails(self, emails: Iterable[KeptEmail]) -> list[EmailRecord | str]:
        """The e-mails, read from disk (those in memory as they are); in place of one that
        cannot be read, why."""
        files = self.store.emails
        kept = [
            files.recent(email) or email if isinstance(email, EmailRef) else email
            for email in emails
        ]
        refs = [email for email in kept if isinstance(email, EmailRef)]
        read = iter(await self.hass.async_add_executor_job(files.read, refs) if refs else ())
        return [next(read) if isinstance(email, EmailRef) else email for email in kept]

    # --- support hours ----------------------------------------------------------------------

    def _track_support_hours(self, now: datetime) -> None:
        """Follow the schedules of the low-priority sources (again, after a change)."""
        if self._support_hours_unsub is not None:
            self._support_hours_unsub()
            self._support_hours_unsub = None
        schedules: dict[str, list[str]] = {}
        for source in self.engine.sources.values():
            if source.priority is Priority.LOW and source.support_hours_entity:
                schedules.setdefault(source.support_hours_entity, []).append(source.source_id)
                state = self.hass.states.get(source.support_hours_entity)
                active = state is None or state.state == STATE_ON
                self.engine.set_support_hours(source.source_id, active, now)
        if not schedules:
            return

        async def _async_schedule_changed(event: Event[EventStateChangedData]) -> None:
            new_state = event.data["new_state"]
            active = new_state is None or new_state.state == STATE_ON

            def change(at: datetime) -> None:
                for source_id in schedules[event.data["entity_id"]]:
                    self.engine.set_support_hours(source_id, active, at)

            try:
                await self.async_apply(change)
            except StoreWriteError:
                return

        self._support_hours_unsub = async_track_state_change_event(
            self.hass, list(schedules), _async_schedule_changed
        )

    # --- lookups for entities, services and events ------------------------------------------

    def source_name(self, source_id: str) -> str:
        source = self.engine.sources.get(source_id)
        return source.name if source else source_id

    def device_id(self, source_id: str) -> str | None:
        if source_id not in self._device_ids:
            # Among the entry's own devices: a lookup by identifier alone is deprecated once
            # identifiers are unique per config entry only.
            registry = dr.async_get(self.hass)
            devices = dr.async_entries_for_config_entry(registry, self.entry.entry_id)
            device = next((d for d in devices if (DOMAIN, source_id) in d.identifiers), None)
            if device is None:
                return None
            self._device_ids[source_id] = device.id
        return self._device_ids[source_id]


def _log_delivery(
    engine: IncidentEngine, email: InboundEmail, result: IngestResult, seconds: float
) -> None:
    """One line per e-mail: where it went, what it did, how long it took to store."""
    parts = []
    for outcome in result.outcomes:
        source = engine.sources.get(outcome.source_id)
        part = f"{source.name if source else outcome.source_id}: {outcome.outcome.value}"
        if outcome.key:
            part += f" key {outcome.key!r}"
        parts.append(" ".join([part, *outcome.incident_ids]))
    outcomes = "; ".join(parts)
    LOGGER.debug(
        "E-mail %s from %s %r to %s: %s (stored in %.1f ms)",
        email.message_id or "without Message-ID",
        email.from_address or "unknown sender",
        email.subject,
        ", ".join(email.envelope_recipients),
        outcomes or "no alert source",
        seconds * 1000,
    )


def loaded_runtime(hass: HomeAssistant) -> EmailIncidentsRuntime | None:
    """The running integration, if its (single) entry is loaded, or still setting up its
    platforms with the listener already taking e-mails: whatever accepts e-mails answers
    actions too."""
    entries: list[EmailIncidentsConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            return entry.runtime_data
        if entry.state is ConfigEntryState.SETUP_IN_PROGRESS:
            runtime: EmailIncidentsRuntime | None = getattr(entry, "runtime_data", None)
            if runtime is not None and runtime.listener is not None:
                return runtime
    return None


def _delivery_reply(result: IngestResult) -> str:
    created = sum(
        len(outcome.incident_ids)
        for outcome in result.outcomes
        if outcome.outcome is Outcome.CREATED
    )
    if created:
        return f"250 2.0.0 OK: {created} incident(s) opened"
    return "250 2.0.0 OK"


def raise_listener_issue(
    hass: HomeAssistant, error: ListenerError, settings: ListenerSettings
) -> None:
    """A repair issue that says how to fix what stops the listener."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        error.reason,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=error.reason,
        translation_placeholders={
            "host": settings.host,
            "port": str(settings.port),
            "certificate": settings.tls_certificate,
            "error": str(error),
        },
    )


def raise_store_issue(hass: HomeAssistant, damage: StoreDamage) -> None:
    """A repair issue that says what a damaged store cost and where its files were kept."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        "store_damaged",
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="store_damaged",
        translation_placeholders={
            "skipped": str(damage.skipped),
            "kept": ", ".join(str(path) for path in damage.kept.values()),
        },
    )


def clear_listener_issues(hass: HomeAssistant) -> None:
    for reason in ("port_in_use", "certificate_unreadable"):
        ir.async_delete_issue(hass, DOMAIN, reason)
