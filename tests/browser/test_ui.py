"""The web UI end to end: a real Home Assistant process, headless Debian Chromium, Playwright.

A temporary config folder gets a seeded listener with the alert source NAS; onboarding is done
over the HTTP API; then the browser logs in, adds an alert source through the subentry form
(basics, one filter, save), and resolves an incident that arrived over SMTP by checking it off
in the source's to-do list. Screenshots of every step go to tests/browser/output/.

Skipped when /usr/bin/chromium (Debian package `chromium`) or the `playwright` package is
missing; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
import importlib.util
import json
from pathlib import Path
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.enable_socket

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install the Debian package chromium", allow_module_level=True
    )
if importlib.util.find_spec("playwright") is None:
    pytest.skip(
        "playwright is missing: pip install -r requirements_browser.txt",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The frontend's first load compiles a lot of JavaScript: on two shared cores it takes a while.
UI_TIMEOUT_MS = 60_000
START_TIMEOUT_S = 180
USERNAME = "admin"
PASSWORD = "test-password-123"  # noqa: S105
CONFIGURATION = """\
homeassistant:
  name: Email Incidents
  time_zone: UTC
logger:
  default: warning
http:
  server_host: 127.0.0.1
  server_port: {http_port}
frontend:
config:
api:
"""
SOURCE = {"name": "NAS", "addresses": ["nas"], "creation_mode": "per_subject"}


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


# --- Home Assistant over HTTP -------------------------------------------------------------------


@dataclass
class HomeAssistantProcess:
    base_url: str
    smtp_port: int
    config_dir: Path
    token: str = ""

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        headers = {}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def state(self, entity_id: str) -> str | None:
        try:
            return str(self.request("GET", f"/api/states/{entity_id}")["state"])
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def wait_for_state(self, entity_id: str, wanted: str, within: float = 30) -> None:
        deadline = time.monotonic() + within
        state = None
        while time.monotonic() < deadline:
            state = self.state(entity_id)
            if state == wanted:
                return
            time.sleep(0.3)
        raise AssertionError(f"{entity_id} is {state!r}, not {wanted!r} after {within} s")

    def onboard(self) -> None:
        """The four onboarding steps over the API, as the frontend's onboarding does them."""
        client_id = self.base_url + "/"
        result = self.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "name": "Admin",
                "username": USERNAME,
                "password": PASSWORD,
                "client_id": client_id,
                "language": "en",
            },
            auth=False,
        )
        tokens = self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": result["auth_code"],
                "client_id": client_id,
            },
            auth=False,
        )
        self.token = tokens["access_token"]
        self.request("POST", "/api/onboarding/core_config", json_body={})
        self.request("POST", "/api/onboarding/analytics", json_body={})
        self.request(
            "POST",
            "/api/onboarding/integration",
            json_body={"client_id": client_id, "redirect_uri": client_id + "?auth_callback=1"},
        )
        steps = self.request("GET", "/api/onboarding", auth=False)
        assert all(step["done"] for step in steps), steps


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_until_up(hass: HomeAssistantProcess, process: subprocess.Popen[bytes]) -> None:
    """Up means: the web server answers the onboarding API and the listener accepts SMTP."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Home Assistant exited with {process.returncode}")
        try:
            hass.request("GET", "/api/onboarding", auth=False)
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
            continue
        if _port_open(hass.smtp_port):
            return
        time.sleep(0.5)
    raise RuntimeError(f"Home Assistant was not up within {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantProcess]:
    """A real Home Assistant with the integration, onboarded; stopped at the end."""
    config_dir = tmp_path_factory.mktemp("browser-ha")
    smtp_port = ha_config.free_port()
    ha_config.prepare(
        config_dir,
        listener={"host": "127.0.0.1", "port": smtp_port},
        sources=[SOURCE],
        configuration=CONFIGURATION,
    )
    match = re.search(r"server_port: (\d+)", (config_dir / "configuration.yaml").read_text())
    assert match
    hass = HomeAssistantProcess(f"http://127.0.0.1:{match[1]}", smtp_port, config_dir)
    log = config_dir / "hass.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "--config", str(config_dir), "--skip-pip"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(hass, process)
        hass.onboard()
        yield hass
    finally:
        _stop(process)
        OUTPUT.mkdir(exist_ok=True)
        shutil.copyfile(log, OUTPUT / "hass.log")


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def page(browser: Browser, home_assistant: HomeAssistantProcess) -> Iterator[Page]:
    """A page logged in as the onboarded user, through the real login form."""
    OUTPUT.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        login(page, home_assistant)
        yield page
    finally:
        context.close()


def shot(page: Page, name: str) -> Path:
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=path)
    return path
