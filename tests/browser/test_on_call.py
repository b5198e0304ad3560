"""Rotations in a real Home Assistant and headless Debian Chromium.

Two people, Anna and Ben, are users with a person each and a phone of the companion app each
(registered as the app registers, so their notify actions exist). A rotation of the two is
added through its form: the members are picked from the persons, each one's phone is suggested.
The Incidents panel shows who is on call above the list and in its On call view; an override
made there (by the administrator, and by Anna, who is no administrator) shows at once, and so
does the end of one made elsewhere. Screenshots go to tests/browser/output/ (those in
docs/images/ are copied from there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import re
import time
from typing import Any

import aiohttp
import pytest

from tests.browser.harness import (
    UI_TIMEOUT_MS,
    HomeAssistantProcess,
    login,
    run_home_assistant,
    shot,
)
from tests.browser.test_ui import (
    assert_readable,
    expect_readable_step,
    expect_step,
    field,
    finish_flow,
    flow_dialog,
    open_integration,
    start_subentry_flow,
)
from tests.real_home_assistant import ha_config

from playwright.sync_api import Page, expect  # isort: skip  (after the harness's skip checks)

pytestmark = pytest.mark.enable_socket

PANEL = "email-incidents-panel"
SENSOR = "sensor.ops_on_call"
PEOPLE = ("Anna", "Ben")
# The companion app's registrations need its integration loaded.
CONFIGURATION = ha_config.WEB_CONFIGURATION + "mobile_app:\n"


def password(name: str) -> str:
    return f"{name.lower()}-password-123"


def phone(name: str) -> str:
    """The notify action the companion app registers for the person's phone."""
    return f"notify.mobile_app_{name.lower()}_s_phone"


async def websocket_calls(hass: HomeAssistantProcess, messages: list[dict[str, Any]]) -> list[Any]:
    """Websocket commands as the onboarded administrator; their results."""
    url = hass.base_url.replace("http://", "ws://", 1) + "/api/websocket"
    results = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as websocket:
        await websocket.receive_json()  # auth_required
        await websocket.send_json({"type": "auth", "access_token": hass.token})
        assert (await websocket.receive_json())["type"] == "auth_ok"
        for number, message in enumerate(messages, 1):
            await websocket.send_json({"id": number, **message})
            reply = await websocket.receive_json()
            assert reply["success"], reply
            results.append(reply["result"])
    return results


def as_user(hass: HomeAssistantProcess, username: str, secret: str) -> HomeAssistantProcess:
    """The same Home Assistant with a user's own access token, from the login flow's API."""
    client_id = hass.base_url + "/"
    flow = hass.request(
        "POST",
        "/auth/login_flow",
        json_body={
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id + "?auth_callback=1",
        },
        auth=False,
    )
    logged_in = hass.request(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        json_body={"client_id": client_id, "username": username, "password": secret},
        auth=False,
    )
    return HomeAssistantProcess(
        hass.base_url, hass.smtp_port, hass.config_dir, hass.access_token(logged_in["result"])
    )


def add_people(hass: HomeAssistantProcess) -> None:
    """Anna and Ben: users without administrator rights, a person each, and a phone each,
    registered by the companion app as its user (which gives the phone's notify action)."""
    for name in PEOPLE:
        username = name.lower()
        (created,) = asyncio.run(
            websocket_calls(
                hass, [{"type": "config/auth/create", "name": name, "group_ids": ["system-users"]}]
            )
        )
        user_id = created["user"]["id"]
        asyncio.run(
            websocket_calls(
                hass,
                [
                    {
                        "type": "config/auth_provider/homeassistant/create",
                        "user_id": user_id,
                        "username": username,
                        "password": password(name),
                    },
                    {"type": "person/create", "name": name, "user_id": user_id},
                ],
            )
        )
        as_user(hass, username, password(name)).request(
            "POST",
            "/api/mobile_app/registrations",
            json_body={
                "app_id": "io.robbie.HomeAssistant",
                "app_name": "Home Assistant",
                "app_version": "2025.1",
                "device_id": f"{username}-phone",
                "device_name": f"{name}'s Phone",
                "manufacturer": "Apple",
                "model": "iPhone15,2",
                "os_name": "iOS",
                "os_version": "17.5",
                "supports_encryption": False,
                "app_data": {
                    "push_token": f"push-token-{username}",
                    "push_url": "https://mobile-apps.home-assistant.io/api/sendPushNotification",
                },
            },
        )
    services = hass.request("GET", "/api/services")
    notify = next(domain["services"] for domain in services if domain["domain"] == "notify")
    assert {phone(name).removeprefix("notify.") for name in PEOPLE} <= set(notify), notify


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantProcess]:
    source = {"name": "NAS", "addresses": ["nas"], "creation_mode": "per_subject"}
    processes = run_home_assistant(
        tmp_path_factory, [source], "on-call", configuration=CONFIGURATION
    )
    try:
        hass = next(processes)
        add_people(hass)
        yield hass
    finally:
        processes.close()  # stops Home Assistant


