"""LLM tools platform: the Assist intents as tools of the Assist API, from Home Assistant 2026.x.

Until 2025.x the Assist API offered every registered intent handler as a tool by itself. Newer
releases ask each loaded integration's `llm` platform instead (the `llm` integration calls
`async_get_tools`), and expect every tool named `<domain>__<name>` and marked with the
integration providing it. Older releases never load this module.

The answer is read by its fields `tools` and `prompt`. It is not the `llm` integration's own
`LLMTools` class: the oldest supported release has no such integration, and every Home
Assistant name the integration imports must exist in it as well.
"""

from __future__ import annotations

from typing import NamedTuple

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.llm import LLM_API_ASSIST, IntentTool, LLMContext, Tool

from .const import DOMAIN
from .intents import EmailIncidentsIntentHandler


class EmailIncidentsTools(NamedTuple):
    """The tools of the integration, and no words for the prompt (each tool says enough)."""

    tools: list[Tool]
    prompt: str | None = None


class EmailIncidentsIntentTool(IntentTool):
    """An Assist intent of the integration as a tool, named and marked as newer releases
    require."""

    def __init__(self, handler: EmailIncidentsIntentHandler) -> None:
        super().__init__(f"{DOMAIN}__{handler.intent_type}", handler)
        # After the base class, which sets both from arguments the oldest release does not take.
        self.title = handler.title
        self.integration = DOMAIN


@callback
def async_get_tools(
    hass: HomeAssistant, llm_context: LLMContext, api_id: str
) -> EmailIncidentsTools | None:
    """The intents as tools of the Assist API, whatever entities are exposed: they act on
    incidents, not on entities."""
    if api_id != LLM_API_ASSIST:
        return None
    tools: list[Tool] = [
        EmailIncidentsIntentTool(handler)
        for handler in intent.async_get(hass)
        if isinstance(handler, EmailIncidentsIntentHandler)
    ]
    return EmailIncidentsTools(tools) if tools else None
