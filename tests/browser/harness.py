"""What the browser tests share: a real Home Assistant process with the integration, onboarded
over its API; headless Debian Chromium through Playwright, logged in through the real login form;
e-mails over real SMTP. Screenshots go to tests/browser/output/.

Importing this skips the test module when /usr/bin/chromium (Debian package `chromium`) or the
`playwright` package is missing; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
import importlib.util
import json
import os
from pathlib import Path
import re
import shutil
import smtplib
import subprocess
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
import pytest
import pytest_socket

CHROMIUM = Path("/usr/bin/chromium")
# Missing tools fail the browser tests, never skip them (scripts/test installs both).
if not CHROMIUM.exists():
    pytest.fail(f"{CHROMIUM} is missing: install the Debian package chromium", pytrace=False)
if importlib.util.find_spec("playwright") is None:
    pytest.fail("playwright is missing: pip install -r requirements_browser.txt", pytrace=False)

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.real_home_assistant import ha_config, port_open  # noqa: E402

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
PASSWORD = "test-password-123"


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

    def access_token(self, code: str) -> str:
        """The access token an authorization code of the login or onboarding flow gives."""
        tokens = self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.base_url + "/",
            },
            auth=False,
        )
        return str(tokens["access_token"])

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
        self.token = self.access_token(result["auth_code"])
        self.request("POST", "/api/onboarding/core_config", json_body={})
        self.request("POST", "/api/onboarding/analytics", json_body={})
        self.request(
            "POST",
            "/api/onboarding/integration",
            json_body={"client_id": client_id, "redirect_uri": client_id + "?auth_callback=1"},
        )
        steps = self.request("GET", "/api/onboarding", auth=False)
        assert all(step["done"] for step in steps), steps


def wait_until_up(hass: HomeAssistantProcess, process: subprocess.Popen[bytes]) -> None:
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
        if port_open(hass.smtp_port):
            return
        time.sleep(0.5)
    raise RuntimeError(f"Home Assistant was not up within {START_TIMEOUT_S} s")


async def confirm_http_settings(hass: HomeAssistantProcess) -> None:
    """Confirm the HTTP settings of configuration.yaml where the release asks for it.

    From 2026.10 Home Assistant moves them into its storage as a trial: every page shows a
    dialog "Confirm new HTTP server configuration" over everything else, and unconfirmed they
    are reverted (port 8123) with a restart after five minutes. Releases without that trial
    (2025.4) do not know the command `http/config`."""
    url = hass.base_url.replace("http://", "ws://", 1) + "/api/websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as websocket:
        await websocket.receive_json()  # auth_required
        await websocket.send_json({"type": "auth", "access_token": hass.token})
        assert (await websocket.receive_json())["type"] == "auth_ok"
        await websocket.send_json({"id": 1, "type": "http/config"})
        settings = await websocket.receive_json()
        if not settings["success"]:
            assert settings["error"]["code"] == "unknown_command", settings
            return
        if settings["result"]["pending"] is None:
            return
        await websocket.send_json({"id": 2, "type": "http/config/promote"})
        promoted = await websocket.receive_json()
        assert promoted["success"], promoted


def run_home_assistant(
    tmp_path_factory: pytest.TempPathFactory,
    sources: Sequence[dict[str, Any]],
    name: str,
    policies: dict[str, dict[str, Any]] | None = None,
    configuration: str = ha_config.WEB_CONFIGURATION,
) -> Iterator[HomeAssistantProcess]:
    """A real Home Assistant with the integration, these alert sources and escalation policies,
    onboarded; stopped at the end, its log copied to tests/browser/output/hass-NAME.log. For a
    module fixture. `configuration` is its configuration.yaml (ha_config.WEB_CONFIGURATION and
    what a test adds to it)."""
    # The enable_socket mark acts per test, after module fixtures are set up: this fixture
    # talks to Home Assistant over loopback before that.
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp(f"browser-{name}")
    smtp_port = ha_config.free_port()
    ha_config.prepare(
        config_dir,
        listener={"host": "127.0.0.1", "port": smtp_port},
        sources=sources,
        configuration=configuration,
        policies=policies,
    )
    match = re.search(r"server_port: (\d+)", (config_dir / "configuration.yaml").read_text())
    assert match
    hass = HomeAssistantProcess(f"http://127.0.0.1:{match[1]}", smtp_port, config_dir)
    log = config_dir / "hass.log"
    process = ha_config.start_home_assistant(config_dir, log)
    try:
        wait_until_up(hass, process)
        hass.onboard()
        asyncio.run(confirm_http_settings(hass))
        yield hass
    finally:
        ha_config.stop_process(process)
        shutil.copyfile(log, output_file(f"hass-{name}.log"))


# --- the browser ---------------------------------------------------------------------------------


@contextmanager
def logged_in_page(hass: HomeAssistantProcess) -> Iterator[Page]:
    """A browser page logged in as the onboarded user, through the real login form."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()
            record_console(page)
            login(page, hass)
            yield page
        finally:
            browser.close()


def record_console(page: Page) -> None:
    """The page's console messages and uncaught errors, appended to tests/browser/output/
    console.log under the name of the test: where a failure in the frontend shows first."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]

    def write(line: str) -> None:
        with output_file("console.log").open("a", encoding="utf-8") as log:
            log.write(f"{test} {page.url} {line}\n")

    page.on("console", lambda message: write(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: write(f"[pageerror] {error}"))


def output_file(name: str) -> Path:
    """A file in tests/browser/output/, which a fresh checkout does not have yet."""
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT / name


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    path = output_file(f"{name}.png")
    # Written here, not by Playwright (path=): Playwright writes files in a thread of its own
    # event loop that outlives the test, which the Home Assistant test plugin fails at teardown
    # (seen on Python 3.14).
    path.write_bytes(page.screenshot(animations="disabled", full_page=full_page))
    return path


def login(
    page: Page, hass: HomeAssistantProcess, username: str = USERNAME, password: str = PASSWORD
) -> None:
    """The real login form; "Keep me logged in" (on by default) keeps the tokens over reloads.
    The onboarded administrator unless another user is named."""
    page.goto(hass.base_url + "/")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    keep = page.get_by_role("checkbox", name="Keep me logged in")
    if keep.count() and not keep.is_checked():
        keep.check()
    shot(page, "01_login")
    page.get_by_role("button", name="Log in").click()
    # Logged in once the frontend shows its sidebar, wherever it lands: 2025.4 routes to
    # /lovelace/0, newer releases show their default dashboard at /.
    page.locator("ha-sidebar").wait_for()
    page.wait_for_url(lambda url: "auth_callback" not in url)


def send_email(
    hass: HomeAssistantProcess,
    to: str,
    subject: str,
    body: str = "Sent by the browser test.",
    *,
    html: str | None = None,
) -> None:
    """One e-mail over SMTP to the listener: a text body, or an HTML body when `html` is given."""
    message = EmailMessage()
    message["From"] = "monitor@example.com"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    if html is None:
        message.set_content(body)
    else:
        message.set_content(html, subtype="html")
    with smtplib.SMTP(
        "127.0.0.1", hass.smtp_port, local_hostname="localhost", timeout=30
    ) as client:
        refused = client.send_message(message)
    assert not refused, refused
