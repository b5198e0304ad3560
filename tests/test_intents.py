"""Assist intents in a real Home Assistant: what is open, accept and resolve by number or key,
asked through the intent API, the built-in conversation agent with the shipped sentences (English
and German) and the Assist API that LLM-based agents use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import importlib.util
from pathlib import Path
import re
import shutil
from typing import Any

from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent, llm
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import Actor, ActorKind, IncidentStatus
from custom_components.email_incidents.intents import (
    INTENT_ACCEPT,
    INTENT_ON_CALL,
    INTENT_OPEN,
    INTENT_RESOLVE,
    AcceptIncidentIntentHandler,
    OnCallIntentHandler,
    OpenIncidentsIntentHandler,
    ResolveIncidentIntentHandler,
)

from .conftest import TWO_SOURCES, FailingDisk, add_people, rotation_subentry
from .entity_helpers import FROZEN_TIME, SendEmail, deliver

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)

REPO_ROOT = Path(__file__).parent.parent
SENTENCES = REPO_ROOT / "custom_components" / DOMAIN / "custom_sentences"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """The NAS and the router."""
    return TWO_SOURCES


@pytest.fixture
async def anna(hass: HomeAssistant) -> User:
    """A Home Assistant user who speaks to Assist."""
    return await hass.auth.async_create_user("Anna")


async def _ask(
    hass: HomeAssistant,
    intent_type: str,
    context: Context | None = None,
    language: str = "en",
    **slots: Any,
) -> intent.IntentResponse:
    response = await intent.async_handle(
        hass,
        "test",
        intent_type,
        {name: {"value": value} for name, value in slots.items()},
        context=context,
        language=language,
    )
    await hass.async_block_till_done()
    return response


def _speech(response: intent.IntentResponse) -> str:
    speech: str = response.speech["plain"]["speech"]
    return speech


def _failed(response: intent.IntentResponse) -> str:
    """The spoken error of a response that is one."""
    assert response.response_type is intent.IntentResponseType.ERROR
    return _speech(response)


async def _create(hass: HomeAssistant, source: str, summary: str, key: str) -> None:
    await hass.services.async_call(
        DOMAIN, "create_incident", {"source": source, "summary": summary, "key": key}, blocking=True
    )


async def _two_open(hass: HomeAssistant, send_email: SendEmail, freezer: Any, anna: User) -> None:
    """INC-1 on the NAS, pending for 5 minutes; INC-2 on the router, accepted by Anna."""
    await deliver(hass, send_email, subject="NAS disk full.")
    freezer.tick(timedelta(minutes=5))
    await deliver(hass, send_email, subject="UPS on battery", to="router@homeassistant.local")
    await _ask(hass, INTENT_ACCEPT, Context(user_id=anna.id), number=2)


async def test_what_is_open(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    freezer: Any,
    anna: User,
) -> None:
    response = await _ask(hass, INTENT_OPEN)
    assert response.response_type is intent.IntentResponseType.QUERY_ANSWER
    assert _speech(response) == "No open incidents."
    await _two_open(hass, send_email, freezer, anna)

    response = await _ask(hass, INTENT_OPEN)
    assert _speech(response) == (
        "2 open: number 2, UPS on battery, accepted by Anna; "
        "number 1, NAS disk full, pending for 5 minutes."
    )
    # The same as data, for an LLM.
    slots = response.speech_slots
    assert (slots["count"], slots["source"], slots["not_named"]) == (2, None, 0)
    assert [
        (item["number"], item["incident_id"], item["source_name"], item["status"])
        for item in slots["incidents"]
    ] == [(2, "INC-2", "Router", "accepted"), (1, "INC-1", "NAS", "pending")]
    assert slots["incidents"][0]["accepted_by"] == "Anna"

    response = await _ask(hass, INTENT_OPEN, source="nas")  # any case
    assert _speech(response) == "1 open for NAS: number 1, NAS disk full, pending for 5 minutes."
    assert response.speech_slots["source"] == "NAS"

    await _ask(hass, INTENT_RESOLVE, number=2)
    response = await _ask(hass, INTENT_OPEN, source="Router")
    assert _speech(response) == "No open incidents for Router."
    response = await _ask(hass, INTENT_OPEN, source="Printer")
    assert _failed(response) == "There is no alert source Printer."
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS


async def test_the_five_newest_are_named_the_others_counted(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    for number in range(1, 9):
        await _create(hass, "NAS", f"Disk {number} failed", key=f"disk{number}")
    response = await _ask(hass, INTENT_OPEN)
    assert _speech(response) == (
        "8 open: number 8, Disk 8 failed, pending for less than a minute; "
        "number 7, Disk 7 failed, pending for less than a minute; "
        "number 6, Disk 6 failed, pending for less than a minute; "
        "number 5, Disk 5 failed, pending for less than a minute; "
        "number 4, Disk 4 failed, pending for less than a minute; and 3 more."
    )
    assert [item["number"] for item in response.speech_slots["incidents"]] == [8, 7, 6, 5, 4]
    assert response.speech_slots["not_named"] == 3


async def test_accept_as_the_speaking_user_is_stored_and_announced(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    anna: User,
) -> None:
    await deliver(hass, send_email, subject="NAS disk full")
    accepted = async_capture_events(hass, f"{DOMAIN}_incident_accepted")
    response = await _ask(hass, INTENT_ACCEPT, Context(user_id=anna.id), number=1)
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert _speech(response) == "Accepted incident 1, NAS disk full."
    assert [item["incident_id"] for item in response.speech_slots["incidents"]] == ["INC-1"]
    assert [(event.data["incident_id"], event.data["accepted_by"]) for event in accepted] == [
        ("INC-1", "Anna")
    ]

    # Stored: a restart of the integration reads it back.
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    assert incident.status is IncidentStatus.ACCEPTED
    assert incident.accepted_by == Actor(kind=ActorKind.USER, name="Anna")


async def test_without_a_user_assist_acts(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    await _create(hass, "NAS", "Fan failed", key="fan")
    await _ask(hass, INTENT_RESOLVE, number=1)
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    assert incident.resolved_by == Actor(kind=ActorKind.ACTION, name="Assist")


async def test_refusals_are_answered_in_words(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    response = await _ask(hass, INTENT_ACCEPT, number=42)
    assert _failed(response) == "There is no incident 42."
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    await _create(hass, "NAS", "Fan failed", key="fan")
    await _ask(hass, INTENT_ACCEPT, number=1)
    response = await _ask(hass, INTENT_ACCEPT, number=1)
    assert _failed(response) == "Incident 1 is already accepted."
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert _speech(await _ask(hass, INTENT_RESOLVE, number=1)) == "Resolved incident 1, Fan failed."
    for intent_type in (INTENT_ACCEPT, INTENT_RESOLVE):
        response = await _ask(hass, intent_type, number=1)
        assert _failed(response) == "Incident 1 is already resolved."
    assert _failed(await _ask(hass, INTENT_RESOLVE)) == "Say the number of the incident or its key."
    response = await _ask(hass, INTENT_RESOLVE, language="de", number=7)
    assert _failed(response) == "Es gibt keinen Vorfall 7."

    with pytest.raises(intent.InvalidSlotInfo):
        await _ask(hass, INTENT_ACCEPT, number="seven")

    await hass.config_entries.async_unload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert _failed(await _ask(hass, INTENT_OPEN)) == "Email Incidents is not loaded."


async def test_a_change_that_cannot_be_stored_is_said_and_not_made(
    hass: HomeAssistant, setup_integration: MockConfigEntry, failing_disk: FailingDisk
) -> None:
    await _create(hass, "NAS", "Water leak", key="leak")
    failing_disk.failing = True
    response = await _ask(hass, INTENT_ACCEPT, number=1)
    assert _failed(response) == "The change could not be saved."
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    assert incident.status is IncidentStatus.PENDING


async def test_accept_and_resolve_by_key(
    hass: HomeAssistant, setup_integration: MockConfigEntry, anna: User
) -> None:
    await _create(hass, "NAS", "UPS on battery", key="ups-1")
    await _create(hass, "NAS", "UPS on battery again", key="ups-1")
    await _create(hass, "Router", "UPS on battery", key="ups-1")
    await _create(hass, "Router", "Link down", key="wan")

    # Said as heard: case and punctuation do not matter.
    response = await _ask(hass, INTENT_ACCEPT, Context(user_id=anna.id), key="WAN")
    assert _speech(response) == "Accepted incident 4, Link down."
    response = await _ask(hass, INTENT_ACCEPT, key="wan")
    assert _failed(response) == "Incident 4 is already accepted."

    response = await _ask(hass, INTENT_RESOLVE, key="ups 1")
    assert _failed(response) == (
        "The key ups 1 is open at more than one source (Router, NAS): say which one."
    )
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    response = await _ask(hass, INTENT_RESOLVE, Context(user_id=anna.id), key="ups 1", source="NAS")
    assert _speech(response) == "Resolved 2 incidents with the key ups 1."
    resolved = [item["incident_id"] for item in response.speech_slots["incidents"]]
    assert resolved == ["INC-2", "INC-1"]
    engine = setup_integration.runtime_data.engine
    assert {incident.id: incident.status for incident in engine.incidents()} == {
        "INC-1": IncidentStatus.RESOLVED,
        "INC-2": IncidentStatus.RESOLVED,
        "INC-3": IncidentStatus.PENDING,
        "INC-4": IncidentStatus.ACCEPTED,
    }
    incident = engine.get("INC-1")
    assert incident is not None
    assert incident.resolved_by == Actor(kind=ActorKind.USER, name="Anna")

    response = await _ask(hass, INTENT_RESOLVE, key="ups 1", source="NAS")
    assert _failed(response) == "NAS has no open incident with the key ups 1."
    response = await _ask(hass, INTENT_RESOLVE, key="fan")
    assert _failed(response) == "No open incident has the key fan."
    response = await _ask(hass, INTENT_ACCEPT, language="de", key="ups1", source="Drucker")
    assert _failed(response) == "Es gibt keine Alarmquelle Drucker."


async def test_intent_handle_http_api(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_client: ClientSessionGenerator,
    anna: User,
) -> None:
    """/api/intent/handle of the intent component, as Anna."""
    assert await async_setup_component(hass, "intent", {})
    refresh_token = await hass.auth.async_create_refresh_token(anna, "client")
    client = await hass_client(hass.auth.async_create_access_token(refresh_token))

    async def handle(name: str, **data: Any) -> dict[str, Any]:
        response = await client.post("/api/intent/handle", json={"name": name, "data": data})
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result

    await deliver(hass, send_email, subject="NAS disk full")
    result = await handle(INTENT_OPEN)
    assert result["speech"]["plain"]["speech"] == (
        "1 open: number 1, NAS disk full, pending for less than a minute."
    )
    assert result["response_type"] == "query_answer"
    assert result["speech_slots"]["incidents"][0]["incident_id"] == "INC-1"

    result = await handle(INTENT_ACCEPT, number=1)
    assert result["speech"]["plain"]["speech"] == "Accepted incident 1, NAS disk full."
    incident = setup_integration.runtime_data.engine.get("INC-1")
    assert incident is not None
    assert incident.accepted_by == Actor(kind=ActorKind.USER, name="Anna")

    result = await handle(INTENT_RESOLVE, number=42)
    assert result["response_type"] == "error"
    assert result["speech"]["plain"]["speech"] == "There is no incident 42."


@pytest.fixture
async def conversation(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    """The built-in agent with the shipped sentences where users put them."""
    for language in ("en", "de"):
        target = Path(hass.config.path("custom_sentences", language))
        target.mkdir(parents=True)
        shutil.copy(SENTENCES / language / "email_incidents.yaml", target)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def _speaker(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, user: User
) -> Callable[..., Awaitable[str]]:
    """Says a sentence to the built-in agent as `user` (conversation/process); its answer."""
    refresh_token = await hass.auth.async_create_refresh_token(user, "client")
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh_token))

    async def say(text: str, language: str = "en") -> str:
        await client.send_json_auto_id(
            {"type": "conversation/process", "text": text, "language": language}
        )
        message = await client.receive_json()
        assert message["success"], message
        await hass.async_block_till_done()
        speech: str = message["result"]["response"]["speech"]["plain"]["speech"]
        return speech

    return say


@pytest.mark.usefixtures("conversation")
async def test_the_built_in_agent_with_the_shipped_sentences(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    hass_ws_client: WebSocketGenerator,
    freezer: Any,
    anna: User,
) -> None:
    say = await _speaker(hass, hass_ws_client, anna)

    assert await say("what incidents are open") == "No open incidents."
    assert await say("welche Vorfälle sind offen", "de") == "Keine offenen Vorfälle."
    await deliver(hass, send_email, subject="NAS disk full")
    freezer.tick(timedelta(minutes=5))
    await deliver(hass, send_email, subject="UPS on battery", to="router@homeassistant.local")
    await _create(hass, "Router", "Link down", key="wan")

    assert await say("accept incident 2") == "Accepted incident 2, UPS on battery."
    assert await say("what incidents are open") == (
        "3 open: number 3, Link down, pending for less than a minute; "
        "number 2, UPS on battery, accepted by Anna; "
        "number 1, NAS disk full, pending for 5 minutes."
    )
    assert await say("any open incidents on NAS") == (
        "1 open for NAS: number 1, NAS disk full, pending for 5 minutes."
    )
    assert await say("gibt es offene Vorfälle bei NAS", "de") == (
        "1 offen bei NAS: Nummer 1, NAS disk full, ausstehend seit 5 Minuten."
    )
    assert await say("accept incident 42") == "There is no incident 42."
    assert await say("nimm Vorfall 1 an", "de") == "Vorfall 1 angenommen, NAS disk full."
    assert await say("resolve the incident on Router with the key wan") == (
        "Resolved incident 3, Link down."
    )
    assert await say("Vorfall 2 beheben", "de") == "Vorfall 2 behoben, UPS on battery."
    await _create(hass, "NAS", "Fan failed", key="fan-1")
    assert await say("nimm den Vorfall bei NAS mit dem Schlüssel fan 1 an", "de") == (
        "Vorfall 4 angenommen, Fan failed."
    )
    assert await say("close the incident with the key fan 1") == "Resolved incident 4, Fan failed."
    assert await say("close incident number 2") == "Incident 2 is already resolved."
    assert await say("welche Vorfälle sind bei Router offen", "de") == (
        "Keine offenen Vorfälle bei Router."
    )

    engine = setup_integration.runtime_data.engine
    assert [
        (incident.id, incident.status, incident.accepted_by, incident.resolved_by)
        for incident in engine.incidents()
    ] == [
        (
            "INC-4",
            IncidentStatus.RESOLVED,
            Actor(kind=ActorKind.USER, name="Anna"),
            Actor(kind=ActorKind.USER, name="Anna"),
        ),
        ("INC-3", IncidentStatus.RESOLVED, None, Actor(kind=ActorKind.USER, name="Anna")),
        (
            "INC-2",
            IncidentStatus.RESOLVED,
            Actor(kind=ActorKind.USER, name="Anna"),
            Actor(kind=ActorKind.USER, name="Anna"),
        ),
        ("INC-1", IncidentStatus.ACCEPTED, Actor(kind=ActorKind.USER, name="Anna"), None),
    ]


# Thursday 26 November 2026, 02:00 in Los Angeles (the test Home Assistant's time zone): the
# weekly rotation handed over to Anna on Monday at 09:00 and hands over to Ben next Monday.
WEEKLY_OPS = rotation_subentry(first_handover="2026-11-23 09:00:00", shift_unit="weeks")


@pytest.mark.parametrize("subentries", [[*TWO_SOURCES, WEEKLY_OPS]])
@pytest.mark.usefixtures("conversation")
async def test_who_is_on_call(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    anna: User,
) -> None:
    add_people(hass)
    response = await _ask(hass, INTENT_ON_CALL)
    assert response.response_type is intent.IntentResponseType.QUERY_ANSWER
    assert _speech(response) == "Anna is on call for Ops until Monday 09:00, then Ben."
    assert response.speech_slots["on_call"] == [
        {
            "rotation": "Ops",
            "person": "Anna",
            "person_entity_id": "person.anna",
            "until": "2026-11-30T17:00:00+00:00",
            "next": "Ben",
            "overridden": False,
        }
    ]
    response = await _ask(hass, INTENT_ON_CALL, language="de", rotation="ops")
    assert _speech(response) == "Anna hat Bereitschaft für Ops bis Montag 09:00, danach Ben."
    assert _failed(await _ask(hass, INTENT_ON_CALL, rotation="Home")) == (
        "There is no rotation Home."
    )
    await hass.services.async_call(
        DOMAIN,
        "set_on_call",
        {"rotation": "Ops", "member": "person.ben", "duration": {"hours": 3}},
        blocking=True,
    )

    say = await _speaker(hass, hass_ws_client, anna)

    assert await say("who is on call") == "Ben is on call for Ops until 05:00, then Anna."
    assert await say("who is on call for Ops") == "Ben is on call for Ops until 05:00, then Anna."
    assert await say("wer hat gerade Bereitschaft", "de") == (
        "Ben hat Bereitschaft für Ops bis 05:00, danach Anna."
    )


async def test_who_is_on_call_without_rotations(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    assert _failed(await _ask(hass, INTENT_ON_CALL)) == "There are no rotations."


def _openapi(schema: Any, serializer: Any) -> Any:
    """A tool's parameters as an LLM-based agent sends them to its model."""
    if importlib.util.find_spec("probatio") is not None:  # 2026.x: probatio, not voluptuous
        import probatio

        return probatio.to_openapi(schema, custom_serializer=serializer)
    from voluptuous_openapi import convert

    return convert(schema, custom_serializer=serializer)


