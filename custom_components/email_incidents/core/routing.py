"""Which alert sources an e-mail reaches: by its recipients (plus tags ignored), or the catch-all
sources when it reaches none, and per source whether it is a retry already handled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from .config import SourceConfig
from .models import InboundEmail
from .parser import normalise_address
from .state import EngineState


def base_address(address: str) -> str:
    """The normalised address without a plus tag: source+anything@domain -> source@domain."""
    address = normalise_address(address)
    local, at, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}" if "+" in local else address


def addressed_to(source: SourceConfig, email: InboundEmail) -> bool:
    """Whether any envelope or header recipient of the e-mail is an address of the source."""
    return any(
        base_address(address) in source.addresses
        for address in email.envelope_recipients + email.header_recipients
    )


class Router:
    """The sources of one configuration, indexed by address."""

    def __init__(self, sources: Mapping[str, SourceConfig]) -> None:
        self._sources = sources
        self._addresses: dict[str, list[SourceConfig]] = {}
        for source in sources.values():
            for address in source.addresses:
                self._addresses.setdefault(address, []).append(source)
        self._catch_all = [source for source in sources.values() if source.catch_all]

    def _sources_for(self, address: str) -> list[SourceConfig]:
        return self._addresses.get(base_address(address), [])

    def route(self, email: InboundEmail) -> tuple[SourceConfig, ...]:
        """Every source whose address is in the envelope or To/Cc/Bcc/Delivered-To, once."""
        matched: dict[str, SourceConfig] = {}
        for address in email.envelope_recipients + email.header_recipients:
            for source in self._sources_for(address):
                matched.setdefault(source.source_id, source)
        if not matched:
            return tuple(self._catch_all)
        return tuple(source for source in self._sources.values() if source.source_id in matched)

    def accepts_recipient(self, address: str) -> bool:
        return bool(self._catch_all) or bool(self._sources_for(address))


def forget_old_message_ids(state: EngineState, window: timedelta, now: datetime) -> None:
    seen = state.recent_message_ids
    expired = now - window
    # Oldest first: only the expired head is looked at, however many ids are kept.
    while seen and (oldest := next(iter(seen.items())))[1] <= expired:
        del seen[oldest[0]]


def is_duplicate(
    state: EngineState, source: SourceConfig, email: InboundEmail, now: datetime
) -> bool:
    """A retry of an e-mail this source has handled; duplicates are told per source (a relay
    delivers one recipient per session, each with the same Message-ID)."""
    if not email.message_id:
        return False
    seen = state.recent_message_ids
    key = f"{source.source_id} {email.message_id}"
    if key in seen:
        return True
    seen[key] = now
    state.unsaved_message_ids.append(key)
    return False
