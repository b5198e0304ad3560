"""Mailboxes: a second way in beside the SMTP listener. Each mailbox's reader takes the
messages of its folder into the same path as SMTP (`async_deliver_all`), exactly once, push
by IDLE where the server offers it and by polling elsewhere, and reconnects with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
import time
from typing import Final, Protocol

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .core.mailbox import (
    MailboxConfig,
    Security,
    plan_batches,
    record_batch,
    record_flagged,
    record_too_large,
    search_criteria,
    uids_to_take,
)
from .core.outcomes import IngestResult
from .core.state import EngineState, MailboxMark
from .imap import ImapSession, MailboxError
from .listener import Delivery

FIRST_RETRY_SECONDS: Final = 1.0
MAX_RETRY_SECONDS: Final = 300.0
# An unreachable server is shown at once (disconnected); a repair only when it lasts.
UNREACHABLE_ISSUE_SECONDS: Final = 15 * 60


class MailboxSink(Protocol):
    """What a reader hands its work to (the integration's runtime)."""

    async def async_deliver_all(
        self,
        deliveries: Sequence[Delivery],
        record: Callable[[EngineState, list[IngestResult]], object] | None = None,
    ) -> list[IngestResult] | None: ...

    def mailbox_mark(self, mailbox_id: str) -> MailboxMark | None: ...

    def mailbox_changed(
        self, mailbox_id: str, change: Callable[[EngineState], object] | None = None
    ) -> None: ...

    def fallback_address(self, source_id: str | None) -> str: ...

    @property
    def max_message_size(self) -> int: ...


@dataclass(slots=True)
class MailboxStatus:
    """What the mailbox's entities and diagnostics show."""

    connected: bool = False
    last_check: datetime | None = None
    error: str = ""


class MailboxReader:
    """Reads one mailbox for as long as it runs."""

    def __init__(self, hass: HomeAssistant, sink: MailboxSink, config: MailboxConfig) -> None:
        self.hass = hass
        self.sink = sink
        self.config = config
        self.status = MailboxStatus()
        self._task: asyncio.Task[None] | None = None
        self._unreachable_since: float | None = None

    @property
    def _issue_id(self) -> str:
        return f"mailbox_{self.config.mailbox_id}"

    def start(self) -> None:
        self._task = self.hass.async_create_background_task(
            self._async_run(), f"{DOMAIN} mailbox {self.config.name}"
        )

    async def async_stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) is not None and current.cancelling():
                    raise

    def _show(self, *, connected: bool, error: str = "") -> None:
        if (connected, error) != (self.status.connected, self.status.error):
            self.status.connected, self.status.error = connected, error
            self.sink.mailbox_changed(self.config.mailbox_id)

    async def _async_run(self) -> None:
        retry = FIRST_RETRY_SECONDS
        while True:
            session = ImapSession(self.config)
            try:
                uidvalidity = await session.open()
                self._connected()
                retry = FIRST_RETRY_SECONDS
                await self._async_flag_pending(session, uidvalidity)
                while True:
                    await self._async_take_new(session, uidvalidity)
                    if session.supports_idle:
                        await session.wait_for_news()
                    else:
                        await asyncio.sleep(self.config.poll_seconds)
                    uidvalidity = await session.select()
            except MailboxError as err:
                if err.reason == "invalid_auth":
                    self._login_refused()
                    return  # until the password is changed (the subentry's change restarts it)
                self._failed(err)
            finally:
                await session.close()
            await asyncio.sleep(retry)
            retry = min(retry * 2, MAX_RETRY_SECONDS)

    def _connected(self) -> None:
        if self.status.error:
            LOGGER.info("Mailbox %s is connected again", self.config.name)
        self._unreachable_since = None
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
        self._show(connected=True)

    def _failed(self, err: MailboxError) -> None:
        if err.reason != self.status.error:
            LOGGER.warning("Mailbox %s: %s; connecting again with backoff", self.config.name, err)
        now = time.monotonic()
        if self._unreachable_since is None:
            self._unreachable_since = now
        elif now - self._unreachable_since >= UNREACHABLE_ISSUE_SECONDS:
            self._raise_issue("mailbox_unreachable", err.reason)
        self._show(connected=False, error=err.reason)

    def _login_refused(self) -> None:
        LOGGER.error(
            "Mailbox %s: the server refused the login of %s; enter the password again",
            self.config.name,
            self.config.username,
        )
        self._raise_issue("mailbox_login_refused", "invalid_auth", fixable=True)
        self._show(connected=False, error="invalid_auth")

    def _raise_issue(self, translation_key: str, reason: str, *, fixable: bool = False) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id,
            is_fixable=fixable,
            severity=ir.IssueSeverity.ERROR,
            translation_key=translation_key,
            translation_placeholders={"mailbox": self.config.name, "reason": reason},
            data={"mailbox_id": self.config.mailbox_id},
        )

    async def _async_flag_pending(self, session: ImapSession, uidvalidity: int) -> None:
        """Repeat the after-step a stop cut off: the messages are stored, not yet flagged."""
        mark = self.sink.mailbox_mark(self.config.mailbox_id)
        if mark is not None and mark.uidvalidity == uidvalidity and mark.unflagged:
            await self._async_after_store(session, mark.unflagged)

    async def _async_after_store(self, session: ImapSession, uids: Sequence[int]) -> None:
        await session.after_store(uids)
        self.sink.mailbox_changed(
            self.config.mailbox_id,
            partial(record_flagged, mailbox_id=self.config.mailbox_id, uids=tuple(uids)),
        )

    async def _async_take_new(self, session: ImapSession, uidvalidity: int) -> None:
        """Everything new in the folder, oldest first, one stored batch at a time."""
        config = self.config
        mark = self.sink.mailbox_mark(config.mailbox_id)
        found = await session.search(search_criteria(mark, uidvalidity))
        uids = uids_to_take(found, mark, uidvalidity)
        if uids:
            sizes = await session.sizes(uids)
            too_large, batches = plan_batches(sizes, self.sink.max_message_size)
            for batch in batches:
                await self._async_take_batch(session, uidvalidity, batch, sizes)
            if too_large:
                LOGGER.warning(
                    "Mailbox %s: %d message(s) over the maximum message size stay in %s",
                    config.name,
                    len(too_large),
                    config.folder,
                )
                self.sink.mailbox_changed(
                    config.mailbox_id,
                    partial(
                        record_too_large,
                        mailbox_id=config.mailbox_id,
                        uidvalidity=uidvalidity,
                        uids=too_large,
                    ),
                )
        self.status.last_check = dt_util.utcnow()
        self.sink.mailbox_changed(config.mailbox_id)

    async def _async_take_batch(
        self, session: ImapSession, uidvalidity: int, batch: list[int], sizes: dict[int, int]
    ) -> None:
        config = self.config
        bodies = await session.bodies(batch, sizes)
        if missing := [uid for uid in batch if uid not in bodies]:
            # Gone in the meantime (deleted by another client): nothing to take.
            LOGGER.debug("Mailbox %s: messages %s vanished before fetching", config.name, missing)
        fetched = [uid for uid in batch if uid in bodies]
        if not fetched:
            return
        fallback = self.sink.fallback_address(config.default_source)
        deliveries = [
            Delivery(
                content=bodies[uid],
                mail_from="",
                rcpt_tos=(),
                client=f"mailbox {config.name}",
                tls=config.security is not Security.NONE,
                authenticated=True,
                fallback_recipient=fallback,
            )
            for uid in fetched
        ]
        taken: list[int] = []

        def record(state: EngineState, results: list[IngestResult]) -> None:
            taken.extend(record_batch(state, config.mailbox_id, uidvalidity, fetched, results))

        if await self.sink.async_deliver_all(deliveries, record) is None:
            raise MailboxError("store_failed", "the e-mails could not be stored")
        if taken:
            await self._async_after_store(session, taken)
