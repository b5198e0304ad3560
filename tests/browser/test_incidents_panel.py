"""The Incidents panel and the dashboard card in a real Home Assistant, headless Debian Chromium.

E-mails arrive over real SMTP; the panel shows them live, opens one with its body and timeline,
and its buttons add a note, snooze, accept and resolve through the real actions. Forty incidents
are selected at once (all the filters match, then a shift-click range) and accepted or resolved
together with a note; a notification summary's link opens exactly its incidents, which are
accepted together. Hostile e-mails
(script tags, image error handlers, javascript: links, right-to-left and zero-width tricks) show
as text and run nothing. A deep link opens an incident; the card on a dashboard accepts one.
Screenshots go to tests/browser/output/ (those in docs/images/ are copied from there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from custom_components.email_incidents.core.paging import Summary
from custom_components.email_incidents.escalation import summary_notification
from tests.browser.harness import (
    UI_TIMEOUT_MS,
    HomeAssistantProcess,
    login,
    output_file,
    run_home_assistant,
    send_email,
    shot,
)

from playwright.sync_api import Page, expect  # isort: skip  (after the harness's skip checks)

pytestmark = pytest.mark.enable_socket

# Servers escalate (levels without targets: at once, then after 30 minutes): while the second
# level is due, an incident can be snoozed or escalated now.
POLICIES = {
    "policy_oncall": {
        "name": "On call",
        "levels": [{"delay_minutes": 0, "targets": []}, {"delay_minutes": 30, "targets": []}],
    }
}
SOURCES = [
    {
        "name": "Servers",
        "addresses": ["servers"],
        "creation_mode": "per_subject",
        "escalation_policy": "policy_oncall",
    },
    {"name": "NAS", "addresses": ["nas"], "creation_mode": "per_subject"},
    {"name": "Flood", "addresses": ["flood"], "creation_mode": "every_email"},
    {"name": "Ping", "addresses": ["ping"], "creation_mode": "per_subject"},
]
SERVERS = "servers@homeassistant.local"
NAS = "nas@homeassistant.local"
FLOOD = "flood@homeassistant.local"
PING = "ping@homeassistant.local"
PANEL = "email-incidents-panel"
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_card_example() -> dict[str, Any]:
    """The card's YAML example in the README, so that the example is what this test shows."""
    text = README.read_text("utf-8")
    block = re.search(r"<!-- card-example -->\n```yaml\n(.*?)```", text, re.DOTALL)
    assert block, "README has no card example"
    return dict(yaml.safe_load(block[1]))


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantProcess]:
    yield from run_home_assistant(tmp_path_factory, SOURCES, "panel", POLICIES)


def call_ws(page: Page, message: dict[str, Any]) -> Any:
    """A websocket command as the logged-in user, through the frontend's own connection."""
    page.wait_for_function("() => document.querySelector('home-assistant')?.hass?.connection")
    return page.evaluate(
        "message => document.querySelector('home-assistant').hass.callWS(message)", message
    )


def show_dashboard(
    page: Page, hass: HomeAssistantProcess, url_path: str, view: dict[str, Any]
) -> None:
    """A dashboard of its own with this one view, as a user adds it, then opened at the view.
    Not the default dashboard: from 2026.10 /lovelace leads to the new overview at /home."""
    call_ws(
        page,
        {
            "type": "lovelace/dashboards/create",
            "url_path": url_path,
            "title": view["title"],
            "mode": "storage",
            "show_in_sidebar": True,
            "require_admin": False,
        },
    )
    call_ws(
        page,
        {"type": "lovelace/config/save", "url_path": url_path, "config": {"views": [view]}},
    )
    page.goto(f"{hass.base_url}/{url_path}/{view['path']}")


def incident_with_summary(page: Page, summary: str) -> dict[str, Any]:
    result = call_ws(page, {"type": "email_incidents/incidents/list", "search": summary})
    found = [incident for incident in result["incidents"] if incident["summary"] == summary]
    assert len(found) == 1, result
    return dict(found[0])


