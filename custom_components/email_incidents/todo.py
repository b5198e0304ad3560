"""Open incidents as a to-do list per alert source: checking one off resolves it."""

from __future__ import annotations

from homeassistant.components.todo import TodoItem, TodoListEntity
from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.models import Actor, ActorKind, Incident, LogKind
from .entity import EmailIncidentsEntity, async_add_source_entities
from .runtime import EmailIncidentsConfigEntry
from .services import async_apply_change, async_user_actor

PARALLEL_UPDATES = 1

INCIDENTS = EntityDescription(key="incidents", translation_key="incidents")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_source_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [IncidentTodoList(runtime, INCIDENTS, source_id)],
    )


def _summary(incident: Incident) -> str:
    return f"{incident.id} · {incident.summary}"


def _description(incident: Incident) -> str:
    local = dt_util.as_local
    lines = [f"Status: {incident.status.value}"]
    if incident.key:
        lines.append(f"Key: {incident.key}")
    lines.append(f"Opened: {local(incident.created):%Y-%m-%d %H:%M}")
    if incident.accepted:
        lines.append(f"Accepted: {local(incident.accepted):%Y-%m-%d %H:%M}")
    lines.append(f"E-mails: {incident.email_count}")
    latest = next((e for e in reversed(incident.log) if e.kind is LogKind.EMAIL), None)
    if latest is not None:
        lines.append(f"Latest e-mail: {latest.message}")
    return "\n".join(lines)


class IncidentTodoList(EmailIncidentsEntity, TodoListEntity):
    """Items are the open incidents; only checking off is allowed."""

    _attr_supported_features = TodoListEntityFeature.UPDATE_TODO_ITEM
    # Built when first asked for after a change, not on every state write: a busy source
    # has hundreds of open incidents and its state is just their number.
    _items: list[TodoItem] | None = None

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
                    description=_description(incident),
                )
                for incident in self.runtime.engine.open_incidents(self.source_id)
            ]
        return self._items

    @callback
    def _async_state_changed(self) -> None:
        # Always written: the items may change while their number stays the same, and writing
        # is what tells the to-do list cards.
        self._items = None
        self.async_write_ha_state()

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
