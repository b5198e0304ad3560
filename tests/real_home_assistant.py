"""What the tests that start a real `hass` process share."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import socket
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _load_ha_config() -> Any:
    """scripts/ha_config.py is not a package: load it by path."""
    spec = importlib.util.spec_from_file_location(
        "ha_config", REPO_ROOT / "scripts" / "ha_config.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ha_config = _load_ha_config()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
