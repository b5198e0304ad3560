"""One IMAP connection to a mailbox's folder (aioimaplib): connect with implicit TLS, STARTTLS
or none, log in, select, search, fetch, flag and IDLE, each command bounded in time and in the
bytes the server may send, so a hostile or broken server ends in an error, never in a hang or
in unbounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import ssl
from typing import Any, Final

from aioimaplib import (
    IMAP4,
    STOP_WAIT_SERVER_PUSH,
    AioImapException,
    Command,
    IMAP4ClientProtocol,
    Response,
)
from homeassistant.util.ssl import client_context, client_context_no_verify

from .const import LOGGER
from .core.mailbox import (
    SIZE_CHUNK,
    AfterStore,
    ImapAnswerError,
    MailboxConfig,
    Security,
    fetched_bodies,
    fetched_sizes,
    search_uids,
    uid_set,
    uidvalidity_of,
)

COMMAND_TIMEOUT: Final = 30.0
# Servers end an IDLE after 30 minutes (RFC 2177): it is renewed before.
IDLE_RENEW_SECONDS: Final = 25 * 60
# What the server may send in answer to one command beyond the messages it fetches.
ANSWER_BUDGET: Final = 1024 * 1024


class MailboxError(Exception):
    """Why a mailbox cannot be read; `reason` is a translation key of the flow's errors."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class _BoundedProtocol(IMAP4ClientProtocol):  # type: ignore[misc]
    """aioimaplib's protocol with a limit on what one answer may bring: a server that
    announces a literal it never ends, or streams lines without end, is cut off."""

    budget = ANSWER_BUDGET
    received = 0

    def data_received(self, d: bytes) -> None:
        self.received += len(d)
        if self.received > self.budget:
            LOGGER.warning("An IMAP server sent more than %d bytes in one answer", self.budget)
            self.transport.abort()
            return
        try:
            super().data_received(d)
        except Exception as err:  # noqa: BLE001 - any parser failure ends this connection only
            # aioimaplib reads an answer's lines by recursion: thousands of lines in one read
            # exceed Python's recursion limit.
            LOGGER.warning("An IMAP server's answer could not be read: %r", err)
            LOGGER.debug("What aioimaplib raised", exc_info=True)
            self.transport.abort()


class _Client(IMAP4):  # type: ignore[misc]
    """IMAP4 with the bounded protocol, the TLS context of either security and a name for
    certificate checks."""

    def __init__(
        self, config: MailboxConfig, context: ssl.SSLContext | None, lost: asyncio.Future[None]
    ) -> None:
        self._server_hostname = config.host if context is not None else None

        def connection_lost(exc: Exception | None) -> None:
            if not lost.done():
                lost.set_result(None)

        super().__init__(
            host=config.host,
            port=config.port,
            # aioimaplib's own time limit per command, later than this module's own.
            timeout=2 * COMMAND_TIMEOUT,
            conn_lost_cb=connection_lost,
            ssl_context=context,
        )

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        running = loop or asyncio.get_running_loop()
        self.protocol = _BoundedProtocol(running, conn_lost_cb)
        self._client_task = running.create_task(
            running.create_connection(
                lambda: self.protocol,
                host,
                port,
                ssl=ssl_context,
                server_hostname=self._server_hostname if ssl_context else None,
            )
        )


def _tls_context(config: MailboxConfig) -> ssl.SSLContext:
    return client_context() if config.verify_certificate else client_context_no_verify()


