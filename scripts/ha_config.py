"""Config folders for a real Home Assistant with Email Incidents: used by scripts/develop, the
crash test, the benchmarks and the end-to-end tests.

Home Assistant reads config entries from .storage/core.config_entries; writing that file before
the first start is how a listener and its sources exist without clicking through the UI. An
existing file is never touched, so anything changed in the UI stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import Any
import uuid

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = REPO_ROOT / "custom_components" / "email_incidents"

# configuration.yaml of every Home Assistant the tests, benchmarks and tools start: its web
# server on a loopback port of its own (several can run), only warnings in its log. What an
# instance needs beyond it is appended (`WEB_CONFIGURATION`, the benchmark's configurations).
MINIMAL_CONFIGURATION = """\
homeassistant:
  name: Email Incidents
  time_zone: UTC
logger:
  default: warning
http:
  server_host: 127.0.0.1
  server_port: {http_port}
"""
# With the frontend and the APIs a browser or an HTTP client talks to.
WEB_CONFIGURATION = MINIMAL_CONFIGURATION + "frontend:\nconfig:\napi:\nwebsocket_api:\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 180) -> float:
    """Wait until the process listens on the loopback port; the seconds it took. RuntimeError
    if it exits or the port stays closed."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM and wait; SIGKILL only when it hangs. The exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def start_home_assistant(config_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """A real `hass` on the folder. It runs from inside the folder: started from the repository,
    Python would import the repository's own custom_components/ instead of the folder's. When
    started by a test under pytest-cov it is not measured: its data would not combine."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COV_CORE_")}
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "--config", str(config_dir), "--skip-pip"],
            cwd=config_dir,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def link_integration(config_dir: Path) -> None:
    """Load the integration from this working tree."""
    target = config_dir / "custom_components" / "email_incidents"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(INTEGRATION, target_is_directory=True)


def seed_config_entry(
    config_dir: Path,
    *,
    listener: Mapping[str, Any],
    sources: Sequence[Mapping[str, Any]],
    entry_id: str | None = None,
    policies: Mapping[str, Mapping[str, Any]] | None = None,
) -> bool:
    """Write a listener entry with alert source subentries unless config entries exist;
    `policies` are escalation policies by subentry id (a source names one in
    `escalation_policy`)."""
    entries_file = config_dir / ".storage" / "core.config_entries"
    if entries_file.exists():
        return False
    now = datetime.now(UTC).isoformat()
    entry = {
        "created_at": now,
        "data": dict(listener),
        "disabled_by": None,
        "discovery_keys": {},
        "domain": "email_incidents",
        "entry_id": entry_id or uuid.uuid4().hex,
        "minor_version": 1,
        "modified_at": now,
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [
            {
                "data": dict(source),
                "subentry_id": uuid.uuid4().hex,
                "subentry_type": "alert_source",
                "title": source["name"],
                "unique_id": None,
            }
            for source in sources
        ]
        + [
            {
                "data": dict(policy),
                "subentry_id": policy_id,
                "subentry_type": "escalation_policy",
                "title": policy["name"],
                "unique_id": None,
            }
            for policy_id, policy in (policies or {}).items()
        ],
        "title": "Email Incidents",
        "unique_id": None,
        "version": 1,
    }
    entries_file.parent.mkdir(parents=True, exist_ok=True)
    entries_file.write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 5,
                "key": "core.config_entries",
                "data": {"entries": [entry]},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return True


def prepare(
    config_dir: Path,
    *,
    listener: Mapping[str, Any],
    sources: Sequence[Mapping[str, Any]],
    configuration: str = MINIMAL_CONFIGURATION,
    policies: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """A ready config folder: configuration.yaml (its web server on a free loopback port, so
    several instances can run), the integration linked, the entry seeded."""
    config_dir.mkdir(parents=True, exist_ok=True)
    configuration_file = config_dir / "configuration.yaml"
    if not configuration_file.exists():
        configuration_file.write_text(configuration.format(http_port=free_port()), encoding="utf-8")
    link_integration(config_dir)
    seed_config_entry(config_dir, listener=listener, sources=sources, policies=policies)
