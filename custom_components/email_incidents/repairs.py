"""Repairs that a user fixes in a form: a mailbox whose login the server refused asks for the
password again (the reauthentication of a mailbox)."""

from __future__ import annotations

from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import voluptuous as vol

from .const import DOMAIN
from .core.mailbox import mailbox_from_data
from .imap import async_check_mailbox

# What a step returns: FlowResult in older Home Assistants, RepairsFlowResult (a FlowResult of
# the repairs' own context) in newer ones.
type StepResult = data_entry_flow.FlowResult[Any, str]


class MailboxLoginFlow(RepairsFlow):
    """Asks for a mailbox's password, tries it, and stores it in the mailbox's settings."""

    def __init__(self, mailbox_id: str) -> None:
        self.mailbox_id = mailbox_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> StepResult:
        return await self.async_step_password()

    async def async_step_password(self, user_input: dict[str, Any] | None = None) -> StepResult:
        entries = self.hass.config_entries.async_entries(DOMAIN)
        entry = next((e for e in entries if self.mailbox_id in e.subentries), None)
        if entry is None:
            return self.async_abort(reason="mailbox_removed")
        subentry = entry.subentries[self.mailbox_id]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**subentry.data, "password": user_input["password"]}
            reason = await async_check_mailbox(mailbox_from_data(self.mailbox_id, data))
            if reason is None:
                # The entry's update listener restarts the mailbox's reader with it.
                self.hass.config_entries.async_update_subentry(entry, subentry, data=data)
                return self.async_create_entry(data={})
            errors["base"] = reason
        return self.async_show_form(
            step_id="password",
            data_schema=vol.Schema(
                {
                    vol.Required("password"): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders={
                "mailbox": subentry.title,
                "username": str(subentry.data.get("username", "")),
            },
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    return MailboxLoginFlow(str((data or {})["mailbox_id"]))