def next_monday_nine() -> datetime:
    """The first handover a new rotation suggests: next Monday 09:00 (the tests' Home Assistant
    runs in UTC)."""
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday())


def add_rotation_over_the_api(hass: HomeAssistantProcess) -> None:
    """The rotation the first test adds through the form, when this test runs alone."""
    (entry,) = hass.request("GET", "/api/config/config_entries/entry?domain=email_incidents")
    base = "/api/config/config_entries/subentries/flow"
    step = hass.request("POST", base, json_body={"handler": [entry["entry_id"], "rotation"]})
    first = next_monday_nine().replace(tzinfo=None).isoformat(sep=" ")
    answers: list[dict[str, Any]] = [
        {
            "name": "Ops",
            "members": [f"person.{name.lower()}" for name in PEOPLE],
            "shift_length": 1,
            "shift_unit": "weeks",
            "first_handover": first,
        },
        *({"targets": [phone(name)]} for name in PEOPLE),
    ]
    for answer in answers:
        step = hass.request("POST", f"{base}/{step['flow_id']}", json_body=answer)
    assert step["type"] == "create_entry", step


def on_call(hass: HomeAssistantProcess) -> tuple[str, dict[str, Any]]:
    """The on-call sensor's state and attributes."""
    state = hass.request("GET", f"/api/states/{SENSOR}")
    return str(state["state"]), dict(state["attributes"])


def wait_for_on_call(hass: HomeAssistantProcess, **wanted: Any) -> dict[str, Any]:
    """The on-call sensor's attributes once it names someone and they hold these values."""
    deadline = time.monotonic() + 30
    attributes: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if hass.state(SENSOR) in PEOPLE:
            attributes = on_call(hass)[1]
            if all(attributes.get(key) == value for key, value in wanted.items()):
                return attributes
        time.sleep(0.3)
    raise AssertionError(f"{SENSOR} has {attributes}, not {wanted}")


def shown(iso: str) -> re.Pattern[str]:
    """A moment as the panel shows it in English: "Dec 14, 2026, 9:00 AM" (UTC). Newer
    Chromium puts a narrow no-break space before AM."""
    moment = datetime.fromisoformat(iso).astimezone(UTC)
    hour = moment.hour % 12 or 12
    noon = "AM" if moment.hour < 12 else "PM"
    return re.compile(
        rf"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M}\s{noon}", re.UNICODE
    )


def pick_person(dialog: Any, name: str) -> None:
    """Pick a person in the members field. 2025.4 shows an empty entity picker (a combo box)
    under those picked: type the name, choose the person. 2026.10 opens a list with a search
    field from its first picker, then from an "Add entity" button: type, choose."""
    page = dialog.page
    combo = dialog.get_by_role("combobox", name=re.compile(r"^Entity"))
    expect(combo.or_(dialog.locator("ha-entity-picker")).first).to_be_visible()
    if combo.count():
        combo.last.click()
        combo.last.fill(name)
        page.get_by_role("option").filter(has_text=f"person.{name.lower()}").first.click()
    else:
        add = dialog.get_by_role("button", name="Add entity")
        (add if add.count() else dialog.locator("ha-entity-picker").last).click()
        # Filled, not typed: a key pressed outside a field opens Assist ("a") and the like.
        page.locator("ha-picker-combo-box input").fill(name)
        items = page.locator("ha-picker-combo-box ha-combo-box-item")
        items.filter(has_text=name).filter(visible=True).first.click()
        expect(dialog.locator("ha-entity-picker").filter(has_text=name)).to_have_count(1)
        expect(add).to_be_visible()  # where the next one is added