def _llm_context(user: User) -> llm.LLMContext:
    """A request of an LLM-based agent in the conversation of `user`."""
    fields = llm.LLMContext.__dataclass_fields__
    return llm.LLMContext(
        platform="test",
        context=Context(user_id=user.id),
        language="en",
        assistant="conversation",
        device_id=None,
        **({"user_prompt": None} if "user_prompt" in fields else {}),  # until 2025.x
    )


async def test_the_llm_platform_offers_the_intents_of_the_integration(
    hass: HomeAssistant, setup_integration: MockConfigEntry, anna: User
) -> None:
    """What the llm integration of 2026.x reads of the platform, asked directly (2025.x has no
    llm integration to ask it)."""
    from custom_components.email_incidents import llm as llm_platform

    offered = llm_platform.async_get_tools(hass, _llm_context(anna), llm.LLM_API_ASSIST)
    assert offered is not None
    assert [(tool.name, tool.title, tool.integration) for tool in offered.tools] == [
        ("email_incidents__EmailIncidentsOpen", "Open incidents", DOMAIN),
        ("email_incidents__EmailIncidentsAccept", "Accept incident", DOMAIN),
        ("email_incidents__EmailIncidentsResolve", "Resolve incident", DOMAIN),
        ("email_incidents__EmailIncidentsOnCall", "Who is on call", DOMAIN),
    ]
    assert offered.prompt is None
    assert llm_platform.async_get_tools(hass, _llm_context(anna), "another_api") is None


