"""The e-mails received recently (for the diagnostics and the rule tester), kept over restarts
in .storage/email_incidents.<entry id>.recent so the rule tester has them after a restart too.

They are written a little after they arrive, together, and at unload: they are a help for
setting rules up, not incidents, so no SMTP answer waits for them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER
from .core.email_data import email_from_data, email_to_data
from .core.models import InboundEmail
from .core.outcomes import Outcome, SourceOutcome

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 10.0  # seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentEmail:
    """What happened to one received e-mail (diagnostics and the rule tester)."""

    received: datetime
    client: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    email: InboundEmail
    outcomes: tuple[SourceOutcome, ...] = ()
    refusal: str | None = None


def _to_data(recent: RecentEmail) -> dict[str, Any]:
    return {
        "received": recent.received.isoformat(),
        "client": recent.client,
        "mail_from": recent.mail_from,
        "rcpt_tos": list(recent.rcpt_tos),
        "email": email_to_data(recent.email),
        "outcomes": [
            [o.source_id, o.outcome.value, list(o.incident_ids), o.key] for o in recent.outcomes
        ],
        "refusal": recent.refusal,
    }


def _from_data(data: dict[str, Any]) -> RecentEmail:
    return RecentEmail(
        received=datetime.fromisoformat(data["received"]),
        client=str(data["client"]),
        mail_from=str(data["mail_from"]),
        rcpt_tos=tuple(str(address) for address in data["rcpt_tos"]),
        email=email_from_data(data["email"]),
        outcomes=tuple(
            SourceOutcome(
                source_id=str(source_id),
                outcome=Outcome(outcome),
                incident_ids=tuple(str(i) for i in incident_ids),
                key=None if key is None else str(key),
            )
            for source_id, outcome, incident_ids, key in data["outcomes"]
        ),
        refusal=None if data["refusal"] is None else str(data["refusal"]),
    )


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.recent", private=True)


class RecentEmails:
    """The newest e-mails, oldest first, at most `limit` of them."""

    def __init__(self, hass: HomeAssistant, entry_id: str, limit: int) -> None:
        self._emails: deque[RecentEmail] = deque(maxlen=limit)
        self._store = _store(hass, entry_id)
        self._unsaved = False

    def __iter__(self) -> Iterator[RecentEmail]:
        return iter(self._emails)

    def __reversed__(self) -> Iterator[RecentEmail]:
        return reversed(self._emails)

    def __len__(self) -> int:
        return len(self._emails)

    def __getitem__(self, index: int) -> RecentEmail:
        return self._emails[index]

    @callback
    def append(self, recent: RecentEmail) -> None:
        self._emails.append(recent)
        self._unsaved = True
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def _data(self) -> dict[str, Any]:
        self._unsaved = False
        return {"emails": [_to_data(recent) for recent in self._emails]}

    async def async_load(self) -> None:
        """The e-mails kept before; a damaged one is left out, the others are kept."""
        stored = await self._store.async_load()
        for item in (stored or {}).get("emails", ()):
            try:
                self._emails.append(_from_data(item))
            except (KeyError, TypeError, ValueError) as err:
                LOGGER.debug("A stored recent e-mail could not be read: %r", err)

    async def async_save(self) -> None:
        """Write what is not written yet (at unload)."""
        if self._unsaved:
            await self._store.async_save(self._data())


async def async_remove_recent_emails(hass: HomeAssistant, entry_id: str) -> None:
    await _store(hass, entry_id).async_remove()
