"""The web UI end to end: a real Home Assistant process, headless Debian Chromium, Playwright.

A temporary config folder gets a seeded listener with the alert source NAS; onboarding is done
over the HTTP API; then the browser logs in, adds an alert source through the subentry form
(basics, one filter, save), and resolves an incident that arrived over SMTP by checking it off
in the source's to-do list. Screenshots of every step go to tests/browser/output/.

Skipped when /usr/bin/chromium (Debian package `chromium`) or the `playwright` package is
missing; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
import importlib.util
import json
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

import pytest
import pytest_socket

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

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

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
        if port_open(hass.smtp_port):
            return
        time.sleep(0.5)
    raise RuntimeError(f"Home Assistant was not up within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantProcess]:
    """A real Home Assistant with the integration, onboarded; stopped at the end."""
    # The enable_socket mark acts per test, after module fixtures are set up: this fixture
    # talks to Home Assistant over loopback before that.
    pytest_socket.enable_socket()
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
    process = ha_config.start_home_assistant(config_dir, log)
    try:
        _wait_until_up(hass, process)
        hass.onboard()
        yield hass
    finally:
        ha_config.stop_process(process)
        OUTPUT.mkdir(exist_ok=True)
        shutil.copyfile(log, OUTPUT / "hass.log")


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_sockets(socket_enabled: None) -> None:
    """The Home Assistant test plugin blocks sockets in every test's set-up, after the
    enable_socket mark is applied: SMTP and the REST API need them."""


@pytest.fixture
def page(home_assistant: HomeAssistantProcess) -> Iterator[Page]:
    """A browser page logged in as the onboarded user, through the real login form.

    Per test, not per module: Playwright's sync API marks its own event loop as running while
    it is open, and the Home Assistant test plugin's per-test clean-up runs an event loop; so
    Playwright is stopped before each test ends (costs a browser start and a login per test).
    """
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()
            login(page, home_assistant)
            yield page
        finally:
            browser.close()


def shot(page: Page, name: str) -> Path:
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=path, animations="disabled")
    return path


def login(page: Page, hass: HomeAssistantProcess) -> None:
    """The real login form; "Keep me logged in" (on by default) keeps the tokens over reloads."""
    page.goto(hass.base_url + "/")
    page.get_by_role("textbox", name="Username").fill(USERNAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    keep = page.get_by_role("checkbox", name="Keep me logged in")
    if keep.count() and not keep.is_checked():
        keep.check()
    shot(page, "01_login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/lovelace/**")


def open_integration(page: Page, hass: HomeAssistantProcess) -> None:
    page.goto(hass.base_url + "/config/integrations/integration/email_incidents")
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    expect(page.get_by_text("NAS", exact=True)).to_be_visible()


def flow_dialog(page: Page) -> Any:
    """The config flow dialog. Its fields are slotted into ha-dialog, so they are not inside
    the element with role alertdialog: scope to the dialog component instead."""
    return page.locator("dialog-data-entry-flow")


def send_email(hass: HomeAssistantProcess, to: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "monitor@example.com"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("Sent by the browser test.")
    with smtplib.SMTP(
        "127.0.0.1", hass.smtp_port, timeout=30, local_hostname="localhost"
    ) as client:
        refused = client.send_message(message)
    assert not refused, refused


# --- the tests -----------------------------------------------------------------------------------


def test_add_alert_source_menu_items_are_labelled(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """The entry's menu names its subentry flows from `config_subentries.<type>.initiate_flow`
    in translations/en.json; without that key the items show only a "+"."""
    open_integration(page, home_assistant)
    page.get_by_role("button", name="Menu").first.click()
    expect(page.get_by_role("menuitem", name="Reload")).to_be_visible()
    shot(page, "02_entry_menu")
    try:
        expect(page.get_by_role("menuitem", name="Add alert source")).to_be_visible(timeout=2_000)
        expect(page.get_by_role("menuitem", name="Add escalation policy")).to_be_visible(
            timeout=2_000
        )
    finally:
        page.keyboard.press("Escape")


def test_add_alert_source_through_the_ui(page: Page, home_assistant: HomeAssistantProcess) -> None:
    """Add alert source > basics > add one filter > save: the new source's entities exist."""
    open_integration(page, home_assistant)
    shot(page, "03_integration")
    page.get_by_role("button", name="Menu").first.click()
    # Found by the flow type the frontend gives the menu item, so that this test does not
    # depend on the item's label (checked by the test above).
    items = page.locator("ha-md-menu-item")
    expect(items.first).to_be_visible()
    index = items.evaluate_all("els => els.findIndex(el => el.flowType === 'alert_source')")
    assert index >= 0, "no menu item starts the alert_source subentry flow"
    items.nth(index).click()

    dialog = flow_dialog(page)
    expect(dialog.get_by_role("heading", name="Alert source")).to_be_visible()
    dialog.get_by_role("textbox", name="Name").fill("Backup")
    dialog.get_by_role("textbox", name="E-mail addresses").fill("backup")
    shot(page, "04_alert_source_form")
    dialog.get_by_role("button", name="Submit").click()

    expect(dialog.get_by_role("heading", name="Rules of the alert source")).to_be_visible()
    expect(dialog.get_by_text("No rules yet")).to_be_visible()
    shot(page, "05_rules_menu")
    dialog.get_by_text("Add a condition", exact=True).click()

    expect(dialog.get_by_role("heading", name="Condition")).to_be_visible()
    dialog.get_by_role("textbox", name="Value").fill("failed")
    shot(page, "06_condition_form")
    dialog.get_by_role("button", name="Submit").click()

    expect(dialog.get_by_text("filters: subject contains “failed”")).to_be_visible()
    shot(page, "07_rules_with_filter")
    dialog.get_by_text("Save", exact=True).click()

    expect(dialog.get_by_role("heading", name="Success!")).to_be_visible()
    shot(page, "08_source_created")
    dialog.get_by_role("button", name="Finish").click()
    expect(page.get_by_text("Backup", exact=True)).to_be_visible()
    shot(page, "09_integration_with_new_source")

    # The entry reloads with the new source: its entities appear and its address takes mail.
    home_assistant.wait_for_state("sensor.backup_open_incidents", "0")
    send_email(home_assistant, "backup@homeassistant.local", "Nightly backup failed")
    home_assistant.wait_for_state("sensor.backup_open_incidents", "1")
    # The filter: an e-mail whose subject lacks "failed" opens nothing.
    send_email(home_assistant, "backup@homeassistant.local", "Nightly backup OK")
    time.sleep(1)
    assert home_assistant.state("sensor.backup_open_incidents") == "1"


def test_check_off_incident_in_todo_list(page: Page, home_assistant: HomeAssistantProcess) -> None:
    """An e-mail to NAS is an item of its to-do list; checking it off resolves the incident."""
    send_email(home_assistant, "nas@homeassistant.local", "Disk failure on volume 1")
    home_assistant.wait_for_state("sensor.nas_open_incidents", "1")

    page.goto(home_assistant.base_url + "/todo?entity_id=todo.nas_incidents")
    item = page.get_by_text("Disk failure on volume 1")
    expect(item).to_be_visible()
    expect(page.get_by_text("INC-", exact=False).first).to_be_visible()
    shot(page, "10_todo")
    checkbox = page.locator("ha-check-list-item").filter(has=item).get_by_role("checkbox")
    if not checkbox.count():
        checkbox = page.get_by_role("checkbox").first
    checkbox.click()

    home_assistant.wait_for_state("sensor.nas_open_incidents", "0")
    expect(item).to_be_hidden()
    shot(page, "11_todo_after_check_off")
    incident = home_assistant.request("GET", "/api/states/sensor.nas_latest_incident")
    assert incident["state"] == "resolved", incident