def test_add_a_rotation_through_the_ui(page: Page, home_assistant: HomeAssistantProcess) -> None:
    """Add rotation > name, Anna and Ben from the persons, weekly from next Monday 09:00 (the
    form's suggestion) > each one's phone, suggested from the companion app > the on-call
    sensor names whoever the schedule names now."""
    open_integration(page, home_assistant)
    start_subentry_flow(page, "rotation")
    dialog = flow_dialog(page)
    expect_readable_step(page, dialog, "Rotation")
    field(dialog, "Name").fill("Ops")
    for name in PEOPLE:
        pick_person(dialog, name)
    # The whole form in one picture for the README: a viewport tall enough for the dialog.
    page.set_viewport_size({"width": 1280, "height": 1040})
    try:
        expect(dialog.get_by_role("button", name="Submit")).to_be_in_viewport()
        shot(page, "rotation_form")
    finally:
        page.set_viewport_size({"width": 1280, "height": 860})
    dialog.get_by_role("button", name="Submit").click()

    for name in PEOPLE:
        expect_step(dialog, f"How to reach {name}")
        expect(dialog.get_by_text(phone(name), exact=False).first).to_be_visible()
        assert_readable(page)
        if name == "Anna":
            shot(page, "rotation_member")
        dialog.get_by_role("button", name="Submit").click()
    finish_flow(page, dialog)

    wait_for_on_call(home_assistant)
    name, attributes = on_call(home_assistant)
    # Before the first handover the order runs backwards, a week at a time.
    first = next_monday_nine()
    assert datetime.fromisoformat(attributes["until"]) <= first
    assert (datetime.fromisoformat(attributes["until"]) - first) % timedelta(weeks=1) == timedelta()
    assert {name, attributes["next"]} == set(PEOPLE)
    assert attributes["overridden"] is False


def open_on_call(page: Page, hass: HomeAssistantProcess) -> Any:
    """The panel's On call view, from the strip above the list; its card of the rotation."""
    page.goto(f"{hass.base_url}/email-incidents")
    strip = page.locator(f"{PANEL} .on-call-strip")
    expect(strip).to_contain_text("On call")
    strip.click()
    page.wait_for_url("**/email-incidents/on-call")
    expect(page.locator(f"{PANEL} .toolbar .title")).to_have_text("On call")
    return page.locator(f"{PANEL} .rotation").filter(has_text="Ops")


def expect_on_call(card: Any, person: str, until: str, *, overridden: bool) -> None:
    expect(card.locator("dd.person")).to_have_text(person)
    expect(card.locator("dd.until")).to_contain_text(shown(until))
    expect(card.locator(".chip.overridden")).to_have_count(1 if overridden else 0)
    expect(card.locator("button.end-override")).to_have_count(1 if overridden else 0)


