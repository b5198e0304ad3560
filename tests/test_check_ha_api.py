"""The compatibility guard finds missing names and forbidden APIs."""

from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
import sys
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "check_ha_api.py"


@pytest.fixture(scope="module")
def guard() -> ModuleType:
    spec = spec_from_file_location("check_ha_api", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = module_from_spec(spec)
    sys.modules["check_ha_api"] = module
    spec.loader.exec_module(module)
    return module


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def newest_release(tmp_path: Path) -> Path:
    """A fake newest release: `const` in plain syntax, `core` in syntax Python 3.13 rejects."""
    root = tmp_path / "release"
    _write(root, "homeassistant/__init__.py", "")
    _write(
        root,
        "homeassistant/const.py",
        "from enum import StrEnum\nclass Platform(StrEnum):\n    pass\nMAJOR_VERSION = 2026\n",
    )
    _write(
        root,
        "homeassistant/core.py",
        # An unparenthesised except list is Python 3.14 syntax (PEP 758).
        "def callback(func):\n    return func\n\n"
        "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n"
        "class HomeAssistant:\n    pass\n"
        "if TYPE_CHECKING:\n\n    def json_bytes(obj): ...\n\nelse:\n    json_bytes = dumps\n"
        "from .const import (\n    Platform,\n    MAJOR_VERSION as VERSION,\n)\n",
    )
    _write(root, "homeassistant/helpers/__init__.py", "")
    _write(root, "homeassistant/helpers/storage.py", "class Store:\n    pass\n")
    return root


def _integration(tmp_path: Path, source: str) -> Path:
    root = tmp_path / "integration"
    _write(root, "__init__.py", source)
    return root


def test_existing_names_pass(guard: ModuleType, tmp_path: Path, newest_release: Path) -> None:
    integration = _integration(
        tmp_path,
        "from homeassistant.const import Platform\n"
        "from homeassistant.core import HomeAssistant, callback\n"
        "from homeassistant.helpers import storage\n"
        "import homeassistant.helpers.storage\n",
    )
    names = guard.imported_names(integration)
    assert [str(name) for name in names] == [
        "homeassistant.const.Platform",
        "homeassistant.core.HomeAssistant",
        "homeassistant.core.callback",
        "homeassistant.helpers.storage",
        "homeassistant.helpers.storage",
    ]
    assert guard.check(names, guard.SourceTree(newest_release), []) == []


def test_missing_name_fails(guard: ModuleType, tmp_path: Path, newest_release: Path) -> None:
    integration = _integration(
        tmp_path, "from homeassistant.core import HomeAssistant, async_no_such_helper\n"
    )
    problems = guard.check(guard.imported_names(integration), guard.SourceTree(newest_release), [])
    missing = "__init__.py: homeassistant.core.async_no_such_helper is missing from the"
    assert problems == [f"{missing} installed release", f"{missing} newest release"]


def test_name_only_in_installed_release_fails(
    guard: ModuleType, tmp_path: Path, newest_release: Path
) -> None:
    integration = _integration(tmp_path, "from homeassistant.core import ServiceCall\n")
    problems = guard.check(guard.imported_names(integration), guard.SourceTree(newest_release), [])
    assert problems == [
        "__init__.py: homeassistant.core.ServiceCall is missing from the newest release"
    ]


def test_fallback_scan_reads_newer_syntax(guard: ModuleType, newest_release: Path) -> None:
    names = guard.SourceTree(newest_release).names("homeassistant.core")
    assert names is not None
    assert {"callback", "HomeAssistant", "Platform", "VERSION", "json_bytes"} <= names
    assert "obj" not in names


def test_forbidden_apis(guard: ModuleType, tmp_path: Path) -> None:
    integration = _integration(
        tmp_path,
        "async_track_state_change(hass, 'a', cb)\n"
        "async_track_state_change_event(hass, 'a', cb)\n"
        "hass.helpers.event\n"
        "await hass.config_entries.async_forward_entry_setup(entry, 'sensor')\n"
        "self.config_entry = entry\n"
        "if self.config_entry == entry: pass\n",
    )
    assert guard.forbidden_uses(integration) == [
        "__init__.py:1: async_track_state_change was removed; use async_track_state_change_event",
        "__init__.py:3: hass.helpers was removed; import helpers",
        "__init__.py:4: async_forward_entry_setup was removed; use async_forward_entry_setups",
        "__init__.py:5: options flows must not set self.config_entry (removed in 2025.12)",
    ]


def test_integration_imports_are_all_found_in_the_installed_release(guard: ModuleType) -> None:
    names = guard.imported_names(guard.INTEGRATION)
    assert len(names) > 20
    assert [str(name) for name in names if not guard.exists_installed(name)] == []
    assert guard.forbidden_uses(guard.INTEGRATION) == []
