"""The mailbox subentry flow: an IMAP server, its login and folder, what happens to a stored
message, and a default alert source; the login and the folder are tried before saving."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import SubentryFlowResult
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
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .const import SUBENTRY_SOURCE
from .core.mailbox import (
    DEFAULT_FOLDER,
    DEFAULT_POLL_SECONDS,
    DEFAULT_PORTS,
    AfterStore,
    Security,
    mailbox_from_data,
)
from .flow_helpers import SavingSubentryFlow, select
from .imap import async_check_mailbox

MIN_POLL_SECONDS: Final = 10
MAX_POLL_SECONDS: Final = 3600
FIELD_OF_ERROR: Final = {"invalid_auth": "password", "no_such_folder": "folder"}
FIELDS: Final = (
    "name",
    "host",
    "port",
    "security",
    "verify_certificate",
    "username",
    "password",
    "folder",
    "after_store",
    "move_to",
    "default_source",
    "poll_seconds",
)


class MailboxSubentryFlow(SavingSubentryFlow):
    """Add or change a mailbox."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new mailbox."""
        return await self.async_step_mailbox(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a mailbox in place; an empty password keeps the stored one."""
        return await self.async_step_mailbox(user_input)

    def _current(self) -> dict[str, Any]:
        if self.source == "reconfigure":
            return dict(self._get_reconfigure_subentry().data)
        return {
            "security": Security.SSL,
            "verify_certificate": True,
            "folder": DEFAULT_FOLDER,
            "after_store": AfterStore.MARK_SEEN,
            "poll_seconds": DEFAULT_POLL_SECONDS,
        }

    async def async_step_mailbox(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        current = self._current()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _cleaned(user_input, current)
            errors = _field_errors(data)
            if not errors and (reason := await async_check_mailbox(mailbox_from_data("", data))):
                # Next to the field to change where there is one.
                errors = {FIELD_OF_ERROR.get(reason, "base"): reason}
            if not errors:
                return self.save(data)
        shown = {key: value for key, value in (user_input or current).items() if key != "password"}
        return self.async_show_form(
            step_id="mailbox",
            data_schema=self.add_suggested_values_to_schema(self._schema(), shown),
            errors=errors,
        )

    def _schema(self) -> vol.Schema:
        sources = [
            SelectOptionDict(value=subentry_id, label=subentry.title)
            for subentry_id, subentry in self._get_entry().subentries.items()
            if subentry.subentry_type == SUBENTRY_SOURCE
        ]
        password = vol.Optional if self.source == "reconfigure" else vol.Required
        return vol.Schema(
            {
                vol.Required("name"): TextSelector(),
                vol.Required("host"): TextSelector(),
                vol.Required("security"): select([s.value for s in Security], "security"),
                vol.Optional("port"): NumberSelector(
                    NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Required("verify_certificate"): BooleanSelector(),
                vol.Required("username"): TextSelector(),
                password("password"): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
                vol.Required("folder"): TextSelector(),
                vol.Required("after_store"): select([a.value for a in AfterStore], "after_store"),
                vol.Optional("move_to"): TextSelector(),
                vol.Optional("default_source"): SelectSelector(
                    SelectSelectorConfig(options=sources, mode=SelectSelectorMode.DROPDOWN)
                ),
                vol.Required("poll_seconds"): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_POLL_SECONDS,
                        max=MAX_POLL_SECONDS,
                        step=1,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )


def _cleaned(user_input: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values as stored: texts trimmed, numbers whole, the stored password kept
    when none is typed."""
    data: dict[str, Any] = {}
    for key in FIELDS:
        value: Any = user_input.get(key)
        if isinstance(value, str) and key != "password":
            value = value.strip()
        if value in (None, ""):
            continue
        data[key] = int(value) if key in ("port", "poll_seconds") else value
    if "password" not in data and current.get("password"):
        data["password"] = current["password"]
    security = Security(data.get("security", Security.SSL))
    data.setdefault("port", DEFAULT_PORTS[security])
    return data


def _field_errors(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key in ("name", "host", "username", "password", "folder"):
        if not data.get(key):
            errors[key] = "empty_value"
    if data.get("after_store") == AfterStore.MOVE and not data.get("move_to"):
        errors["move_to"] = "move_to_missing"
    if data.get("move_to") and data.get("move_to") == data.get("folder"):
        errors["move_to"] = "move_to_same_folder"
    return errors
