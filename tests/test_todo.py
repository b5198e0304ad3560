"""The incidents to-do list: open incidents as items; checking one off resolves it."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from homeassistant.components.todo import DOMAIN as TODO_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from syrupy.assertion import SnapshotAssertion

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import Actor, ActorKind, IncidentStatus

from .entity_helpers import (
    FROZEN_TIME,
    SendEmail,
    assert_entities_match_snapshot,
    deliver,
    only_platform,
    wait_for_burst_writes,
)

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

TODO = "todo.nas_incidents"


@pytest.fixture(autouse=True)
def todo_only() -> Generator[None]:
    with only_platform(Platform.TODO):
        yield


async def _items(hass: HomeAssistant) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        TODO_DOMAIN, "get_items", {ATTR_ENTITY_ID: TODO}, blocking=True, return_response=True
    )
    items: list[dict[str, Any]] = response[TODO]["items"]  # type: ignore[index, call-overload, assignment]
    return items


async def _update(hass: HomeAssistant, context: Context | None = None, **data: Any) -> None:
    await hass.services.async_call(
        TODO_DOMAIN, "update_item", {ATTR_ENTITY_ID: TODO, **data}, blocking=True, context=context
    )
    await hass.async_block_till_done()


async def test_entities(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    snapshot: SnapshotAssertion,
) -> None:
    await deliver(hass, send_email)
    assert_entities_match_snapshot(hass, snapshot, setup_integration.entry_id)


@pytest.mark.usefixtures("setup_integration")
async def test_open_incidents_are_items(hass: HomeAssistant, send_email: SendEmail) -> None:
    await deliver(hass, send_email, subject="Fan failure")
    await deliver(
        hass,
        send_email,
        subject="Fan failure",
        sender="fan@example.com",
        body="The fan stopped.\n\nRack 2, slot 4.",
    )
    await hass.services.async_call(
        DOMAIN,
        "create_incident",
        {"source": "source_nas", "summary": "Check the UPS", "key": "ups"},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN, "accept_incident", {"incident_id": "INC-2"}, blocking=True
    )
    # The second e-mail's write may still be deferred in its burst; its body is read after it.
    await wait_for_burst_writes(hass)
    assert hass.states.get(TODO).state == "2"
    assert await _items(hass) == [
        {
            "uid": "INC-2",
            "summary": "INC-2 · Check the UPS",
            "status": "needs_action",
            "description": "Status: Accepted\nKey: ups\nOpened: 2026-11-26 02:00\n"
            "Accepted: 2026-11-26 02:00 by accept_incident\nE-mails: 0\n"
            "Open: /email-incidents/INC-2",
        },
        {
            "uid": "INC-1",
            "summary": "INC-1 · Fan failure",
            "status": "needs_action",
            "description": "Status: Pending\nOpened: 2026-11-26 02:00\n"
            "Last e-mail: 2026-11-26 02:00\nE-mails: 2\nLatest e-mail:\n"
            "The fan stopped.\nRack 2, slot 4.\nOpen: /email-incidents/INC-1",
        },
    ]


@pytest.mark.usefixtures("setup_integration")
async def test_check_off_resolves_as_the_user(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_admin_user: MockUser,
) -> None:
    await deliver(hass, send_email)
    await _update(hass, Context(user_id=hass_admin_user.id), item="INC-1", status="completed")
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.resolved_by == Actor(kind=ActorKind.USER, name="Mock User")
    assert await _items(hass) == []
    assert hass.states.get(TODO).state == "0"


@pytest.mark.usefixtures("setup_integration")
async def test_check_off_without_a_user(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    await deliver(hass, send_email)
    await _update(hass, item="INC-1 · Disk failure on volume 1", status="completed")
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    assert incident.resolved_by == Actor(kind=ActorKind.USER, name="to-do list")


@pytest.mark.usefixtures("setup_integration")
async def test_renaming_is_refused(hass: HomeAssistant, send_email: SendEmail) -> None:
    await deliver(hass, send_email)
    with pytest.raises(ServiceValidationError) as refused:
        await _update(hass, item="INC-1", rename="Something else")
    assert (refused.value.translation_domain, refused.value.translation_key) == (
        DOMAIN,
        "todo_only_check_off",
    )
    assert len(await _items(hass)) == 1


@pytest.mark.parametrize(
    ("service", "data"), [("add_item", {"item": "New"}), ("remove_item", {"item": ["INC-1"]})]
)
@pytest.mark.usefixtures("setup_integration")
async def test_adding_and_removing_are_not_offered(
    hass: HomeAssistant, send_email: SendEmail, service: str, data: dict[str, Any]
) -> None:
    await deliver(hass, send_email)
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            TODO_DOMAIN, service, {ATTR_ENTITY_ID: TODO, **data}, blocking=True
        )
    assert refused.value.translation_key == "service_not_supported"
    assert len(await _items(hass)) == 1


@pytest.mark.usefixtures("setup_integration")
async def test_renaming_while_checking_off_is_refused(
    hass: HomeAssistant, send_email: SendEmail
) -> None:
    await deliver(hass, send_email)
    with pytest.raises(ServiceValidationError) as refused:
        await _update(hass, item="INC-1", rename="Something else", status="completed")
    assert refused.value.translation_key == "todo_only_check_off"
    assert len(await _items(hass)) == 1
