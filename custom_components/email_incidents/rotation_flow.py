"""The rotation subentry flow: a name, the members in order, the shift length and the first
handover; then, for each member, the notify actions that reach them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers.selector import (
    DateTimeSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .core.rotation import ShiftUnit
from .flow_helpers import SavingSubentryFlow, select, typed_errors
from .people import mobile_app_notify_actions, person_name
from .policy_flow import NOTIFY_TARGET, notify_actions

MAX_SHIFT_LENGTH: Final = 1000


class RotationSubentryFlow(SavingSubentryFlow):
    """Add or change a rotation."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._member: int = 0

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new rotation: weekly, handing over next Monday at 09:00 by default."""
        today = dt_util.now().replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
        monday = today + timedelta(days=7 - today.weekday())
        self._data = {
            "name": "",
            "members": [],
            "shift_length": 1,
            "shift_unit": ShiftUnit.WEEKS.value,
            "first_handover": monday.isoformat(sep=" "),
        }
        return await self.async_step_rotation()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a rotation; a level paging it pages the new schedule at once."""
        self._data = dict(self._get_reconfigure_subentry().data)
        return await self.async_step_rotation()

    async def async_step_rotation(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name, members in order, shift length and the first handover."""
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := typed_errors(user_input)):
            name = user_input["name"].strip()
            people = list(dict.fromkeys(user_input.get("members") or ()))
            # The date-time selector checked it.
            first = datetime.fromisoformat(str(user_input["first_handover"]))
            if not name:
                errors["name"] = "empty_value"
            if not people:
                errors["members"] = "no_members"
            if not errors:
                known = {member["person"]: member for member in self._data["members"]}
                self._data |= {
                    "name": name,
                    "members": [known.get(person, {"person": person}) for person in people],
                    "shift_length": int(user_input["shift_length"]),
                    "shift_unit": str(user_input["shift_unit"]),
                    "first_handover": first.replace(tzinfo=None, second=0).isoformat(sep=" "),
                }
                self._member = 0
                return await self.async_step_member()
        suggested = {
            **self._data,
            "members": [member["person"] for member in self._data["members"]],
        }
        schema = vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("members"): EntitySelector(
                    EntitySelectorConfig(domain="person", multiple=True)
                ),
                vol.Required("shift_length"): NumberSelector(
                    NumberSelectorConfig(
                        min=1, max=MAX_SHIFT_LENGTH, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
                vol.Required("shift_unit"): select(
                    [unit.value for unit in ShiftUnit], "shift_unit"
                ),
                vol.Required("first_handover"): DateTimeSelector(),
            }
        )
        return self.async_show_form(
            step_id="rotation",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
        )

    async def async_step_member(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The notify actions of one member, suggested from the phones of the person's user."""
        member: dict[str, Any] = self._data["members"][self._member]
        errors: dict[str, str] = {}
        if user_input is not None:
            targets = list(dict.fromkeys(user_input.get("targets") or ()))
            if not targets:
                errors["targets"] = "no_target"
            elif not all(NOTIFY_TARGET.match(target) for target in targets):
                errors["targets"] = "invalid_target"
            else:
                member = {"person": member["person"], "targets": targets}
                self._data["members"][self._member] = member
                self._member += 1
                if self._member < len(self._data["members"]):
                    return await self.async_step_member()
                return self.save(self._data)
        person = member["person"]
        suggested = member.get("targets") or mobile_app_notify_actions(self.hass, person)
        schema = vol.Schema(
            {
                # Typed actions are allowed: a phone's notify action may only appear later.
                vol.Required("targets"): SelectSelector(
                    SelectSelectorConfig(
                        options=notify_actions(self.hass),
                        multiple=True,
                        custom_value=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="member",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {"targets": suggested}
            ),
            errors=errors,
            description_placeholders={
                "person": person_name(self.hass, person),
                "number": str(self._member + 1),
                "count": str(len(self._data["members"])),
            },
        )
