"""The package's static files: what Home Assistant's frontend and hassfest expect of them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import re

import pytest

PACKAGE = Path(__file__).parent.parent / "custom_components" / "email_incidents"
ICON = re.compile(r"mdi:([a-z0-9-]+)")


def _frontend_icon_names() -> set[str]:
    """The Material Design Icons the pinned frontend ships; skipped without the frontend."""
    spec = importlib.util.find_spec("hass_frontend")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("home-assistant-frontend is not installed")
    icon_list = Path(next(iter(spec.submodule_search_locations))) / "static/mdi/iconList.json"
    if not icon_list.is_file():
        pytest.skip(f"the frontend has no {icon_list.name}")
    return {icon["name"] for icon in json.loads(icon_list.read_text("utf-8"))}


def test_every_icon_exists_in_the_frontend() -> None:
    """A name the frontend does not know shows as a blank space."""
    known = _frontend_icon_names()
    used = {
        (path.relative_to(PACKAGE).as_posix(), name)
        for path in PACKAGE.rglob("*")
        if path.suffix in {".json", ".py", ".yaml"}
        for name in ICON.findall(path.read_text("utf-8"))
    }
    assert {name for _, name in used} >= {"alert-circle", "wrench"}  # the scan finds icons
    assert sorted((file, name) for file, name in used if name not in known) == []


def test_manifest_keys_are_in_the_order_hassfest_requires() -> None:
    keys = list(json.loads((PACKAGE / "manifest.json").read_text("utf-8")))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