def test_who_is_on_call_in_the_panel_and_overrides(
    page: Page, home_assistant: HomeAssistantProcess
) -> None:
    """The strip above the list and the On call view say who is on call until when and who is
    next. The administrator puts the next one on call for two hours there; its end, made
    elsewhere, shows at once. Anna, no administrator, puts Ben on call until tomorrow 18:30,
    then the next one until the end of the shift (the form's default), goes back to the
    schedule, and is told when an end has passed."""
    if home_assistant.state(SENSOR) is None:  # run alone
        add_rotation_over_the_api(home_assistant)
    wait_for_on_call(home_assistant, overridden=False)
    scheduled, attributes = on_call(home_assistant)
    following = attributes["next"]
    shift_end = attributes["until"]

    page.goto(f"{home_assistant.base_url}/email-incidents")
    strip = page.locator(f"{PANEL} .on-call-strip")
    expect(strip.locator(".on-call-entry")).to_contain_text(f"Ops: {scheduled} until ")
    expect(strip.locator(".on-call-entry")).to_contain_text(shown(shift_end))
    card = open_on_call(page, home_assistant)
    expect_on_call(card, scheduled, shift_end, overridden=False)
    expect(card.locator("dd.next")).to_have_text(following)
    expect(card.locator("dd.shift")).to_have_text("1 week")
    expect(card.locator("dd.members")).to_have_text("Anna, Ben")

    # Override: the next one (the form's choice), for two hours.
    card.locator("button.override").click()
    form = card.locator(".override-form")
    expect(form.locator("select.override-member")).to_have_value(f"person.{following.lower()}")
    expect(form.locator("select.override-end")).to_have_value("shift")
    expect(form.locator("select.override-end")).to_contain_text(shown(shift_end))
    form.locator("select.override-end").select_option("duration")
    form.locator("select.override-duration").select_option(label="2 hours")
    shot(page, "panel_override")
    form.locator("button.confirm-override").click()
    attributes = wait_for_on_call(home_assistant, overridden=True)
    assert attributes["person"] == f"person.{following.lower()}"
    expect_on_call(card, following, attributes["until"], overridden=True)
    expect(form).to_have_count(0)
    until = datetime.fromisoformat(attributes["until"])
    assert abs(until - datetime.now(UTC) - timedelta(hours=2)) < timedelta(minutes=1)
    expect(card.locator("dd.next")).to_have_text(attributes["next"])
    shot(page, "panel_on_call")

    # Back to the schedule from elsewhere: the panel follows the sensor.
    home_assistant.request(
        "POST", "/api/services/email_incidents/end_on_call_override", json_body={"rotation": "Ops"}
    )
    expect_on_call(card, scheduled, shift_end, overridden=False)
    page.locator(f"{PANEL} .toolbar button.back").click()
    page.wait_for_url(f"{home_assistant.base_url}/email-incidents")
    expect(strip.locator(".chip.overridden")).to_have_count(0)

    # Anna, who is no administrator, in a browser of her own.
    assert page.context.browser
    context = page.context.browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="en-US"
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        anna = context.new_page()
        login(anna, home_assistant, "anna", password("Anna"))
        assert anna.evaluate("document.querySelector('home-assistant').hass.user.is_admin") is False
        card = open_on_call(anna, home_assistant)
        expect_on_call(card, scheduled, shift_end, overridden=False)

        # Ben until tomorrow 18:30, Home Assistant's time (UTC here).
        card.locator("button.override").click()
        form = card.locator(".override-form")
        form.locator("select.override-member").select_option(label="Ben")
        form.locator("select.override-end").select_option("until")
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=18, minute=30, second=0, microsecond=0
        )
        form.locator("input.override-until").fill(f"{tomorrow:%Y-%m-%dT%H:%M}")
        form.locator("button.confirm-override").click()
        attributes = wait_for_on_call(home_assistant, until=tomorrow.isoformat())
        assert (attributes["person"], attributes["overridden"]) == ("person.ben", True)
        expect_on_call(card, "Ben", tomorrow.isoformat(), overridden=True)

        # The next one until the end of the shift running now: the form as it opens.
        card.locator("button.override").click()
        form.locator("select.override-member").select_option(label=following)
        form.locator("button.confirm-override").click()
        attributes = wait_for_on_call(home_assistant, until=shift_end)
        assert (attributes["person"], attributes["overridden"]) == (
            f"person.{following.lower()}",
            True,
        )
        expect_on_call(card, following, shift_end, overridden=True)

        card.locator("button.end-override").click()
        wait_for_on_call(home_assistant, overridden=False)
        expect_on_call(card, scheduled, shift_end, overridden=False)

        # An end that has passed is refused with the action's words; the form stays.
        card.locator("button.override").click()
        form.locator("select.override-end").select_option("until")
        yesterday = datetime.now(UTC) - timedelta(days=1)
        form.locator("input.override-until").fill(f"{yesterday:%Y-%m-%dT%H:%M}")
        form.locator("button.confirm-override").click()
        expect(anna.locator(f"{PANEL} .message")).to_contain_text("has passed")
        expect(form).to_be_visible()
        assert on_call(home_assistant)[1]["overridden"] is False
    finally:
        context.close()
