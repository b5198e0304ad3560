"""Assist intents: what is open, and accepting or resolving an incident by voice or by an LLM.

Registered once in `async_setup`, like the actions. The built-in agent reaches them through the
sentences in custom_sentences/<language>/email_incidents.yaml. LLM-based agents get them as tools
of the Assist API, with each handler's description and slot schema, whatever entities are
exposed: up to 2025.x that API offers every handler without `platforms` by itself, from 2026.x
the llm platform (llm.py) offers these.

Answers are short sentences in the language the intent was asked in (the `assist` texts of
translations/<language>.json); the speech slots carry the same facts as data for an LLM. A
request that cannot be done is answered in words too, as an error response: the built-in agent
would replace the text of a raised error by a generic "unexpected error".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
import re
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .core.engine import IncidentEngine
from .core.models import OPEN_STATUSES, Actor, ActorKind, Incident, IncidentStatus
from .core.outcomes import IncidentError, IncidentEvent
from .core.state import INCIDENT_ID_PREFIX
from .escalation import age_words
from .events import incident_data
from .people import person_name
from .runtime import EmailIncidentsRuntime, loaded_runtime
from .services import async_user_actor
from .store import StoreWriteError
from .texts import Texts, async_load_texts

INTENT_OPEN = "EmailIncidentsOpen"
INTENT_ACCEPT = "EmailIncidentsAccept"
INTENT_RESOLVE = "EmailIncidentsResolve"
INTENT_ON_CALL = "EmailIncidentsOnCall"

SLOT_SOURCE = "source"
SLOT_NUMBER = "number"
SLOT_KEY = "key"
SLOT_ROTATION = "rotation"

# The texts of the answers: translations/<language>.json, selector.assist.options.
TEXTS = "assist"
# How many incidents an answer names, newest first; the others are only counted.
INCIDENTS_NAMED = 5
# Who acted when the intent comes without a user (a voice satellite, an automation).
ASSIST_ACTOR = Actor(kind=ActorKind.ACTION, name="Assist")

# Spoken text has no punctuation worth keeping: "NAS-disk_1" is heard as "nas disk 1".
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")

SOURCE_SLOT = {
    vol.Optional(
        SLOT_SOURCE, description="Name of an alert source, e.g. NAS; leave out for all sources"
    ): vol.All(str, vol.Length(min=1))
}
INCIDENT_SLOTS = {
    vol.Optional(
        SLOT_NUMBER, description="Number of the incident: 42 for incident INC-42"
    ): vol.All(vol.Coerce(int), vol.Range(min=1)),
    vol.Optional(SLOT_KEY, description="Key of the incident, when no number is given"): vol.All(
        str, vol.Length(min=1)
    ),
    vol.Optional(
        SLOT_SOURCE, description="Name of the alert source of the key, when keys repeat"
    ): vol.All(str, vol.Length(min=1)),
}


class SpokenError(Exception):
    """A request that cannot be done: the key of its answer among the `assist` texts, and the
    answer's placeholders."""

    # What the answer's error code says: the request named nothing that exists or is open.
    NOTHING_MATCHED = frozenset(
        {
            "unknown_source",
            "unknown_incident",
            "no_key_open",
            "no_key_open_for",
            "ambiguous_key",
            "unknown_rotation",
            "no_rotations",
        }
    )

    def __init__(self, reason: str, **placeholders: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.placeholders = placeholders

    @property
    def error_code(self) -> intent.IntentResponseErrorCode:
        if self.reason in self.NOTHING_MATCHED:
            return intent.IntentResponseErrorCode.NO_VALID_TARGETS
        return intent.IntentResponseErrorCode.FAILED_TO_HANDLE


class EmailIncidentsIntentHandler(intent.IntentHandler):
    """What every intent of the integration shares: the running integration, the texts in the
    intent's language, and a failure answered in words. Each is an LLM tool too (llm.py)."""

    # The tool's name for people, where an LLM client lists the tools.
    title: str

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        slots = self.async_validate_slots(intent_obj.slots)
        hass = intent_obj.hass
        texts = await async_load_texts(hass, intent_obj.language)
        response = intent_obj.create_response()
        try:
            if (runtime := loaded_runtime(hass)) is None:
                raise SpokenError("not_loaded")
            await self.async_answer(runtime, intent_obj, slots, texts, response)
        except SpokenError as err:
            response.async_set_error(err.error_code, texts(TEXTS, err.reason, **err.placeholders))
        return response

    async def async_answer(
        self,
        runtime: EmailIncidentsRuntime,
        intent_obj: intent.Intent,
        slots: dict[str, Any],
        texts: Texts,
        response: intent.IntentResponse,
    ) -> None:
        """Do what the intent asks and set the response's speech; SpokenError when it cannot."""
        raise NotImplementedError


class OpenIncidentsIntentHandler(EmailIncidentsIntentHandler):
    """ "What incidents are open [for NAS]?": how many, and the newest of them."""

    intent_type = INTENT_OPEN
    title = "Open incidents"
    description = (
        "Lists the open incidents of Email Incidents (alerts from e-mails), newest first, "
        "optionally of one alert source: number, summary, pending or accepted by whom"
    )

    @property
    def slot_schema(self) -> dict[vol.Optional, Any]:
        return SOURCE_SLOT

    async def async_answer(
        self,
        runtime: EmailIncidentsRuntime,
        intent_obj: intent.Intent,
        slots: dict[str, Any],
        texts: Texts,
        response: intent.IntentResponse,
    ) -> None:
        source_id = (
            named_source(runtime, slots[SLOT_SOURCE]["value"]) if SLOT_SOURCE in slots else None
        )
        open_incidents = runtime.engine.incidents(source_id=source_id, statuses=OPEN_STATUSES)
        named = open_incidents[:INCIDENTS_NAMED]
        source = runtime.source_name(source_id) if source_id is not None else None
        now = dt_util.utcnow()
        items = [spoken_incident(texts, incident, now) for incident in named]
        if not_named := len(open_incidents) - len(named):
            items.append(texts(TEXTS, "more", count=not_named))
        # "No open incidents." or "... for NAS.", "2 open: ..." or "2 open for NAS: ..."
        of_source = {} if source is None else {"source": source}
        if not open_incidents:
            speech = texts(TEXTS, "none_open_for" if of_source else "none_open", **of_source)
        else:
            speech = texts(
                TEXTS,
                "open_for" if of_source else "open",
                count=len(open_incidents),
                incidents="; ".join(items),
                **of_source,
            )
        response.response_type = intent.IntentResponseType.QUERY_ANSWER
        response.async_set_speech(speech)
        response.async_set_speech_slots(
            {
                "count": len(open_incidents),
                "source": source,
                "incidents": incidents_data(runtime, named),
                "not_named": not_named,
            }
        )


class IncidentChangeIntentHandler(EmailIncidentsIntentHandler):
    """Accept or resolve the incidents a number or a key names, as the speaking user."""

    # The answer's text keys, for one incident changed and for several (by key).
    done_key: str
    done_many_key: str

    @property
    def slot_schema(self) -> dict[vol.Optional, Any]:
        return INCIDENT_SLOTS

    def change(
        self, engine: IncidentEngine, incident_id: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        """What the intent does to one incident: the engine's change, as the actions make it."""
        raise NotImplementedError

    def targets(self, matching: Sequence[Incident]) -> list[Incident]:
        """Of the open incidents with the key said, those the intent changes (at least one)."""
        return list(matching)

    async def async_answer(
        self,
        runtime: EmailIncidentsRuntime,
        intent_obj: intent.Intent,
        slots: dict[str, Any],
        texts: Texts,
        response: intent.IntentResponse,
    ) -> None:
        actor = await async_user_actor(intent_obj.hass, intent_obj.context, ASSIST_ACTOR)
        if SLOT_NUMBER in slots:
            incident_ids = [f"{INCIDENT_ID_PREFIX}{slots[SLOT_NUMBER]['value']}"]
            key = None
        elif SLOT_KEY in slots:
            key = slots[SLOT_KEY]["value"]
            source = slots[SLOT_SOURCE]["value"] if SLOT_SOURCE in slots else None
            matching = open_with_key(runtime, key, source)
            incident_ids = [incident.id for incident in self.targets(matching)]
        else:
            raise SpokenError("incident_not_named")
        events = await self._async_apply(runtime, incident_ids, actor)
        changed = [event.incident for event in events]
        if len(changed) == 1:
            [incident] = changed
            speech = texts(
                TEXTS,
                self.done_key,
                number=incident_number(incident),
                summary=spoken_summary(incident),
            )
        else:
            speech = texts(TEXTS, self.done_many_key, count=len(changed), key=key)
        response.async_set_speech(speech)
        response.async_set_speech_slots({"incidents": incidents_data(runtime, changed)})

    async def _async_apply(
        self, runtime: EmailIncidentsRuntime, incident_ids: Iterable[str], actor: Actor
    ) -> tuple[IncidentEvent, ...]:
        """The change the actions make, through the runtime: stored, then announced."""

        def change_each(now: datetime) -> list[IncidentEvent]:
            return [
                event
                for incident_id in incident_ids
                for event in self.change(runtime.engine, incident_id, actor, now)
            ]

        try:
            return await runtime.async_apply(change_each)
        except IncidentError as err:  # raised before anything changed: one incident named
            number = (err.incident_id or "").removeprefix(INCIDENT_ID_PREFIX)
            raise SpokenError(err.reason, number=number) from err
        except StoreWriteError as err:
            raise SpokenError("store_failed") from err


class AcceptIncidentIntentHandler(IncidentChangeIntentHandler):
    """ "Accept incident 42": the speaking user takes it; its escalation stops."""

    intent_type = INTENT_ACCEPT
    title = "Accept incident"
    description = (
        "Accepts (acknowledges) an incident of Email Incidents by its number, or the pending "
        "incidents with a key: escalation stops and the incident is recorded as taken by the user"
    )
    done_key = "accepted_one"
    done_many_key = "accepted_many"

    def change(
        self, engine: IncidentEngine, incident_id: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        return engine.accept(incident_id, actor, now)

    def targets(self, matching: Sequence[Incident]) -> list[Incident]:
        pending = [incident for incident in matching if incident.status is IncidentStatus.PENDING]
        if not pending:  # all taken already: said of the newest
            raise SpokenError("already_accepted", number=incident_number(matching[0]))
        return pending


class ResolveIncidentIntentHandler(IncidentChangeIntentHandler):
    """ "Resolve incident 42": closed, by the speaking user."""

    intent_type = INTENT_RESOLVE
    title = "Resolve incident"
    description = (
        "Resolves (closes) an incident of Email Incidents by its number, or the open incidents "
        "with a key; recorded as resolved by the user"
    )
    done_key = "resolved_one"
    done_many_key = "resolved_many"

    def change(
        self, engine: IncidentEngine, incident_id: str, actor: Actor, now: datetime
    ) -> tuple[IncidentEvent, ...]:
        return engine.resolve(incident_id, actor, now)


class OnCallIntentHandler(EmailIncidentsIntentHandler):
    """ "Who is on call [for Ops]?": the person, until when, and who is next, of one rotation
    or of each."""

    intent_type = INTENT_ON_CALL
    title = "Who is on call"
    description = (
        "Tells who is on call in the rotations of Email Incidents (or in one rotation): the "
        "person, until when, and who takes over then"
    )

    @property
    def slot_schema(self) -> dict[vol.Optional, Any]:
        return {
            vol.Optional(
                SLOT_ROTATION, description="Name of a rotation, e.g. Ops; leave out for all"
            ): vol.All(str, vol.Length(min=1))
        }

    async def async_answer(
        self,
        runtime: EmailIncidentsRuntime,
        intent_obj: intent.Intent,
        slots: dict[str, Any],
        texts: Texts,
        response: intent.IntentResponse,
    ) -> None:
        rotations = runtime.engine.rotations
        if SLOT_ROTATION in slots:
            names = {key: rotation.name for key, rotation in rotations.items()}
            rotation_ids = [named(names, slots[SLOT_ROTATION]["value"], "rotation")]
        elif not (rotation_ids := sorted(rotations, key=lambda key: rotations[key].name)):
            raise SpokenError("no_rotations")
        now = dt_util.utcnow()
        sentences: list[str] = []
        answers: list[dict[str, Any]] = []
        for rotation_id in rotation_ids:
            name = rotations[rotation_id].name
            current = runtime.engine.on_call(rotation_id, now)
            if current is None:
                sentences.append(texts(TEXTS, "nobody_on_call", rotation=name))
                continue
            person = person_name(intent_obj.hass, current.member.person)
            following = person_name(intent_obj.hass, current.next_member.person)
            sentences.append(
                texts(
                    TEXTS,
                    "on_call",
                    person=person,
                    rotation=name,
                    until=spoken_moment(texts, current.until, now),
                    next=following,
                )
            )
            answers.append(
                {
                    "rotation": name,
                    "person": person,
                    "person_entity_id": current.member.person,
                    "until": current.until.isoformat(),
                    "next": following,
                    "overridden": current.overridden,
                }
            )
        response.response_type = intent.IntentResponseType.QUERY_ANSWER
        response.async_set_speech(" ".join(sentences))
        response.async_set_speech_slots({"on_call": answers})


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def spoken_moment(texts: Texts, moment: datetime, now: datetime) -> str:
    """A moment as said in Home Assistant's time zone: "09:00" today, "tomorrow 09:00",
    "Monday 09:00" within the week, else its date."""
    local, today = dt_util.as_local(moment), dt_util.as_local(now).date()
    time = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return time
    if days == 1:
        return texts(TEXTS, "until_tomorrow", time=time)
    if days < len(WEEKDAYS):
        weekday = texts(TEXTS, WEEKDAYS[local.weekday()])
        return texts(TEXTS, "until_weekday", weekday=weekday, time=time)
    return texts(TEXTS, "until_date", date=local.date().isoformat(), time=time)


def named(names: Mapping[str, str], said: str, kind: str) -> str:
    """Which of the alert sources or rotations (their names by id) has the name said (case
    does not matter); SpokenError `unknown_<kind>` if none has it."""
    folded = said.strip().casefold()
    for key, name in names.items():
        if name.casefold() == folded:
            return key
    raise SpokenError(f"unknown_{kind}", **{kind: said})


def named_source(runtime: EmailIncidentsRuntime, name: str) -> str:
    """The alert source with this name (case does not matter); SpokenError if none has it."""
    names = {source_id: config.name for source_id, config in runtime.engine.sources.items()}
    return named(names, name, "source")


def _spoken_key(key: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", key).casefold()


def open_with_key(runtime: EmailIncidentsRuntime, key: str, source: str | None) -> list[Incident]:
    """The open incidents (newest first) whose key sounds like `key`, of the named source or
    else of the one source that has such incidents; SpokenError if none or several have."""
    source_id = named_source(runtime, source) if source is not None else None
    spoken = _spoken_key(key)
    matching = [
        incident
        for incident in runtime.engine.incidents(source_id=source_id, statuses=OPEN_STATUSES)
        if incident.key is not None and _spoken_key(incident.key) == spoken
    ]
    if not matching:
        if source_id is None:
            raise SpokenError("no_key_open", key=key)
        raise SpokenError("no_key_open_for", key=key, source=runtime.source_name(source_id))
    source_ids = list(dict.fromkeys(incident.source_id for incident in matching))
    if len(source_ids) > 1:
        names = ", ".join(runtime.source_name(source_id) for source_id in source_ids)
        raise SpokenError("ambiguous_key", key=key, sources=names)
    return matching


def incident_number(incident: Incident) -> str:
    """What is said of an incident id: 42 for INC-42."""
    return incident.id.removeprefix(INCIDENT_ID_PREFIX)


def spoken_summary(incident: Incident) -> str:
    # The answer ends its own sentences: a subject's final full stop would be doubled.
    return incident.summary.rstrip(" .;:")


def spoken_incident(texts: Texts, incident: Incident, now: datetime) -> str:
    """ "number 42, NAS disk full, pending for 5 minutes" or "..., accepted by Anna"."""
    number, summary = incident_number(incident), spoken_summary(incident)
    if incident.status is IncidentStatus.ACCEPTED:
        actor = incident.accepted_by
        who = (actor.name or actor.kind.value) if actor is not None else ""
        return texts(TEXTS, "accepted_item", number=number, summary=summary, actor=who)
    age = age_words(texts, now - incident.created)
    return texts(TEXTS, "pending_item", number=number, summary=summary, age=age)


def incidents_data(
    runtime: EmailIncidentsRuntime, incidents: Iterable[Incident]
) -> list[dict[str, Any]]:
    """The incidents as the actions return them, with the number that is said of each."""
    return [
        {"number": int(incident_number(incident)), **incident_data(runtime, incident)}
        for incident in incidents
    ]


@callback
def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intents (once, for as long as Home Assistant runs)."""
    for handler in (
        OpenIncidentsIntentHandler(),
        AcceptIncidentIntentHandler(),
        ResolveIncidentIntentHandler(),
        OnCallIntentHandler(),
    ):
        intent.async_register(hass, handler)