class ImapSession:
    """One connection; every method raises MailboxError."""

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self._client: _Client | None = None
        self._lost: asyncio.Future[None] | None = None

    @property
    def supports_idle(self) -> bool:
        return self._client is not None and bool(self._client.has_capability("IDLE"))

    async def _call[T](
        self, awaitable: Awaitable[T], budget: int = ANSWER_BUDGET, seconds: float | None = None
    ) -> T:
        """Run one command: a lost connection, a timeout or an answer over budget end it."""
        assert self._client is not None
        assert self._lost is not None
        protocol: _BoundedProtocol = self._client.protocol
        protocol.received, protocol.budget = 0, budget
        task = asyncio.ensure_future(awaitable)
        waited: set[asyncio.Future[Any]] = {task, self._lost}
        try:
            await asyncio.wait(
                waited, timeout=seconds or COMMAND_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            answered = task.done()
            # Also when the reader itself is cancelled (a stop).
            if not answered:
                task.cancel()
        if not answered:
            raise MailboxError(
                "connection_lost" if self._lost.done() else "timeout", self.config.host
            )
        try:
            return task.result()
        except (AioImapException, TimeoutError, ImapAnswerError) as err:
            raise MailboxError("bad_answer", repr(err)) from err

    async def _ok(self, awaitable: Awaitable[Response], reason: str = "bad_answer") -> Response:
        response: Response = await self._call(awaitable)
        if response.result != "OK":
            raise MailboxError(reason, _text(response))
        return response

    async def open(self) -> int:
        """Connect, secure, log in and select the folder: its UIDVALIDITY."""
        config = self.config
        context = _tls_context(config) if config.security is not Security.NONE else None
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        self._client = client = _Client(
            config, context if config.security is Security.SSL else None, self._lost
        )
        try:
            await asyncio.wait_for(client._client_task, COMMAND_TIMEOUT)
        except ssl.SSLError as err:
            raise MailboxError("tls_failed", str(err)) from err
        except (OSError, TimeoutError) as err:
            raise MailboxError("cannot_connect", str(err) or type(err).__name__) from err
        await self._call(client.wait_hello_from_server())
        if config.security is Security.STARTTLS:
            await self._start_tls(client, context)
        login = await self._call(client.login(config.username, config.password))
        if login.result != "OK":
            raise MailboxError(
                "cannot_connect" if b"UNAVAILABLE" in b" ".join(login.lines) else "invalid_auth"
            )
        return await self.select()

    async def select(self) -> int:
        """Select the folder (again): its UIDVALIDITY now. Selected anew before each look, as
        not every server ends a session whose folder was renumbered."""
        assert self._client is not None
        selected = await self._call(self._client.select(_quoted(self.config.folder)))
        if selected.result != "OK":
            raise MailboxError("no_such_folder", self.config.folder)
        try:
            return uidvalidity_of(selected.lines)
        except ImapAnswerError as err:
            raise MailboxError("bad_answer", str(err)) from err

    async def _start_tls(self, client: _Client, context: ssl.SSLContext | None) -> None:
        assert context is not None
        if not client.has_capability("STARTTLS"):
            raise MailboxError("tls_failed", "the server does not offer STARTTLS")
        protocol = client.protocol
        await self._ok(
            protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
            "tls_failed",
        )
        try:
            protocol.transport = await asyncio.wait_for(
                asyncio.get_running_loop().start_tls(
                    protocol.transport, protocol, context, server_hostname=self.config.host
                ),
                COMMAND_TIMEOUT,
            )
        except (ssl.SSLError, ConnectionError, TimeoutError) as err:
            raise MailboxError("tls_failed", str(err)) from err
        # What the server offered before TLS may not be trusted (RFC 3501 6.2.1).
        protocol.capabilities = set()
        await self._call(protocol.capability())

    async def search(self, criteria: Sequence[str]) -> list[int]:
        assert self._client is not None
        response = await self._ok(self._client.uid_search(*criteria, charset=None))
        return search_uids(response.lines)

    async def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        assert self._client is not None
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), SIZE_CHUNK):
            chunk = uids[start : start + SIZE_CHUNK]
            response = await self._ok(
                self._client.uid("fetch", uid_set(chunk), "(UID RFC822.SIZE)")
            )
            sizes |= _answer(fetched_sizes, response)
        return sizes

    async def bodies(self, uids: Sequence[int], sizes: dict[int, int]) -> dict[int, bytes]:
        """The raw messages; each must be as long as the size the server gave for it."""
        assert self._client is not None
        budget = ANSWER_BUDGET + sum(sizes[uid] for uid in uids)
        response: Response = await self._call(
            self._client.uid("fetch", uid_set(uids), "(UID BODY.PEEK[])"), budget=budget
        )
        if response.result != "OK":
            raise MailboxError("bad_answer", _text(response))
        bodies = _answer(fetched_bodies, response)
        if wrong := [uid for uid, body in bodies.items() if len(body) != sizes.get(uid)]:
            raise MailboxError("bad_answer", f"messages {wrong[:5]} differ from their sizes")
        return bodies

    async def after_store(self, uids: Sequence[int]) -> None:
        """Mark seen, move or delete messages whose incidents are stored."""
        assert self._client is not None
        client, config, uids_text = self._client, self.config, uid_set(uids)
        if config.after_store is AfterStore.MARK_SEEN:
            await self._ok(client.uid("store", uids_text, "+FLAGS.SILENT (\\Seen)"))
            return
        if config.after_store is AfterStore.MOVE and client.has_capability("MOVE"):
            await self._ok(client.uid("move", uids_text, _quoted(config.move_to)))
            return
        if config.after_store is AfterStore.MOVE:
            await self._ok(client.uid("copy", uids_text, _quoted(config.move_to)))
        await self._ok(client.uid("store", uids_text, "+FLAGS.SILENT (\\Deleted)"))
        if client.has_capability("UIDPLUS"):
            await self._ok(client.uid("expunge", uids_text))
        else:
            await self._ok(client.expunge())

    async def wait_for_news(self) -> None:
        """IDLE until the server announces a message, or until the IDLE is due for renewal."""
        assert self._client is not None
        client = self._client
        idle: asyncio.Future[Response] = await self._call(
            client.idle_start(timeout=IDLE_RENEW_SECONDS)
        )
        while client.has_pending_idle():
            lines = await self._call(
                client.wait_server_push(timeout=IDLE_RENEW_SECONDS + COMMAND_TIMEOUT),
                seconds=IDLE_RENEW_SECONDS + 2 * COMMAND_TIMEOUT,
            )
            if lines == STOP_WAIT_SERVER_PUSH or any(b"EXISTS" in bytes(line) for line in lines):
                break
        client.idle_done()
        await self._call(idle)

    async def close(self) -> None:
        """Log out politely where the connection still stands and no command hangs; never
        raises."""
        client, self._client = self._client, None
        if client is None:
            return
        protocol = client.protocol
        idle = not protocol.pending_async_commands and protocol.pending_sync_command is None
        if idle and self._lost is not None and not self._lost.done() and protocol.transport:
            try:
                await asyncio.wait_for(client.logout(), 5)
            except Exception:  # noqa: BLE001 - a connection that ends badly is still ended
                LOGGER.debug("Logout from %s failed", self.config.host, exc_info=True)
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
        # aioimaplib's own tasks (an IDLE, a greeting) and its IDLE renewal timer end with the
        # connection.
        if client._idle_waiter is not None:
            client._idle_waiter.cancel()
        for command in (protocol.pending_sync_command, *protocol.pending_async_commands.values()):
            if command is not None:
                command._timer.cancel()
        pending = [
            task
            for task in (client._client_task, *client.tasks, *client.protocol.tasks)
            if not task.done()
        ]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _answer[T](parse: Callable[[Sequence[bytes | bytearray]], T], response: Response) -> T:
    try:
        result = parse(response.lines)
    except ImapAnswerError as err:
        raise MailboxError("bad_answer", str(err)) from err
    return result


def _quoted(name: str) -> str:
    """A folder name as an IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(response: Response) -> str:
    return " ".join(
        bytes(line).decode("utf-8", "replace") for line in response.lines if isinstance(line, bytes)
    )[:200]


async def async_check_mailbox(config: MailboxConfig) -> str | None:
    """What a form says of these settings: None when the login and the folder work, else the
    reason (a translation key)."""
    session = ImapSession(config)
    try:
        await session.open()
    except MailboxError as err:
        LOGGER.debug("Mailbox %s on %s: %s", config.name, config.host, err)
        return err.reason
    finally:
        await session.close()
    return None
