"""Texts the integration builds in code (rule summaries, the rule tester, notifications, Assist
answers), in the language Home Assistant is set to (an Assist answer in the language it was
asked in), from the `selector` section of translations/<language>.json (English where a
translation lacks a text).

They live with the selector options because many are just that (field and operator names), and
the others are phrases with placeholders that no form shows on its own.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN

_PREFIX = f"component.{DOMAIN}.selector."


class Texts:
    """Phrases by selector and option, formatted with named placeholders."""

    def __init__(self, strings: dict[str, str]) -> None:
        self._strings = strings

    def __call__(self, selector: str, option: str, **placeholders: Any) -> str:
        text = self._strings.get(f"{_PREFIX}{selector}.options.{option}", option)
        return text.format(**placeholders) if placeholders else text


async def async_load_texts(hass: HomeAssistant, language: str | None = None) -> Texts:
    """The texts in `language` (an Assist answer is in the language it was asked in), else in
    the language Home Assistant is set to."""
    strings = await async_get_translations(
        hass, language or hass.config.language, "selector", {DOMAIN}
    )
    return Texts(strings)
