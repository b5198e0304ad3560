"""The Incidents panel in the sidebar and the dashboard card, served by the integration.

The JavaScript modules in frontend/ are plain ES modules: no build step, no CDN. Their URL
holds a hash of their content, so browsers cache them for long and still load a new version
at once after an update (the modules import each other by relative URL).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, PANEL_URL_PATH

FRONTEND_DIR = Path(__file__).parent / "frontend"
PANEL_ELEMENT = "email-incidents-panel"
PANEL_ICON = "mdi:alert-decagram"
# The sidebar title is fixed when the panel is registered, in Home Assistant's language; the
# panel's own texts follow each user's language. Both are in translations/en.json.
TITLE_KEY = f"component.{DOMAIN}.selector.panel.options.title"
STATIC_URL_PREFIX = f"/{DOMAIN}_frontend"


def _content_hash() -> str:
    digest = hashlib.sha256()
    for module in sorted(FRONTEND_DIR.glob("*.js")):
        digest.update(module.name.encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def frontend_url(content_hash: str, module: str) -> str:
    return f"{STATIC_URL_PREFIX}/{content_hash}/{module}"


async def async_register_frontend(hass: HomeAssistant) -> None:
    """Serve the modules, add the panel to the sidebar and load the card on every page."""
    content_hash = await hass.async_add_executor_job(_content_hash)
    texts = await async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    await hass.http.async_register_static_paths(
        [StaticPathConfig(f"{STATIC_URL_PREFIX}/{content_hash}", str(FRONTEND_DIR), True)]
    )
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=texts[TITLE_KEY],
        sidebar_icon=PANEL_ICON,
        module_url=frontend_url(content_hash, "panel.js"),
        embed_iframe=False,
        require_admin=False,
    )
    frontend.add_extra_js_url(hass, frontend_url(content_hash, "card.js"))
