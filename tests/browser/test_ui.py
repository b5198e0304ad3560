"""The web UI end to end: a real Home Assistant process, headless Debian Chromium, Playwright.

A temporary config folder gets a seeded listener with the alert sources NAS and Nagios (the
latter stored as version 0.2 did, so it migrates); onboarding is done over the HTTP API; then
the browser logs in, adds an alert source through the subentry form (basics, one filter, save),
walks every step of the rules of the keyed source and of a new escalation policy (none may show
"Translation error" or a blank icon), and resolves an incident that arrived over SMTP by
checking it off in the source's to-do list. A mailbox is added through its form for a real
Dovecot (a refused password first), and an e-mail that lands in its folder becomes an incident.
Screenshots of every step go to tests/browser/output/ (those in docs/images/ are copied from
there)."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from email.message import EmailMessage
from email.utils import make_msgid
import re
import time
from typing import Any

import pytest

from tests.browser.harness import HomeAssistantProcess, run_home_assistant, send_email, shot
from tests.servers.dovecot import Dovecot, dovecot_fixture  # noqa: F401

from playwright.sync_api import Page, expect  # isort: skip  (after the harness's skip checks)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # isort: skip

pytestmark = pytest.mark.enable_socket

SOURCE = {"name": "NAS", "addresses": ["nas"], "creation_mode": "per_subject"}
# As version 0.2 stored it: one key rule; the entry migrates it at start.
KEYED_SOURCE = {
    "name": "Nagios",
    "addresses": ["nagios"],
    "creation_mode": "incident_keys",
    "key_rule": {"field": "subject", "method": "regex", "pattern": r"Host Alert: (?P<key>\S+)"},
}


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantProcess]:
    yield from run_home_assistant(tmp_path_factory, [SOURCE, KEYED_SOURCE], "ui")


def open_integration(page: Page, hass: HomeAssistantProcess) -> None:
    page.goto(hass.base_url + "/config/integrations/integration/email_incidents")
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    # 2026.10 names a source twice on this page (its subentry and its device).
    expect(page.get_by_text("NAS", exact=True).first).to_be_visible()


# The icons on the page whose drawing is missing.
BLANK_ICONS = """() => {
    const found = [];
    const visit = (root) => {
        for (const el of root.querySelectorAll("*")) {
            if (el.tagName === "HA-ICON" && el.icon && el.shadowRoot) {
                const svg = el.shadowRoot.querySelector("ha-svg-icon");
                const path = svg && svg.path;
                if (!path) found.push(el.icon);
            }
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(document);
    return found;
}"""


def assert_readable(page: Page) -> None:
    """No text the frontend could not translate or format, and no icon without its drawing."""
    expect(page.get_by_text("Translation error", exact=False)).to_have_count(0)
    blank = page.evaluate(BLANK_ICONS)
    assert blank == [], f"icons without a drawing: {blank}"


def assert_readable_page(page: Page, within_ms: int = 10_000) -> None:
    """assert_readable for a page just opened: its icons' drawings are loaded in the
    background, so they get a while to arrive."""
    # On time out assert_readable names the icons still blank.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(f"() => ({BLANK_ICONS})().length === 0", timeout=within_ms)
    assert_readable(page)


def choose(dialog: Any, label: str) -> None:
    """Click a menu step's option (not a text of the step's description that reads the same).
    2026.10 shows each option's description inside the option, under its label."""
    items = dialog.locator("mwc-list-item, ha-list-item, ha-md-list-item")
    exactly = re.compile(rf"^\s*{re.escape(label)}\s*$")
    items.filter(has_text=exactly).or_(
        items.filter(has=dialog.page.get_by_text(label, exact=True))
    ).first.click()


def expect_step(dialog: Any, title: str) -> None:
    """The dialog shows the step of this title: a heading in 2025.4, the dialog's header text
    from 2026.10."""
    exactly = re.compile(rf"^\s*{re.escape(title)}\s*$")
    titled = dialog.get_by_role("heading", name=title).or_(
        dialog.locator(".dialog-title").filter(has_text=exactly)
    )
    expect(titled.first).to_be_visible()


def expect_readable_step(page: Page, dialog: Any, title: str) -> None:
    """The flow shows the step of this title, and everything on it reads well."""
    expect_step(dialog, title)
    assert_readable(page)


def finish_flow(page: Page, dialog: Any) -> None:
    """The last step: "Success!" in 2025.4, "Success" in 2026.10, closed with Finish."""
    expect_step(dialog, "Success")
    shot(page, "08_flow_finished")
    dialog.get_by_role("button", name="Finish").click()
    # Closing a dialog steps back in the browser's history in newer frontends: a page opened
    # before it has closed would be left again at once.
    expect(dialog).to_be_hidden()


def tick(dialog: Any, name: re.Pattern[str]) -> None:
    """Tick the checkbox of this name by clicking its box: from 2026.10 the box is drawn over
    the input and takes the click."""
    box = dialog.get_by_role("checkbox", name=name)
    # Whether a box is drawn over it can be told only once the step's form has been drawn.
    expect(box).to_be_visible()
    drawn = dialog.locator("ha-checkbox").filter(has=dialog.page.get_by_role("checkbox", name=name))
    (drawn if drawn.count() else box).click()
    expect(box).to_be_checked()


def field(dialog: Any, name: str) -> Any:
    """A text field of the step: 2026.10 names a required one "Name*" and shows a list field
    without any text field until its Add button is pressed."""
    box = dialog.get_by_role("textbox", name=re.compile(rf"^{re.escape(name)}\s*\*?$"))
    add = dialog.get_by_role("button", name=f"Add {name}")
    # Which of the two there is can be told only once the step's form has been drawn.
    expect(box.or_(add).first).to_be_visible()
    if not box.count():
        add.click()
    return box


def flow_dialog(page: Page) -> Any:
    """The config flow dialog. Its fields are slotted into ha-dialog, so they are not inside
    the element with role alertdialog: scope to the dialog component instead."""
    return page.locator("dialog-data-entry-flow")


def has_flow_buttons(page: Page) -> bool:
    """Whether the page has buttons that start a subentry flow: 2026.10 shows them above the
    entries; 2025.4 has none (its flows are items of the entry's menu)."""
    return bool(page.locator("ha-button").evaluate_all("els => els.some(el => el.flowType)"))


def start_subentry_flow(page: Page, flow_type: str) -> None:
    """Start the subentry flow of this type from the button or menu item the frontend gives
    it, found by the flow type it carries, so that this does not depend on the label (checked
    by the first test)."""
    if not has_flow_buttons(page):
        page.get_by_role("button", name="Menu").first.click()
    starters = page.locator("ha-button, ha-md-menu-item")
    expect(starters.first).to_be_visible()
    index = starters.evaluate_all(
        "(els, type) => els.findIndex(el => el.flowType === type)", flow_type
    )
    assert index >= 0, f"nothing starts the {flow_type} subentry flow"
    starters.nth(index).click()


# --- the tests -----------------------------------------------------------------------------------


def test_add_alert_source_menu_items_are_labelled(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """The entry's menu (2025.4) or the integration page (2026.10) names the subentry flows
    from `config_subentries.<type>.initiate_flow` in translations/en.json; without that key
    they show only a "+" (2025.4) or the flow type (2026.10)."""
    open_integration(page, home_assistant)
    if has_flow_buttons(page):
        shot(page, "02_entry_menu")
        expect(page.get_by_role("button", name="Add alert source")).to_be_visible()
        expect(page.get_by_role("button", name="Add escalation policy")).to_be_visible()
        return
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
    start_subentry_flow(page, "alert_source")

    dialog = flow_dialog(page)
    expect_step(dialog, "Alert source")
    field(dialog, "Name").fill("Backup")
    field(dialog, "E-mail addresses").fill("backup")
    shot(page, "04_alert_source_form")
    dialog.get_by_role("button", name="Submit").click()

    expect_step(dialog, "Rules of the alert source")
    expect(dialog.get_by_text("none: every e-mail to the source counts.")).to_be_visible()
    assert_readable(page)
    shot(page, "05_rules_menu")
    choose(dialog, "Filters")

    expect_readable_step(page, dialog, "Filters")
    choose(dialog, "Add a filter")

    expect_step(dialog, "Filter")
    field(dialog, "Value").fill("failed")
    assert_readable(page)
    shot(page, "06_condition_form")
    dialog.get_by_role("button", name="Submit").click()

    expect(dialog.get_by_text("Subject contains failed")).to_be_visible()
    assert_readable(page)
    shot(page, "07_filters_with_one")
    choose(dialog, "Back to all rules")
    expect(dialog.get_by_text("Subject contains failed")).to_be_visible()
    dialog.get_by_text("Save", exact=True).click()

    finish_flow(page, dialog)
    expect(page.get_by_text("Backup", exact=True).first).to_be_visible()
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
    # The box, not its input: from 2026.10 the box drawn over the input takes the click.
    checkbox = page.locator("ha-check-list-item").filter(has=item).locator("ha-checkbox")
    if not checkbox.count():
        checkbox = page.get_by_role("checkbox").first
    checkbox.click()

    home_assistant.wait_for_state("sensor.nas_open_incidents", "0")
    expect(item).to_be_hidden()
    shot(page, "11_todo_after_check_off")
    incident = home_assistant.request("GET", "/api/states/sensor.nas_latest_incident")
    assert incident["state"] == "resolved", incident


def test_every_step_of_the_rules_reads_well(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """Configure the keyed source and walk its key rules, resolve and accept rules and the rule
    tester: no step shows "Translation error" (the frontend reads `<key>` as a tag) or a blank
    icon, and the tester replays the e-mails that arrived."""
    for subject in (
        "** PROBLEM Service Alert: web01/Current Load is CRITICAL **",
        "** PROBLEM Service Alert: web01/Current Load is CRITICAL **",
        "** RECOVERY Service Alert: web01/Current Load is OK **",
    ):
        send_email(home_assistant, "nagios@homeassistant.local", subject)
    open_integration(page, home_assistant)
    # The subentry's row: 2025.4 labels its button Configure, 2026.10 "Edit alert source".
    row = page.locator("ha-md-list-item, ha-list-item, ha-list-item-base.sub-entry").filter(
        has_text="Nagios"
    )
    row.get_by_role("button", name=re.compile(r"^(Configure|Edit alert source)$")).first.click()

    dialog = flow_dialog(page)
    expect_readable_step(page, dialog, "Alert source")
    dialog.get_by_role("button", name="Submit").click()
    expect_step(dialog, "Rules of the alert source")
    expect(dialog.get_by_text("Subject, regular expression", exact=False)).to_be_visible()
    assert_readable(page)

    choose(dialog, "Key rules")
    expect_readable_step(page, dialog, "Key rules")
    choose(dialog, "Add a key rule")
    expect_readable_step(page, dialog, "Key rule")
    shot(page, "12_key_rule_form")
    field(dialog, "Regular expression").fill(
        r"Service Alert: (?P<host>[^/]+)/(?P<service>.+) is \w+ \*\*"
    )
    field(dialog, "Key").fill("{host}/{service}")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text("key {host}/{service}", exact=False)).to_be_visible()
    assert_readable(page)
    choose(dialog, "Move a key rule up")
    assert_readable(page)
    dialog.get_by_text("2. Subject", exact=False).click()
    dialog.get_by_role("button", name="Submit").click()
    choose(dialog, "Change a key rule")
    assert_readable(page)
    dialog.get_by_text("1. Subject", exact=False).click()
    dialog.get_by_role("button", name="Submit").click()
    expect_step(dialog, "Key rule")
    dialog.get_by_role("button", name="Submit").click()
    choose(dialog, "Remove key rules")
    assert_readable(page)
    # Nothing is ticked before the user ticks it.
    expect(dialog.get_by_role("checkbox", checked=True)).to_have_count(0)
    tick(dialog, re.compile(r"^2\. "))  # the rule of 0.2
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text("Host Alert", exact=False)).to_have_count(0)
    expect(dialog.get_by_text("key {host}/{service}", exact=False)).to_be_visible()
    choose(dialog, "E-mails without a key")
    assert_readable(page)
    dialog.get_by_role("button", name="Submit").click()
    choose(dialog, "Back to all rules")

    for menu, add, value in (
        ("Resolve rules", "Add a resolve rule", "RECOVERY"),
        ("Accept rules", "Add an accept rule", "ACKNOWLEDGEMENT"),
    ):
        choose(dialog, menu)
        assert_readable(page)
        choose(dialog, add)
        assert_readable(page)
        field(dialog, "Value").fill(value)
        dialog.get_by_role("button", name="Submit").click()
        expect(dialog.get_by_text(f"Subject contains {value}")).to_be_visible()
        assert_readable(page)
        choose(dialog, "Back to all rules")
    assert_readable(page)
    shot(page, "13_rules_summary")

    choose(dialog, "Test the rules on recent e-mails")
    expect_step(dialog, "Rule tester")
    expect(dialog.get_by_text("opens A (key web01/Current Load)", exact=False)).to_be_visible()
    expect(dialog.get_by_text("appends to A", exact=False)).to_be_visible()
    expect(dialog.get_by_text("resolves A", exact=False)).to_be_visible()
    assert_readable(page)
    shot(page, "14_rule_tester")
    choose(dialog, "Save")
    expect(
        dialog.get_by_text("The alert source was saved; its incidents are kept.")
    ).to_be_visible()
    page.keyboard.press("Escape")
    # Saved rules apply at once: under the old key rule the three e-mails opened three
    # incidents without key; now a problem and its recovery are one incident.
    home_assistant.wait_for_state("sensor.nagios_open_incidents", "3")
    send_email(
        home_assistant,
        "nagios@homeassistant.local",
        "** PROBLEM Service Alert: db1/Disk is CRITICAL **",
    )
    home_assistant.wait_for_state("sensor.nagios_open_incidents", "4")
    send_email(
        home_assistant, "nagios@homeassistant.local", "** RECOVERY Service Alert: db1/Disk is OK **"
    )
    home_assistant.wait_for_state("sensor.nagios_open_incidents", "3")


def test_every_step_of_a_new_escalation_policy_reads_well(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    open_integration(page, home_assistant)
    start_subentry_flow(page, "escalation_policy")
    dialog = flow_dialog(page)
    expect_readable_step(page, dialog, "Escalation policy")
    field(dialog, "Name").fill("On call")
    dialog.get_by_role("button", name="Submit").click()
    expect_readable_step(page, dialog, "Escalation level")
    dialog.get_by_role("button", name="Submit").click()
    expect_step(dialog, "Escalation levels")
    expect(dialog.get_by_text("Level 1: after 0 min: event only", exact=False)).to_be_visible()
    assert_readable(page)
    choose(dialog, "Add a level")
    assert_readable(page)
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text("Level 2: after 15 min: event only", exact=False)).to_be_visible()
    for option, level in (
        ("Change a level", "Level 1"),
        ("Move a level up", "Level 2"),
        ("Remove a level", "Level 2"),
    ):
        choose(dialog, option)
        # The levels step's description is gone once the chosen step shows (the levels read
        # the same on both).
        expect(dialog.get_by_text("Level 1 runs when", exact=False)).to_be_hidden()
        assert_readable(page)
        dialog.get_by_text(level, exact=False).click()
        dialog.get_by_role("button", name="Submit").click()
        if option == "Change a level":
            expect_readable_step(page, dialog, "Escalation level")
            dialog.get_by_role("button", name="Submit").click()
        expect_step(dialog, "Escalation levels")
    expect(dialog.get_by_text("Level 1: after 15 min: event only", exact=False)).to_be_visible()
    choose(dialog, "Save")
    finish_flow(page, dialog)


# --- a mailbox -----------------------------------------------------------------------------------

MAILBOX = "Alerts mailbox"
# Entity ids of the mailbox's device: the device's name, then the entity's.
MAILBOX_CONNECTED = "binary_sensor.alerts_mailbox_connected"
MAILBOX_TAKEN = "sensor.alerts_mailbox_e_mails_taken"
WRONG_PASSWORD = "The server refused the user name or password"


def toggle(dialog: Any, label: str) -> tuple[Any, Any]:
    """The switch of a toggle field, and what takes a click on it. 2026.10 does not name the
    switch by its label (a paragraph beside it), so it is found in the field that shows the
    label; and it draws the switch over the input, which then takes the click."""
    holder = dialog.locator("ha-selector-boolean").filter(has_text=label)
    expect(holder).to_have_count(1)
    return holder.get_by_role("switch"), holder.locator("ha-switch")


def number_field(dialog: Any, name: str) -> Any:
    """A number field of the step (a box, not a slider)."""
    box = dialog.get_by_role("spinbutton", name=re.compile(rf"^{re.escape(name)}\s*\*?$"))
    expect(box).to_be_visible()
    return box


def call_ws(page: Page, message: dict[str, Any]) -> Any:
    """A websocket command as the logged-in user, through the frontend's own connection."""
    page.wait_for_function("() => document.querySelector('home-assistant')?.hass?.connection")
    return page.evaluate(
        "message => document.querySelector('home-assistant').hass.callWS(message)", message
    )


def alert_email(to: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "monitor@example.com"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("Sent to the mailbox by the browser test.")
    return message.as_bytes()


def test_add_mailbox_through_the_ui(
    page: Page, home_assistant: HomeAssistantProcess, dovecot: Dovecot
) -> None:
    """Add mailbox > the form for a real Dovecot: a wrong password shows the server's refusal
    on the form; the right one saves. The mailbox's device shows Connected, and an e-mail that
    lands in the folder, addressed to NAS, becomes an incident of NAS in the Incidents panel."""
    open_integration(page, home_assistant)
    start_subentry_flow(page, "mailbox")
    dialog = flow_dialog(page)
    expect_readable_step(page, dialog, "Mailbox (IMAP)")
    expect(dialog.get_by_text("The login and the folder are tried before saving.")).to_be_visible()

    field(dialog, "Name").fill(MAILBOX)
    field(dialog, "IMAP server").fill("127.0.0.1")
    number_field(dialog, "Port").fill(str(dovecot.imaps_port))
    # SSL/TLS is chosen already; Dovecot's certificate is its own (self-signed).
    verify, verify_drawn = toggle(dialog, "Verify the certificate")
    expect(verify).to_be_checked()
    verify_drawn.click()
    expect(verify).not_to_be_checked()
    field(dialog, "User name").fill(dovecot.user)
    password = field(dialog, "Password")
    password.fill(dovecot.password)
    # As Home Assistant shows a password: hidden.
    expect(password).to_have_attribute("type", "password")
    # The whole form in one picture for the README: a viewport tall enough for the dialog.
    page.set_viewport_size({"width": 1280, "height": 1640})
    try:
        expect(dialog.get_by_role("button", name="Submit")).to_be_in_viewport()
        shot(page, "15_mailbox_form")
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})

    # A mistyped password: the server's refusal shows on the form, which keeps what was
    # typed except the password.
    password.fill("not-the-password")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text(WRONG_PASSWORD, exact=False)).to_be_visible()
    assert_readable(page)
    shot(page, "16_mailbox_refused")
    expect(field(dialog, "Name")).to_have_value(MAILBOX)
    expect(number_field(dialog, "Port")).to_have_value(str(dovecot.imaps_port))
    expect(verify).not_to_be_checked()
    expect(field(dialog, "Password")).to_have_value("")
    field(dialog, "Password").fill(dovecot.password)
    dialog.get_by_role("button", name="Submit").click()
    finish_flow(page, dialog)

    try:
        home_assistant.wait_for_state(MAILBOX_CONNECTED, "on")
        home_assistant.wait_for_state(MAILBOX_TAKEN, "0")
        devices = call_ws(page, {"type": "config/device_registry/list"})
        (device,) = [device for device in devices if device["name"] == MAILBOX]
        page.goto(f"{home_assistant.base_url}/config/devices/device/{device['id']}")
        expect_entity_state(page, "Connected", "Connected")
        expect_entity_state(page, "E-mails taken", "0")
        assert_readable_page(page)
        shot(page, "17_mailbox_device")

        # An alert lands in the folder, addressed to NAS: the device page counts it at once.
        summary = "RAID degraded on volume 2"
        dovecot.append([alert_email("nas@homeassistant.local", summary)])
        home_assistant.wait_for_state(MAILBOX_TAKEN, "1")
        expect_entity_state(page, "E-mails taken", "1")
        shot(page, "18_mailbox_device_took_one")
        page.goto(f"{home_assistant.base_url}/email-incidents")
        incident = page.locator("email-incidents-panel .row").filter(has_text=summary)
        expect(incident).to_be_visible()
        expect(incident).to_contain_text("NAS")
        shot(page, "19_mailbox_incident")
        assert dovecot.flags() == {1: {"\\Seen"}}
    finally:
        remove_mailboxes(page)


def expect_entity_state(page: Page, name: str, state: str) -> None:
    """The row of this entity on a device page shows this state. The row's text has the state
    before the name (the state is slotted into the row), so either order is taken."""
    row = page.locator("hui-generic-entity-row").filter(has=page.get_by_text(name, exact=True))
    name, state = re.escape(name), re.escape(state)
    expect(row).to_have_text(re.compile(rf"^\s*({name}\s*{state}|{state}\s*{name})\s*$"))


def remove_mailboxes(page: Page) -> None:
    """Delete the mailboxes, as their menu's Delete does: the module's other tests then see no
    mailbox whose server (this test's Dovecot) has gone away."""
    (entry,) = call_ws(page, {"type": "config_entries/get", "domain": "email_incidents"})
    for subentry in call_ws(
        page, {"type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
    ):
        if subentry["subentry_type"] == "mailbox":
            call_ws(
                page,
                {
                    "type": "config_entries/subentries/delete",
                    "entry_id": entry["entry_id"],
                    "subentry_id": subentry["subentry_id"],
                },
            )