def open_panel(page: Page, hass: HomeAssistantProcess, path: str = "") -> None:
    page.goto(f"{hass.base_url}/email-incidents{path}")
    expect(page.locator(PANEL)).to_be_attached()


def row(page: Page, summary: str) -> Any:
    return page.locator(f"{PANEL} .row").filter(has_text=summary)


def detail_status(page: Page) -> Any:
    return page.locator(f"{PANEL} .header .chip.status")


def test_panel_shows_an_email_live_and_handles_the_incident(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """List, live update, open, read the body, add a note, snooze, accept, resolve."""
    send_email(home_assistant, NAS, "Volume 2 degraded", "Disk 3 of volume 2 failed.")
    send_email(home_assistant, SERVERS, "Backup of db1 failed", "Exit code 2.")
    send_email(home_assistant, NAS, "UPS on battery", "Input power lost at 03:12.")
    open_panel(page, home_assistant)
    expect(row(page, "UPS on battery")).to_be_visible()
    expect(row(page, "Volume 2 degraded")).to_be_visible()

    # Live: an e-mail sent while the panel is open appears without a reload.
    body = "CPU load on web1 is 97% for 10 minutes.\nTop process: php-fpm (812%)."
    send_email(home_assistant, SERVERS, "High CPU on web1", body)
    expect(row(page, "High CPU on web1")).to_be_visible()
    expect(row(page, "High CPU on web1").locator(".chip.status")).to_have_text("Pending")
    # Live too: changes made elsewhere.
    for summary, service in (
        ("Backup of db1 failed", "accept_incident"),
        ("Volume 2 degraded", "resolve_incident"),
    ):
        call_ws(
            page,
            {
                "type": "call_service",
                "domain": "email_incidents",
                "service": service,
                "service_data": {"incident_id": incident_with_summary(page, summary)["id"]},
            },
        )
    expect(row(page, "Backup of db1 failed").locator(".chip.status")).to_have_text("Accepted")
    expect(row(page, "Volume 2 degraded").locator(".chip.status")).to_have_text("Resolved")
    shot(page, "panel_list")

    # Filters: the source and the text search.
    page.locator(f"{PANEL} select.source").select_option(label="NAS")
    expect(row(page, "High CPU on web1")).to_be_hidden()
    expect(row(page, "UPS on battery")).to_be_visible()
    page.locator(f"{PANEL} select.source").select_option(value="")
    page.locator(f"{PANEL} input.search").fill("web1")
    expect(row(page, "UPS on battery")).to_be_hidden()
    expect(row(page, "High CPU on web1")).to_be_visible()

    row(page, "High CPU on web1").click()
    incident = incident_with_summary(page, "High CPU on web1")
    page.wait_for_url(f"**/email-incidents/{incident['id']}")
    expect(detail_status(page)).to_have_text("Pending")
    expect(page.locator(f"{PANEL} .header .summary")).to_have_text("High CPU on web1")
    expect(page.locator(f"{PANEL} .email pre.body")).to_have_text(body)

    page.locator(f"{PANEL} button.add_note").click()
    page.locator(f"{PANEL} textarea.note-text").fill("Restarted php-fpm, watching it.")
    page.locator(f"{PANEL} button.save-note").click()
    note = page.locator(f"{PANEL} .timeline li[data-kind='note']")
    expect(note).to_contain_text("Restarted php-fpm, watching it.")
    expect(note).to_contain_text("Admin")

    facts = page.locator(f"{PANEL} .header .facts")
    page.locator(f"{PANEL} button.snooze").click()
    page.locator(f"{PANEL} select.snooze-duration").select_option(value="60")
    page.locator(f"{PANEL} button.confirm-snooze").click()
    expect(facts).to_contain_text("Snoozed until")
    expect(page.locator(f"{PANEL} .timeline li[data-kind='snoozed']")).to_contain_text("Admin")
    assert incident_with_summary(page, "High CPU on web1")["snoozed_until"]

    page.locator(f"{PANEL} button.escalate").click()
    escalated = page.locator(f"{PANEL} .timeline li[data-kind='escalated']").last
    expect(escalated).to_contain_text("level 2")
    expect(escalated).to_contain_text("Admin")
    expect(facts).to_contain_text("Escalation level2")
    expect(facts).not_to_contain_text("Snoozed until")

    page.locator(f"{PANEL} button.accept").click()
    expect(detail_status(page)).to_have_text("Accepted")
    expect(facts).to_contain_text(re.compile(r"Accepted.*by Admin"))
    expect(page.locator(f"{PANEL} button.snooze")).to_have_count(0)
    shot(page, "panel_detail", full_page=True)

    page.locator(f"{PANEL} button.resolve").click()
    expect(detail_status(page)).to_have_text("Resolved")
    expect(page.locator(f"{PANEL} button.resolve")).to_have_count(0)
    resolved = incident_with_summary(page, "High CPU on web1")
    assert resolved["status"] == "resolved"
    assert resolved["resolved_by"] == "Admin"

    # Back to the list: the change came live.
    page.locator(f"{PANEL} .toolbar button.back").click()
    page.locator(f"{PANEL} input.search").fill("web1")
    expect(row(page, "High CPU on web1").locator(".chip.status")).to_have_text("Resolved")


HOSTILE_SUBJECT = '<img src=x onerror="window.__pwned=1">Disk alert'
HOSTILE_BODY = (
    "<script>window.__pwned=2</script>\n"
    '<a href="javascript:window.__pwned=3">Open the report</a>\n'
    "<svg onload=window.__pwned=4></svg>\n"
    "Attachment: invoice\u202egnp.exe\n"
    "Log in at pay\u200bpal.example\u2066 now\u2069"
)
HOSTILE_HTML = (
    "<html><body><script>window.__pwned=5</script>"
    '<img src=x onerror="window.__pwned=6"><p>HTML alert: <b>disk</b> full</p>'
    '<a href="javascript:window.__pwned=7">details</a></body></html>'
)


def test_hostile_emails_show_as_text_and_run_nothing(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    send_email(home_assistant, SERVERS, HOSTILE_SUBJECT, HOSTILE_BODY)
    send_email(home_assistant, SERVERS, "HTML report", html=HOSTILE_HTML)
    open_panel(page, home_assistant)
    expect(row(page, "Disk alert")).to_contain_text(HOSTILE_SUBJECT)
    row(page, "Disk alert").click()

    panel = page.locator(PANEL)
    expect(panel.locator(".header .summary")).to_have_text(HOSTILE_SUBJECT)
    body = panel.locator(".email pre.body")
    expect(body).to_contain_text("<script>window.__pwned=2</script>")
    expect(body).to_contain_text('<a href="javascript:window.__pwned=3">Open the report</a>')
    # The right-to-left override and the zero-width characters are shown, not applied.
    expect(body).to_contain_text("invoice⟦U+202E⟧gnp.exe")
    expect(body).to_contain_text("pay⟦U+200B⟧pal.example⟦U+2066⟧ now⟦U+2069⟧")
    body.get_by_text("Open the report", exact=False).click()
    shot(page, "panel_hostile")

    row_link = incident_with_summary(page, "HTML report")["url"]
    page.goto(home_assistant.base_url + row_link)
    expect(panel.locator(".header .summary")).to_have_text("HTML report")
    expect(panel.locator(".email pre.body")).to_contain_text("HTML alert:")

    # E-mail content sits in elements marked untrusted: nothing in them but text.
    for selector in ("img", "script", "svg", "a", "iframe", "b", "p"):
        assert panel.locator(f".untrusted {selector}").count() == 0, selector
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []


def test_deep_link_opens_the_incident(page: Page, home_assistant: HomeAssistantProcess) -> None:
    send_email(home_assistant, NAS, "Fan failure in enclosure 1", "Fan 2 stopped.")
    open_panel(page, home_assistant)
    expect(row(page, "Fan failure in enclosure 1")).to_be_visible()
    incident = incident_with_summary(page, "Fan failure in enclosure 1")
    assert incident["url"] == f"/email-incidents/{incident['id']}"

    open_panel(page, home_assistant, f"/{incident['id']}")
    expect(page.locator(f"{PANEL} .toolbar .title")).to_have_text(incident["id"])
    expect(page.locator(f"{PANEL} .header .summary")).to_have_text("Fan failure in enclosure 1")
    expect(page.locator(f"{PANEL} .email pre.body")).to_have_text("Fan 2 stopped.")

    open_panel(page, home_assistant, "/INC-999999")
    expect(page.locator(f"{PANEL} .message")).to_contain_text("INC-999999")


def test_card_on_a_dashboard_accepts_an_incident(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    send_email(home_assistant, SERVERS, "Certificate of mail.example expires in 3 days")
    send_email(home_assistant, NAS, "Scrub found 2 errors on pool tank")
    page.goto(home_assistant.base_url + "/profile")
    assert page.evaluate(
        "() => (window.customCards || []).some(card => card.type === 'email-incidents-card')"
    )
    show_dashboard(
        page,
        home_assistant,
        "dashboard-on-call",
        {"title": "On call", "path": "on-call", "cards": [readme_card_example()]},
    )
    card = page.locator("email-incidents-card")
    certificate = card.locator(".row").filter(has_text="Certificate of mail.example")
    expect(certificate).to_be_visible()
    expect(card.locator(".row").filter(has_text="Scrub found 2 errors")).to_be_visible()
    shot(page, "card_dashboard")
    output_file("card.png").write_bytes(card.screenshot(animations="disabled"))  # see shot()

    certificate.locator("button.accept").click()
    expect(certificate.locator(".chip.status")).to_have_text("Accepted")
    expect(certificate.locator("button.accept")).to_have_count(0)
    incident = incident_with_summary(page, "Certificate of mail.example expires in 3 days")
    assert incident["status"] == "accepted"
    assert incident["accepted_by"] == "Admin"

    certificate.locator(".open").click()
    page.wait_for_url(f"**/email-incidents/{incident['id']}")
    expect(detail_status(page)).to_have_text("Accepted")


def test_card_editor_chooses_sources(page: Page, home_assistant: HomeAssistantProcess) -> None:
    """The card's editor lists the alert sources by name; the sources chosen are the card's
    `sources`, and the card then shows only their incidents."""
    send_email(home_assistant, NAS, "Pool tank is 91% full")
    page.goto(home_assistant.base_url + "/profile")
    call_ws(page, {"type": "get_panels"})
    changes = page.evaluate(
        """async () => {
          await customElements.whenDefined("email-incidents-card");
          const editor = customElements.get("email-incidents-card").getConfigElement();
          const changes = [];
          editor.addEventListener("config-changed", (event) => changes.push(event.detail.config));
          editor.setConfig({ type: "custom:email-incidents-card" });
          editor.hass = document.querySelector("home-assistant").hass;
          // Above the frontend, as the card editor dialog shows it.
          editor.style.cssText = "position: fixed; inset: 0; z-index: 10000; background: white";
          document.body.appendChild(editor);
          window.__editor_changes = changes;
          return changes;
        }"""
    )
    assert changes == []
    editor = page.locator("email-incidents-card-editor")
    expect(editor.locator("label").filter(has_text="Servers")).to_be_visible()
    editor.locator("label").filter(has_text="NAS").locator("input").check()
    [config] = page.evaluate("window.__editor_changes")
    nas = incident_with_summary(page, "Pool tank is 91% full")["source_id"]
    assert config == {"type": "custom:email-incidents-card", "sources": [nas]}

    show_dashboard(
        page, home_assistant, "dashboard-nas", {"title": "NAS", "path": "nas", "cards": [config]}
    )
    card = page.locator("email-incidents-card")
    expect(card.locator(".row").filter(has_text="Pool tank is 91% full")).to_be_visible()
    expect(card.locator(".row").filter(has_text="Servers")).to_have_count(0)


def test_narrow_screen_has_the_sidebar_button(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    send_email(home_assistant, SERVERS, "Disk of db2 is 95% full")
    page.set_viewport_size({"width": 390, "height": 800})
    open_panel(page, home_assistant)
    menu = page.locator(f"{PANEL} .toolbar button.menu")
    expect(menu).to_be_visible()
    expect(page.locator(f"{PANEL} .row").first).to_be_visible()
    shot(page, "panel_narrow")
    sidebar = page.locator("ha-sidebar")
    assert sidebar.evaluate("element => element.getBoundingClientRect().right") <= 0
    menu.click()
    page.wait_for_function(
        "element => element.getBoundingClientRect().left >= 0", arg=sidebar.element_handle()
    )
    shot(page, "panel_narrow_sidebar")


def test_list_pages(page: Page, home_assistant: HomeAssistantProcess) -> None:
    """More than 50 incidents: 50 a page, newest first, and the next page holds the rest."""
    for number in range(55):
        send_email(home_assistant, FLOOD, f"Flood {number:02d}")
    open_panel(page, home_assistant)
    page.locator(f"{PANEL} input.search").fill("Flood")
    pager = page.locator(f"{PANEL} .pager")
    expect(pager.locator(".range")).to_have_text("1\u201350 of 55")
    expect(page.locator(f"{PANEL} .row").first).to_contain_text("Flood 54")
    expect(page.locator(f"{PANEL} .row")).to_have_count(50)
    pager.locator("button.next").click()
    expect(pager.locator(".range")).to_have_text("51\u201355 of 55")
    expect(page.locator(f"{PANEL} .row")).to_have_count(5)
    expect(page.locator(f"{PANEL} .row").last).to_contain_text("Flood 00")
    expect(pager.locator("button.next")).to_be_disabled()
    pager.locator("button.previous").click()
    expect(pager.locator(".range")).to_have_text("1\u201350 of 55")


def test_a_user_without_admin_rights_handles_incidents(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """The panel needs no administrator: a plain user finds it in the sidebar, reads an
    incident and accepts it under their own name."""
    send_email(home_assistant, NAS, "Temperature of disk 4 is 61 °C", "Disk 4: 61 °C.")
    page.goto(home_assistant.base_url + "/profile")
    user = call_ws(
        page,
        {"type": "config/auth/create", "name": "Anna", "group_ids": ["system-users"]},
    )["user"]
    call_ws(
        page,
        {
            "type": "config/auth_provider/homeassistant/create",
            "user_id": user["id"],
            "username": "anna",
            "password": "anna-password-123",
        },
    )
    assert page.context.browser
    context = page.context.browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="en-US"
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    anna = context.new_page()
    login(anna, home_assistant, "anna", "anna-password-123")
    assert anna.evaluate("document.querySelector('home-assistant').hass.user.is_admin") is False
    anna.locator("ha-sidebar").get_by_text("Incidents", exact=True).click()
    anna.wait_for_url("**/email-incidents")
    temperature = anna.locator(f"{PANEL} .row").filter(has_text="Temperature of disk 4")
    temperature.click()
    expect(anna.locator(f"{PANEL} .email pre.body")).to_have_text("Disk 4: 61 °C.")
    anna.locator(f"{PANEL} button.accept").click()
    expect(anna.locator(f"{PANEL} .header .facts")).to_contain_text("by Anna")
    assert incident_with_summary(page, "Temperature of disk 4 is 61 °C")["accepted_by"] == "Anna"
    context.close()


def test_forty_incidents_accepted_from_the_selection(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """A switch fails and 40 hosts are unreachable: the filters find the 40 incidents, "select
    all matching" selects them, and one Accept with a note accepts them all as the user, the
    note in each timeline. Then a shift-click range of five is resolved, one of which someone
    resolved meanwhile: the panel says which one failed and why."""
    hosts = [f"Host node{number:02d} unreachable" for number in range(1, 41)]
    for subject in hosts:
        send_email(home_assistant, PING, subject, "PING CRITICAL - 100% packet loss")
    open_panel(page, home_assistant)
    panel = page.locator(PANEL)
    panel.locator("select.status").select_option(value="open")
    panel.locator("input.search").fill("unreachable")
    rows = panel.locator(".row")
    expect(rows).to_have_count(40)
    expect(rows.locator(".chip.status").filter(has_text="Pending")).to_have_count(40)

    panel.locator("button.select-matching").click()
    selection = panel.locator(".selection")
    expect(selection.locator(".count")).to_have_text("40 selected")
    expect(panel.locator(".row input.select:checked")).to_have_count(40)
    expect(panel.locator("input.select-page")).to_be_checked()
    note = "Switch sw-rack3 failed; replacing it, hosts are back in 20 minutes."
    panel.locator("input.bulk-note").fill(note)
    shot(page, "panel_selection")

    panel.locator("button.bulk-accept").click()
    expect(panel.locator(".bulk-result")).to_have_text("40 accepted")
    expect(rows.locator(".chip.status").filter(has_text="Accepted")).to_have_count(40)
    expect(panel.locator(".row input.select:checked")).to_have_count(0)
    expect(selection.locator(".count")).to_have_count(0)
    shot(page, "panel_selection_accepted")
    accepted = call_ws(
        page, {"type": "email_incidents/incidents/list", "search": "unreachable", "limit": 100}
    )["incidents"]
    assert sorted(incident["summary"] for incident in accepted) == hosts
    assert {(i["status"], i["accepted_by"]) for i in accepted} == {("accepted", "Admin")}
    detail = call_ws(
        page, {"type": "email_incidents/incidents/get", "incident_id": accepted[0]["id"]}
    )["incident"]
    assert [(e["kind"], e["text"], e["actor"]) for e in detail["log"][-2:]] == [
        ("accepted", "", "Admin"),
        ("note", note, "Admin"),
    ]

    # The timeline shows the note under the user's name.
    row(page, "Host node40 unreachable").click()
    timeline_note = panel.locator(".timeline li[data-kind='note']")
    expect(timeline_note).to_contain_text(note)
    expect(timeline_note).to_contain_text("Admin")
    panel.locator(".toolbar button.back").click()

    # A range: node40 clicked, node36 shift-clicked selects node40 to node36 (newest first).
    expect(panel.locator("input.search")).to_have_value("unreachable")  # the filters stay
    expect(rows).to_have_count(40)
    row(page, "Host node40 unreachable").locator("input.select").click()
    row(page, "Host node36 unreachable").locator("input.select").click(modifiers=["Shift"])
    expect(selection.locator(".count")).to_have_text("5 selected")
    selected = panel.locator(".row.selected")
    expect(selected).to_have_count(5)
    expect(selected.first).to_contain_text("node40")
    expect(selected.last).to_contain_text("node36")
    # Someone else resolves node38 meanwhile; it leaves the open incidents shown.
    node38 = incident_with_summary(page, "Host node38 unreachable")["id"]
    call_ws(
        page,
        {
            "type": "call_service",
            "domain": "email_incidents",
            "service": "resolve_incident",
            "service_data": {"incident_id": node38},
        },
    )
    expect(rows).to_have_count(39)
    expect(selection.locator(".count")).to_have_text("5 selected")
    panel.locator("button.bulk-resolve").click()
    expect(panel.locator(".bulk-result")).to_have_text(
        f"4 resolved, 1 failed: {node38} already resolved"
    )
    expect(rows).to_have_count(35)
    shot(page, "panel_selection_failed")
    for number in (40, 39, 37, 36):
        resolved = incident_with_summary(page, f"Host node{number} unreachable")
        assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "Admin")


def summary_link(incident_ids: list[str]) -> str:
    """The link of a notification summary of these incidents, as the escalation sends it."""
    summary = Summary(
        target="notify.mobile_app_anna_phone",
        incident_ids=tuple(incident_ids),
        by_source=(("Ping", len(incident_ids)),),
    )
    return str(summary_notification(summary, lambda *_, **__: "")["data"]["url"])


def test_a_notification_summary_opens_its_incidents(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """A rack loses power: twelve incidents. The escalation pushes the first three and sums up
    the other nine in one notification, whose link opens the panel with exactly those nine,
    under a chip that says so. Select all, one Accept with a note: the nine are accepted, the
    first three are left as they were. An incident opened from there leads back to the nine;
    the chip's button shows all incidents again (and the browser's back, the nine again)."""
    hosts = [f"Host rack3-srv{number:02d} does not answer" for number in range(1, 13)]
    for subject in hosts:
        send_email(home_assistant, PING, subject, "PING CRITICAL - 100% packet loss")
    send_email(home_assistant, NAS, "Scrub of pool tank finished without errors")
    storm = [incident_with_summary(page, subject)["id"] for subject in hosts]
    held = storm[3:]  # the first three were pushed one by one
    link = summary_link(held)
    assert link == f"/email-incidents?ids={','.join(held)}"

    page.goto(home_assistant.base_url + link)
    panel = page.locator(PANEL)
    chip = panel.locator(".ids-filter")
    expect(chip).to_have_text("9 incidents from a notification summary")
    rows = panel.locator(".row")
    expect(rows).to_have_count(9)
    for subject in hosts[3:]:
        expect(row(page, subject)).to_be_visible()
    for subject in [*hosts[:3], "Scrub of pool tank"]:
        expect(row(page, subject)).to_have_count(0)
    expect(panel.locator(".ids-ignored")).to_have_count(0)

    panel.locator("button.select-matching").click()
    selection = panel.locator(".selection")
    expect(selection.locator(".count")).to_have_text("9 selected")
    expect(panel.locator(".row input.select:checked")).to_have_count(9)
    note = "Rack 3 lost power; PDU replaced, servers are booting."
    panel.locator("input.bulk-note").fill(note)
    shot(page, "panel_summary")

    panel.locator("button.bulk-accept").click()
    expect(panel.locator(".bulk-result")).to_have_text("9 accepted")
    expect(rows.locator(".chip.status").filter(has_text="Accepted")).to_have_count(9)
    expect(chip).to_be_visible()  # the list still shows the summary's incidents
    for incident_id in storm:
        incident = call_ws(
            page, {"type": "email_incidents/incidents/get", "incident_id": incident_id}
        )["incident"]
        if incident_id in held:
            assert (incident["status"], incident["accepted_by"]) == ("accepted", "Admin")
            assert (incident["log"][-1]["kind"], incident["log"][-1]["text"]) == ("note", note)
        else:
            assert incident["status"] == "pending"

    # One of them opened and back: the list is still the summary's.
    row(page, hosts[5]).click()
    page.wait_for_url(f"**/email-incidents/{held[2]}")
    panel.locator(".toolbar button.back").click()
    page.wait_for_url(f"**{link}")
    expect(chip).to_have_text("9 incidents from a notification summary")
    expect(rows).to_have_count(9)

    # The chip's button shows all incidents again; the browser's back, the summary's again.
    panel.locator(".ids-filter button.remove-ids").click()
    expect(chip).to_have_count(0)
    page.wait_for_url(f"{home_assistant.base_url}/email-incidents")
    for subject in [*hosts[:3], "Scrub of pool tank"]:
        expect(row(page, subject)).to_be_visible()
    expect(row(page, hosts[0]).locator(".chip.status")).to_have_text("Pending")
    page.go_back()
    expect(chip).to_have_text("9 incidents from a notification summary")
    expect(rows).to_have_count(9)

    # A link with something else than incident ids: those are left out, and it says so.
    page.goto(f"{home_assistant.base_url}{link},INC-x,<b>1</b>")
    expect(chip).to_have_text("9 incidents from a notification summary")
    expect(panel.locator(".ids-ignored")).to_have_text(
        "Left out of the link: 2 (not an incident id, or more than 500)"
    )
    expect(rows).to_have_count(9)
