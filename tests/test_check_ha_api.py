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
    _write(root, "homeassistant/helpers/device_registry.py", DEVICE_REGISTRY)
    _write(root, "homeassistant/helpers/sun.py", SUN)
    return root


# How the newest release marks what it deprecates (shortened from its real source).
DEVICE_REGISTRY = """
_DEPRECATED_DEVICE_INFO_PARAMETERS: dict[str, tuple[str, str | None]] = {
    "default_name": ("2027.9.0", "name"),
    "via_device": ("2027.8.0", "via_device_id"),
}
_DEPRECATED_DISABLED_INTEGRATION = DeprecatedConstantEnum(DeviceEntryDisabler.INTEGRATION, "2027.1")
class DeviceInfo(TypedDict, total=False):
    name: str
class DeviceEntry:
    @property
    @deprecated_function("code which ignores suggested_area", breaks_in_ha_version="2026.9")
    def suggested_area(self) -> str | None:
        return None
class DeviceRegistry:
    def async_get_device(self, identifiers=None):
        report_usage(
            "calls `device_registry.async_get_device`, which is deprecated because "
            "identifiers are no longer unique",
            breaks_in_ha_version="2027.8.0",
        )
    def async_get_or_create(self, *, config_entry_id, via_device_id=None, **kwargs): ...
    def async_update_device(self, device_id, *, remove_config_entry_id=UNDEFINED, **kwargs):
        \"\"\"Update a device.

        :param remove_config_entry_id: Deprecated. Use async_remove_device.
        \"\"\"
    def async_remove_device(self, device_id): ...
def async_entries_for_config_entry(registry, config_entry_id): ...
"""
SUN = """
@deprecated_function("homeassistant.helpers.sun.get_astral_observer", breaks_in_ha_version="2027.7")
@callback
def get_astral_location(hass): ...
def async_register_info(hass, domain, info_callback):
    report_usage(
        "calls sun.async_register_info, which is deprecated; "
        "add a platform instead",
    )
class Registration:
    def async_register_info(self, info_callback): ...
"""


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


def test_deprecations_are_read_from_the_source(guard: ModuleType) -> None:
    found = guard.deprecations(DEVICE_REGISTRY)
    assert found.module_level == {"DISABLED_INTEGRATION"}
    assert found.members == {"async_get_device", "suggested_area"}
    assert found.parameters == {"default_name", "via_device", "remove_config_entry_id"}
    assert {"DeviceInfo", "async_get_or_create", "async_remove_device"} <= found.defined
    sun = guard.deprecations(SUN)
    assert (sun.module_level, sun.members) == (
        {"get_astral_location", "async_register_info"},
        set(),
    )


def test_uses_of_deprecated_names_fail(
    guard: ModuleType, tmp_path: Path, newest_release: Path
) -> None:
    integration = _integration(
        tmp_path,
        "from homeassistant.helpers import device_registry as dr, sun\n"
        "from homeassistant.helpers.device_registry import DeviceInfo\n"
        "from homeassistant.helpers.sun import get_astral_location\n"
        "info = DeviceInfo(name='a', via_device=('d', 'x'))\n"
        "device = dr.async_get(hass).async_get_device(identifiers={('d', 'x')})\n"
        "dr.async_get(hass).async_update_device(device.id, remove_config_entry_id='e')\n"
        "area = device.suggested_area\n"
        "disabler = dr.DISABLED_INTEGRATION\n"
        "sun.async_register_info(hass, 'd', info)\n",
    )
    names = guard.imported_names(integration)
    problems = guard.deprecated_uses(integration, names, guard.SourceTree(newest_release))
    registry, helpers_sun = "homeassistant.helpers.device_registry", "homeassistant.helpers.sun"
    assert sorted(problems) == sorted(
        f"__init__.py:{line}: {module}: `{name}` is deprecated in the newest release"
        for line, module, name in [
            (3, helpers_sun, "get_astral_location"),
            (4, registry, "via_device"),
            (5, registry, "async_get_device"),
            (6, registry, "remove_config_entry_id"),
            (7, registry, "suggested_area"),
            (8, registry, "DISABLED_INTEGRATION"),
            (9, helpers_sun, "async_register_info"),
        ]
    )


def test_supported_replacements_pass(
    guard: ModuleType, tmp_path: Path, newest_release: Path
) -> None:
    """The same jobs done the supported way; like-named members and own keywords pass."""
    integration = _integration(
        tmp_path,
        "from homeassistant.helpers import device_registry as dr\n"
        "from homeassistant.helpers.device_registry import DeviceInfo\n"
        "from homeassistant.helpers.sun import Registration\n"
        "registry = dr.async_get(hass)\n"
        "info = DeviceInfo(name='a')\n"
        "device = registry.async_get_or_create(config_entry_id='e', **info)\n"
        "registry.async_update_device(device.id, via_device_id='listener')\n"
        "registry.async_remove_device(device.id)\n"
        "devices = dr.async_entries_for_config_entry(registry, 'e')\n"
        "registration.async_register_info(info)\n"
        "own = Incident(via_device='ok', default_name='ok')\n",
    )
    names = guard.imported_names(integration)
    assert guard.deprecated_uses(integration, names, guard.SourceTree(newest_release)) == []
