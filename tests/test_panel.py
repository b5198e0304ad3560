"""The Incidents panel and the dashboard card: registered at set-up, served by the integration."""

from __future__ import annotations

from pathlib import Path
import shutil
from typing import Any

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.email_incidents import panel
from custom_components.email_incidents.panel import FRONTEND_DIR

JAVASCRIPT_TYPES = {"text/javascript", "application/javascript"}


def _panel_module_url(hass: HomeAssistant) -> str:
    panel = hass.data["frontend_panels"]["email-incidents"]
    return str(panel.config["_panel_custom"]["module_url"])


@pytest.mark.usefixtures("setup_integration")
async def test_panel_in_the_sidebar_for_every_user(
    hass: HomeAssistant, hass_ws_client: Any, hass_read_only_access_token: str
) -> None:
    """A user without admin rights gets the panel: its own title and icon, a module, no
    iframe."""
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id({"type": "get_panels"})
    response = await client.receive_json()
    assert response["success"], response
    panel = response["result"]["email-incidents"]
    assert panel["component_name"] == "custom"
    assert panel["title"] == "Incidents"
    assert panel["icon"] == "mdi:alert-decagram"
    assert panel["require_admin"] is False
    custom = panel["config"]["_panel_custom"]
    assert custom["name"] == "email-incidents-panel"
    assert custom["embed_iframe"] is False
    assert custom["module_url"].endswith("/panel.js")


@pytest.mark.usefixtures("setup_integration")
async def test_card_loads_on_every_page(hass: HomeAssistant) -> None:
    """The card's module is an extra module of the frontend: no resource to add by hand, and
    it sits next to the panel's."""
    card_urls = [url for url in hass.data[DATA_EXTRA_MODULE_URL].urls if url.endswith("/card.js")]
    assert card_urls == [_panel_module_url(hass).removesuffix("panel.js") + "card.js"]


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("module", ["panel.js", "card.js", "logic.js", "dom.js"])
async def test_modules_are_served_as_javascript(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, module: str
) -> None:
    """The modules are served from the integration's folder, without login (the frontend
    loads them before it authenticates), with a JavaScript type and a long cache."""
    client = await hass_client_no_auth()
    url = _panel_module_url(hass).removesuffix("panel.js") + module
    response = await client.get(url)
    assert response.status == 200
    assert response.content_type in JAVASCRIPT_TYPES
    assert "max-age" in response.headers.get("Cache-Control", "")
    assert await response.read() == (FRONTEND_DIR / module).read_bytes()


@pytest.mark.usefixtures("setup_integration")
async def test_only_the_frontend_folder_is_served(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    client = await hass_client_no_auth()
    base = _panel_module_url(hass).removesuffix("panel.js")
    for path in ("../manifest.json", "%2e%2e/manifest.json", "missing.js"):
        response = await client.get(base + path)
        assert response.status in {403, 404}, path


def test_the_url_changes_with_the_modules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A new version of any module is a new URL, so no browser keeps an old one."""
    copy = tmp_path / "frontend"
    shutil.copytree(FRONTEND_DIR, copy)
    monkeypatch.setattr(panel, "FRONTEND_DIR", copy)
    before = panel._content_hash()
    assert before == panel._content_hash()
    logic = copy / "logic.js"
    logic.write_text(logic.read_text("utf-8") + "\n", "utf-8")
    assert panel._content_hash() != before
