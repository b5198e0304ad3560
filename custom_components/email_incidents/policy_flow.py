"""The escalation policy subentry flow: name and repeat, then its levels through a menu."""

from __future__ import annotations

from copy import deepcopy
import re
from typing import Any, Final

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from .const import SUBENTRY_ROTATION
from .core.models import DoneNotice
from .core.paging import DEFAULT_PER_WINDOW, DEFAULT_WINDOW
from .core.rotation import ROTATION_TARGET_PREFIX
from .flow_helpers import SavingSubentryFlow, labelled, minutes, select, typed_errors
from .texts import Texts, async_load_texts

MAX_LEVEL_DELAY_MINUTES: Final = 1440
MAX_REPEAT: Final = 10
MAX_BUNDLE_LIMIT: Final = 50
MAX_BUNDLE_MINUTES: Final = 1440
MAX_ACK_TIMEOUT_MINUTES: Final = 10080
PAGING_DEFAULTS: Final = {
    "bundle": True,
    "bundle_limit": DEFAULT_PER_WINDOW,
    "bundle_minutes": int(DEFAULT_WINDOW.total_seconds() // 60),
    "done_notice": DoneNotice.REPLACE.value,
    "ack_timeout_minutes": 0,
}
NOTIFY_TARGET: Final = re.compile(r"^notify\.[a-z0-9_]+\Z")
# notify.send_message acts on notify entities and needs an entity id, which a level cannot give.
ENTITY_NOTIFY_SERVICE: Final = "send_message"


def notify_actions(hass: HomeAssistant) -> list[str]:
    """The notify actions a level or a rotation member can name."""
    return sorted(
        f"notify.{service}"
        for service in hass.services.async_services_for_domain("notify")
        if service != ENTITY_NOTIFY_SERVICE
    )


class EscalationPolicySubentryFlow(SavingSubentryFlow):
    """Add or change an escalation policy: name, repeat, and its levels through a menu."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._editing: int | None = None
        self._texts: Texts | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new policy."""
        self._data = {"name": "", "repeat": 0, "levels": [], **PAGING_DEFAULTS}
        return await self.async_step_policy()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a policy; sources using it escalate with the new levels at once."""
        # Policies from before paging options get the defaults, which they follow already.
        self._data = PAGING_DEFAULTS | deepcopy(dict(self._get_reconfigure_subentry().data))
        return await self.async_step_policy()

    @property
    def _levels(self) -> list[dict[str, Any]]:
        levels: list[dict[str, Any]] = self._data["levels"]
        return levels

    async def async_step_policy(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name and repeat count."""
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := typed_errors(user_input)):
            name = user_input["name"].strip()
            if name:
                paging = {key: user_input.get(key, self._data[key]) for key in PAGING_DEFAULTS}
                self._data |= {
                    "name": name,
                    "repeat": int(user_input["repeat"]),
                    "bundle": bool(paging["bundle"]),
                    "bundle_limit": int(paging["bundle_limit"]),
                    "bundle_minutes": int(paging["bundle_minutes"]),
                    "done_notice": str(paging["done_notice"]),
                    "ack_timeout_minutes": int(paging["ack_timeout_minutes"]),
                }
                if self._levels:
                    return await self.async_step_levels()
                return await self.async_step_add_level()
            errors["name"] = "empty_value"
        schema = vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("repeat"): NumberSelector(
                    NumberSelectorConfig(min=0, max=MAX_REPEAT, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional("bundle"): BooleanSelector(),
                vol.Optional("bundle_limit"): NumberSelector(
                    NumberSelectorConfig(
                        min=1, max=MAX_BUNDLE_LIMIT, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
                vol.Optional("bundle_minutes"): minutes(MAX_BUNDLE_MINUTES),
                vol.Optional("done_notice"): select(
                    [notice.value for notice in DoneNotice], "done_notice"
                ),
                vol.Optional("ack_timeout_minutes"): minutes(MAX_ACK_TIMEOUT_MINUTES),
            }
        )
        return self.async_show_form(
            step_id="policy",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._data),
            errors=errors,
        )

    async def _level_choices(self, first: int = 0) -> list[tuple[str, str]]:
        if self._texts is None:
            self._texts = await async_load_texts(self.hass)
        texts = self._texts
        return [
            (
                str(index),
                texts(
                    "rule_text",
                    "level",
                    number=index + 1,
                    minutes=level["delay_minutes"],
                    targets=", ".join(map(self._target_label, level["targets"]))
                    or texts("rule_text", "event_only"),
                ),
            )
            for index, level in enumerate(self._levels)
        ][first:]

    async def async_step_levels(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The menu of levels."""
        options = ["policy", "add_level"]
        if self._levels:
            options += ["edit_level", "remove_level"]
        if len(self._levels) > 1:
            options.append("move_level_up")
        options.append("save")
        levels = "\n".join(f"- {label}" for _, label in await self._level_choices())
        if not levels:
            levels = (self._texts or await async_load_texts(self.hass))("rule_text", "no_levels")
        return self.async_show_menu(
            step_id="levels", menu_options=options, description_placeholders={"levels": levels}
        )

    def _rotations(self) -> dict[str, str]:
        """The rotations a level can page, by target, with their names."""
        return {
            f"{ROTATION_TARGET_PREFIX}{subentry_id}": subentry.title
            for subentry_id, subentry in self._get_entry().subentries.items()
            if subentry.subentry_type == SUBENTRY_ROTATION
        }

    def _target_label(self, target: str) -> str:
        if (name := self._rotations().get(target)) is None:
            return target
        texts = self._texts
        # The level menu loads the texts before it lists levels.
        return texts("rule_text", "rotation_target", name=name) if texts else name

    async def async_step_add_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new level at the end."""
        self._editing = None
        return await self.async_step_level()

    async def async_step_edit_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the level to change."""
        if user_input is not None:
            self._editing = int(user_input["level"])
            return await self.async_step_level()
        return self.async_show_form(
            step_id="edit_level",
            data_schema=vol.Schema({vol.Required("level"): labelled(await self._level_choices())}),
        )

    async def async_step_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """One level: how long after the previous one, and whom to notify (notify actions and
        rotations, which page whoever is on call when the level runs)."""
        if self._texts is None:
            self._texts = await async_load_texts(self.hass)
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := typed_errors(user_input)):
            targets = list(user_input.get("targets", []))
            rotations = self._rotations()
            if all(NOTIFY_TARGET.match(target) or target in rotations for target in targets):
                level = {
                    "delay_minutes": int(user_input["delay_minutes"]),
                    "targets": targets,
                    "critical": bool(user_input.get("critical", False)),
                }
                if self._editing is None:
                    self._levels.append(level)
                else:
                    self._levels[self._editing] = level
                self._editing = None
                return await self.async_step_levels()
            errors["targets"] = "invalid_target"
        current: dict[str, Any] = {
            "delay_minutes": 15 if self._levels else 0,
            "targets": [],
            "critical": False,
        }
        if self._editing is not None:
            current = self._levels[self._editing]
        schema = vol.Schema(
            {
                vol.Required("delay_minutes"): minutes(MAX_LEVEL_DELAY_MINUTES),
                # Typed targets are allowed: a phone's notify service may only appear later.
                vol.Optional("targets"): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            *(
                                SelectOptionDict(value=target, label=self._target_label(target))
                                for target in self._rotations()
                            ),
                            *(
                                SelectOptionDict(value=target, label=target)
                                for target in notify_actions(self.hass)
                            ),
                        ],
                        multiple=True,
                        custom_value=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Optional("critical"): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="level",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or current),
            errors=errors,
        )

    async def async_step_remove_level(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Remove a level."""
        if user_input is not None:
            del self._levels[int(user_input["level"])]
            return await self.async_step_levels()
        return self.async_show_form(
            step_id="remove_level",
            data_schema=vol.Schema({vol.Required("level"): labelled(await self._level_choices())}),
        )

    async def async_step_move_level_up(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Swap a level with the one before it."""
        if user_input is not None:
            index = int(user_input["level"])
            levels = self._levels
            levels[index - 1], levels[index] = levels[index], levels[index - 1]
            return await self.async_step_levels()
        return self.async_show_form(
            step_id="move_level_up",
            data_schema=vol.Schema({vol.Required("level"): labelled(await self._level_choices(1))}),
        )

    async def async_step_save(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Store the policy; sources using it escalate with it at once."""
        return self.save(self._data)
