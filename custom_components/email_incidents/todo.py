"""Open incidents as a to-do list per alert source: checking one off resolves it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Final

from homeassistant.components.todo import TodoItem, TodoListEntity
from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .const import DOMAIN, SUBENTRY_SOURCE, incident_url
from .core.models import Actor, ActorKind, EmailRecord, Incident, KeptEmail
from .core.text import clean_text
from .entity import EmailIncidentsEntity, async_add_subentry_entities
from .incident_view import actor_name
from .runtime import EmailIncidentsConfigEntry
from .services import async_apply_change, async_user_actor

PARALLEL_UPDATES = 1

INCIDENTS = EntityDescription(key="incidents", translation_key="incidents")
TEXTS: Final = f"component.{DOMAIN}.selector.todo_description.options"
STATUS_TEXTS: Final = f"component.{DOMAIN}.selector.status.options"
BODY_LINES: Final = 5
BODY_CHARS: Final = 300


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [IncidentTodoList(runtime, INCIDENTS, source_id)],
        SUBENTRY_SOURCE,
    )


def _summary(incident: Incident) -> str:
    return f"{incident.id} · {incident.summary}"


def _time(value: datetime) -> str:
    return f"{dt_util.as_local(value):%Y-%m-%d %H:%M}"


def _body_start(email: EmailRecord | str) -> str:
    """The first lines of an e-mail's body (or why it cannot be read)."""
    if not isinstance(email, EmailRecord):
        return email
    lines = [line for line in email.body.splitlines() if line.strip()][:BODY_LINES]
    return clean_text("\n".join(lines), BODY_CHARS)


class _Texts:
    """The description's lines in Home Assistant's language."""

    def __init__(self, translations: dict[str, str]) -> None:
        self._translations = translations

    def __call__(self, line: str, **values: Any) -> str:
        return self._translations[f"{TEXTS}.{line}"].format(**values)

    def status(self, incident: Incident) -> str:
        return self._translations[f"{STATUS_TEXTS}.{incident.status.value}"]


def _description(incident: Incident, text: _Texts, latest_body: str | None) -> str:
    lines = [text("status", status=text.status(incident))]
    if incident.key:
        lines.append(text("key", key=incident.key))
    lines.append(text("opened", time=_time(incident.created)))
    if incident.last_email:
        lines.append(text("last_email", time=_time(incident.last_email)))
    if incident.accepted:
        lines.append(
            text("accepted", time=_time(incident.accepted), actor=actor_name(incident.accepted_by))
        )
    if incident.escalation is not None and incident.escalation.snoozed_until is not None:
        lines.append(text("snoozed", time=_time(incident.escalation.snoozed_until)))
    lines.append(text("emails", count=incident.email_count))
    if latest_body:
        lines += [text("latest"), latest_body]
    lines.append(text("link", url=incident_url(incident.id)))
    return "\n".join(lines)


class IncidentTodoList(EmailIncidentsEntity, TodoListEntity):
    """Items are the open incidents; only checking off is allowed."""

    _attr_supported_features = TodoListEntityFeature.UPDATE_TODO_ITEM
    _changes_with_every_email = True
    # Built when first asked for after a change, not on every state write: a busy source
    # has hundreds of open incidents and its state is just their number.
    _items: list[TodoItem] | None = None
    _texts: _Texts
    # The start of each open incident's latest e-mail, read from disk once per e-mail.
    _latest_bodies: dict[str, tuple[KeptEmail, str]]
    _refresh: asyncio.Task[None] | None = None
    _refresh_again = False

    async def async_added_to_hass(self) -> None:
        self._latest_bodies = {}
        self._texts = _Texts(
            await async_get_translations(self.hass, self.hass.config.language, "selector", {DOMAIN})
        )
        await self._async_read_latest_bodies()
        await super().async_added_to_hass()

    async def _async_read_latest_bodies(self) -> bool:
        """Read the latest e-mails not read yet and forget those of closed incidents, in one
        pass over the open incidents (a storm leaves thousands); whether there were any."""
        assert self.source_id is not None
        read = self._latest_bodies
        unread: list[Incident] = []
        open_ids: set[str] = set()
        for incident in self.runtime.engine.open_incidents(self.source_id):
            open_ids.add(incident.id)
            if incident.emails and read.get(incident.id, (None,))[0] is not incident.emails[-1]:
                unread.append(incident)
        for incident_id in read.keys() - open_ids:
            del read[incident_id]
        if unread:
            latest = [incident.emails[-1] for incident in unread]
            emails = await self.runtime.async_read_emails(latest)
            for incident, kept, email in zip(unread, latest, emails, strict=True):
                read[incident.id] = (kept, _body_start(email))
        return bool(unread)

    async def _async_refresh_bodies(self) -> None:
        """Until no write came meanwhile: read what is new, and show it if there was any."""
        while self._refresh_again:
            self._refresh_again = False
            if await self._async_read_latest_bodies():
                self._items = None
                self.async_write_ha_state()

    @property
    def state(self) -> int:
        assert self.source_id is not None
        return self.runtime.engine.open_count(self.source_id)

    @property
    def todo_items(self) -> list[TodoItem]:
        assert self.source_id is not None
        if self._items is None:
            self._items = [
                TodoItem(
                    uid=incident.id,
                    summary=_summary(incident),
                    status=TodoItemStatus.NEEDS_ACTION,
                    description=_description(
                        incident,
                        self._texts,
                        self._latest_bodies.get(incident.id, (None, None))[1],
                    ),
                )
                for incident in self.runtime.engine.open_incidents(self.source_id)
            ]
        return self._items

    @callback
    def _async_state_changed(self, by_emails_only: bool = False) -> None:
        self._items = None  # the items are read when asked for, the state may be written later
        super()._async_state_changed(by_emails_only)

    def _shows_something_new(self) -> bool:
        # Always written: the items may change while their number stays the same, and writing
        # is what tells the to-do list cards.
        return True

    @callback
    def _async_write_if_changed(self) -> None:
        super()._async_write_if_changed()
        # One reader at a time, which goes round again for writes made while it reads.
        self._refresh_again = True
        # A task started eagerly may finish before it is even returned (nothing to read).
        if self._refresh is None or self._refresh.done():
            self._refresh = self.runtime.entry.async_create_task(
                self.hass, self._async_refresh_bodies(), f"{self.entity_id} latest e-mails"
            )

    async def async_update_todo_item(self, item: TodoItem) -> None:
        incident = self.runtime.engine.get(item.uid) if item.uid else None
        if (
            incident is None
            or item.status != TodoItemStatus.COMPLETED
            or item.summary != _summary(incident)
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="todo_only_check_off"
            )
        incident_id = incident.id
        actor = await async_user_actor(
            self.hass, self._context, Actor(kind=ActorKind.USER, name="to-do list")
        )
        await async_apply_change(
            self.runtime, lambda now: self.runtime.engine.resolve(incident_id, actor, now)
        )