async def test_llm_agents_are_offered_the_intents_as_tools(
    hass: HomeAssistant, setup_integration: MockConfigEntry, anna: User
) -> None:
    """The Assist API of LLM-based agents lists the intents with their descriptions and
    parameters, whatever entities are exposed, and a tool call acts as the user."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "intent", {})
    # From 2026.x the llm integration asks each integration's llm platform for its tools, named
    # <domain>__<name>; before, the Assist API offered each intent under its own name.
    platforms = importlib.util.find_spec("homeassistant.components.llm") is not None
    if platforms:
        assert await async_setup_component(hass, "llm", {})
    await _create(hass, "NAS", "UPS on battery", key="ups")
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, _llm_context(anna))
    tools = {tool.name: tool for tool in api.tools}

    def tool(intent_type: str) -> llm.Tool:
        return tools[f"{DOMAIN}__{intent_type}" if platforms else intent_type]

    for handler in (
        OpenIncidentsIntentHandler(),
        AcceptIncidentIntentHandler(),
        ResolveIncidentIntentHandler(),
        OnCallIntentHandler(),
    ):
        assert tool(handler.intent_type).description == handler.description
        if platforms:
            assert (tool(handler.intent_type).title, tool(handler.intent_type).integration) == (
                handler.title,
                DOMAIN,
            )

    def parameters(intent_type: str) -> Any:
        return _openapi(tool(intent_type).parameters, api.custom_serializer)

    text = {"type": "string", "minLength": 1}
    assert parameters(INTENT_OPEN)["properties"] == {
        "source": {
            **text,
            "description": "Name of an alert source, e.g. NAS; leave out for all sources",
        }
    }
    assert parameters(INTENT_ACCEPT)["properties"] == {
        "number": {
            "type": "integer",
            "minimum": 1,
            "description": "Number of the incident: 42 for incident INC-42",
        },
        "key": {**text, "description": "Key of the incident, when no number is given"},
        "source": {
            **text,
            "description": "Name of the alert source of the key, when keys repeat",
        },
    }
    assert parameters(INTENT_RESOLVE) == parameters(INTENT_ACCEPT)
    assert parameters(INTENT_ON_CALL)["properties"] == {
        "rotation": {**text, "description": "Name of a rotation, e.g. Ops; leave out for all"}
    }
    for intent_type in (INTENT_OPEN, INTENT_ACCEPT):
        assert not parameters(intent_type).get("required")  # every slot may be left out

    async def call(intent_type: str, **tool_args: Any) -> Any:
        result = await api.async_call_tool(
            llm.ToolInput(tool_name=tool(intent_type).name, tool_args=tool_args)
        )
        return getattr(result, "data", result)  # 2026.x: a ToolResult

    result = await call(INTENT_ACCEPT, key="ups", source="NAS")
    assert result["speech"]["plain"]["speech"] == "Accepted incident 1, UPS on battery."
    assert result["speech_slots"]["incidents"][0]["accepted_by"] == "Anna"
    result = await call(INTENT_OPEN)
    assert result["speech"]["plain"]["speech"] == (
        "1 open: number 1, UPS on battery, accepted by Anna."
    )


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_readme_shows_the_shipped_sentences(language: str) -> None:
    """What users copy from the README is what the tests above speak to."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        rf"<!-- custom-sentences-{language} -->\n```yaml\n(.*?)```", readme, re.DOTALL
    )
    assert block is not None
    shipped = SENTENCES / language / "email_incidents.yaml"
    assert block[1] == shipped.read_text(encoding="utf-8")
    assert f"`config/custom_sentences/{language}/email_incidents.yaml`" in readme
