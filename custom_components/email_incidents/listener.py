"""The SMTP (or LMTP) listener: aiosmtpd on Home Assistant's event loop, with every limit set.

aiosmtpd sets no limit on connections, resets its timeout only on commands, accepts any number
of recipients and switches to TLS through private asyncio internals. This module closes each of
those gaps: connection caps and allowed networks at connect, a DATA-phase deadline, a recipient
cap, a per-client message rate, and STARTTLS through the public `loop.start_tls`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from enum import StrEnum
import hmac
from ipaddress import ip_address
import itertools
import ssl
import time
from typing import Any, AnyStr, Protocol, override

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import (
    SMTP,
    AuthResult,
    Envelope,
    LoginPassword,
    Session,
)

from .const import LOGGER
from .settings import ListenerSettings

IDENT = "Email Incidents ESMTP"
LINE_LENGTH_LIMIT = 64 * 1024  # real senders write long HTML lines; RFC's 1000 refuses them
AUTH_FAILURE_DELAY = 1.0
SHUTDOWN_GRACE = 10.0


class RefusalCause(StrEnum):
    """Why the listener said no; each is counted and logged once per client and period."""

    NETWORK = "network"
    CONNECTIONS = "connections"
    RATE = "rate"
    RECIPIENT = "recipient"
    RECIPIENTS = "recipients"
    SIZE = "size"
    LINE_LENGTH = "line_length"
    TIMEOUT = "timeout"
    TLS_REQUIRED = "tls_required"
    AUTH_REQUIRED = "auth_required"
    AUTH_FAILED = "auth_failed"
    STORE = "store"


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A complete e-mail as received, before parsing."""

    content: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    client: str
    tls: bool
    authenticated: bool
    # Where an e-mail goes whose recipients reach no alert source (a mailbox's default
    # source); the listener refuses such recipients instead.
    fallback_recipient: str = ""


class MailSink(Protocol):
    """What the listener hands its work to (the integration's runtime)."""

    def accepts_recipient(self, address: str) -> bool: ...

    async def async_deliver(self, delivery: Delivery) -> str:
        """Process and durably store an e-mail; return the SMTP reply."""

    def record_refusal(self, cause: RefusalCause, client: str, detail: str = "") -> None: ...


class ListenerError(Exception):
    """The listener could not start; `reason` names a repair issue / translation key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def load_tls_context(certificate: str, key: str) -> ssl.SSLContext:
    """Server context from PEM files; blocking file I/O, run it in the executor."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError, ValueError, TypeError) as err:
        # ValueError: a NUL byte in a path; TypeError: a path that is not text.
        raise ListenerError("certificate_unreadable", f"{certificate}: {err}") from err
    return context


class _ClientLimiter:
    """Connection counts per client and a sliding one-minute window of messages per client."""

    def __init__(self, settings: ListenerSettings) -> None:
        self._settings = settings
        self.connections: dict[str, int] = defaultdict(int)
        self.total = 0
        self._messages: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, client: str) -> RefusalCause | None:
        try:
            address = ip_address(client)
        except ValueError:
            address = None
        if address is None or not any(
            address in network for network in self._settings.allowed_networks
        ):
            return RefusalCause.NETWORK
        if (
            self.total >= self._settings.max_connections
            or self.connections[client] >= self._settings.max_connections_per_client
        ):
            return RefusalCause.CONNECTIONS
        self.total += 1
        self.connections[client] += 1
        return None

    def release(self, client: str) -> None:
        self.total -= 1
        self.connections[client] -= 1
        if not self.connections[client]:
            del self.connections[client]

    def allow_message(self, client: str) -> bool:
        now = time.monotonic()
        window = self._messages[client]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self._settings.messages_per_minute:
            return False
        window.append(now)
        return True


DATA_YIELD_EVERY = 256  # lines of a message between turns for Home Assistant's loop
_TOO_MUCH_DATA = "552 Error: Too much mail data"
_LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"

# aiosmtpd's own replies (and ours in its words), given enhanced status codes and our wording.
_REPLY_REWRITES = {
    "552 Error: Too much mail data": "552 5.3.4 Message exceeds the maximum size of {size} bytes",
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message exceeds the maximum size of {size} bytes"
    ),
    "500 Line too long (see RFC5321 4.5.3.1.6)": (
        "500 5.5.2 Line too long (the limit is {line} bytes)"
    ),
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
}
_REFUSAL_OF_REPLY = {
    "552": RefusalCause.SIZE,
    "500 5.5.2": RefusalCause.LINE_LENGTH,
    "530 5.7.0 Must": RefusalCause.TLS_REQUIRED,
    "530 5.7.0 Authentication": RefusalCause.AUTH_REQUIRED,
    "535": RefusalCause.AUTH_FAILED,
}


_HOOK_NAMES: dict[type, list[str]] = {}


def _hook_names(owner: object) -> list[str]:
    """The names aiosmtpd looks for on a session and on its handler, for `__dir__`.

    aiosmtpd finds its command, AUTH and handler methods with dir() and inspect.getmembers()
    on every new connection; listing only those makes a connection about three times cheaper
    to set up, and a burst of connections is set up in one turn of the loop."""
    owner_class = type(owner)
    if (names := _HOOK_NAMES.get(owner_class)) is None:
        prefixes = ("smtp_", "auth_", "handle_")
        names = [name for name in dir(owner_class) if name.startswith(prefixes)]
        _HOOK_NAMES[owner_class] = names
    return names


class _Session(SMTP):
    """One client connection."""

    line_length_limit = LINE_LENGTH_LIMIT

    def __init__(self, listener: SmtpListener, *, implicit_tls: bool) -> None:
        settings = listener.settings
        self._listener = listener
        self._implicit_tls = implicit_tls
        self._client = ""
        self._admitted = False
        self._receiving_data = False
        self._reply_lines: list[str] = []
        super().__init__(
            listener.handler,
            hostname=settings.mail_domain,
            ident=IDENT,
            data_size_limit=settings.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=None if implicit_tls else listener.tls_context,
            require_starttls=settings.require_tls and not implicit_tls,
            timeout=settings.command_timeout,
            auth_required=settings.auth_enabled,
            auth_require_tls=not settings.allow_auth_without_tls,
            authenticator=listener.authenticate if settings.auth_enabled else None,
            loop=listener.loop,
        )

    @override
    def __dir__(self) -> list[str]:
        return _hook_names(self)

    @property
    def client(self) -> str:
        return self._client

    @override
    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address of a MAIL or RCPT command and the rest, as aiosmtpd parses them, without
        the typing class aiosmtpd defines anew on every call (a twentieth of an e-mail's cost)."""
        if not arg:
            return "", ""
        try:
            if arg.lstrip().startswith("<"):
                angle_addr, rest = get_angle_addr(arg)
                address = angle_addr.addr_spec
            else:
                addr_spec, rest = get_addr_spec(arg)
                address = addr_spec.addr_spec
        except HeaderParseError:
            return None, None
        return address, rest  # no `local_part_limit`: this listener sets none

    @property
    def is_tls(self) -> bool:
        return self._tls_protocol is not None

    @override
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else ""
        if (cause := self._listener.limiter.admit(self._client)) is not None:
            reply = (
                "554 5.7.1 Client not allowed"
                if cause is RefusalCause.NETWORK
                else "421 4.7.0 Too many connections, try again later"
            )
            self._listener.sink.record_refusal(cause, self._client)
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(reply.encode() + b"\r\n")
            transport.close()
            return
        self._admitted = True
        self._listener.sessions.add(self)
        super().connection_made(transport)
        if self._implicit_tls:
            self._mark_tls(transport)

    @override
    def connection_lost(self, error: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._listener.session_closed(self)
        self._listener.limiter.release(self._client)
        super().connection_lost(error)

    @override
    def eof_received(self) -> bool | None:
        if not self._admitted:
            return False
        return super().eof_received()

    def _mark_tls(self, transport: asyncio.BaseTransport) -> None:
        # aiosmtpd decides "is this TLS?" by `_tls_protocol` being set (EHLO, AUTH, require TLS).
        self._tls_protocol = transport  # type: ignore[assignment]
        assert self.session is not None
        self.session.ssl = {
            name: transport.get_extra_info(name)
            for name in ("ssl_object", "peercert", "cipher", "sslcontext")
        }

    async def smtp_STARTTLS(self, arg: str) -> None:  # noqa: N802 - aiosmtpd command name
        """STARTTLS through the public `loop.start_tls` (aiosmtpd's uses private internals)."""
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS")
            return
        if self.tls_context is None or self.is_tls:
            await self.push("454 4.7.0 TLS not available")
            return
        await self.push("220 2.0.0 Ready to start TLS")
        # RFC 3207 4.2: nothing the client sent before the handshake may be acted on
        # (command injection, CVE-2011-0411 and CVE-2024-34083).
        self._reader._buffer.clear()  # type: ignore[attr-defined]
        assert self.transport is not None
        try:
            tls_transport = await self.loop.start_tls(
                self.transport,  # type: ignore[arg-type]
                self,
                self.tls_context,
                server_side=True,
                ssl_handshake_timeout=self._listener.settings.command_timeout,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as err:
            LOGGER.debug("TLS handshake with %s failed: %s", self._client, err)
            if self.transport is not None:
                self.transport.close()
            return
        if tls_transport is None:  # the client went away during the handshake
            return
        self.transport = tls_transport
        self._reader._transport = tls_transport  # type: ignore[attr-defined]
        self._writer._transport = tls_transport  # type: ignore[attr-defined]
        self._set_rset_state()  # type: ignore[no-untyped-call]
        assert self.session is not None
        self.session.extended_smtp = False
        self.session.host_name = None
        self._mark_tls(tls_transport)

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd command name
        """DATA with its own deadline (aiosmtpd resets its timer only on commands) that gives
        Home Assistant's loop a turn every few hundred lines (aiosmtpd reads a message that is
        already buffered in one go, however large)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        self._reset_timeout(self._listener.settings.data_timeout)
        self._receiving_data = True
        try:
            problem = await self._receive_message()
        finally:
            self._receiving_data = False
        if problem is None:
            status = await self._call_handler_hook("DATA")
        else:
            status = problem
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)
        # Answered: the client is between commands again and gets the idle timeout, not the
        # DATA phase's longer one.
        if self.transport is not None:
            self._reset_timeout()

    async def _receive_message(self) -> str | None:
        """Read up to the lone dot; the reply to give instead of delivering, if any. A message
        that breaks a limit is read to its end but not kept (RFC 5321 4.2.5)."""
        assert self.envelope is not None
        limit = self.data_size_limit
        # One growing buffer: joining a million short lines at the end would hold the loop.
        content = bytearray()
        size = 0
        problem: str | None = None
        inside_long_line = False
        for count in itertools.count(1):
            if count % DATA_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as err:
                await self._reader.read(err.consumed)
                inside_long_line = True
                problem = problem or _LINE_TOO_LONG
                content.clear()
                continue
            if inside_long_line:  # the end of a line that was too long, never the final dot
                inside_long_line = False
                continue
            if line == b".\r\n":
                break
            if problem is not None:
                continue
            size += len(line)
            if limit and size > limit:
                problem = _TOO_MUCH_DATA
                content.clear()
                continue
            content += memoryview(line)[1:] if line.startswith(b".") else line
        if problem is not None:
            return problem
        self.envelope.content = self.envelope.original_content = bytes(content)
        return None

    @override
    def _timeout_cb(self) -> None:
        if self.transport is not None:
            assert isinstance(self.transport, asyncio.WriteTransport)
            self.transport.write(b"421 4.4.2 Timeout, closing connection\r\n")
            self._listener.sink.record_refusal(RefusalCause.TIMEOUT, self._client)
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    @override
    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            rewrite = _REPLY_REWRITES.get(status)
            if rewrite is not None:
                status = rewrite.format(
                    size=self._listener.settings.max_message_size, line=LINE_LENGTH_LIMIT
                )
            for prefix, cause in _REFUSAL_OF_REPLY.items():
                if status.startswith(prefix):
                    if cause is RefusalCause.AUTH_FAILED:
                        await asyncio.sleep(AUTH_FAILURE_DELAY)  # slows password guessing
                    self._listener.sink.record_refusal(cause, self._client)
                    break
            # The lines of a multi-line reply (EHLO's) go out with its last line, in one
            # send: a system call per line was a tenth of the time an e-mail costs.
            if status.startswith("250-"):
                self._reply_lines.append(status)
                return
            if self._reply_lines:
                status = "\r\n".join([*self._reply_lines, status])
                self._reply_lines.clear()
        await super().push(status)

    def refuse_for_shutdown(self) -> None:
        """Home Assistant stops: a client between commands gets 421 and is let go."""
        if self.transport is not None and not self._receiving_data:
            assert isinstance(self.transport, asyncio.WriteTransport)
            self.transport.write(b"421 4.3.2 Service shutting down, try again later\r\n")
            self.transport.close()


class _LmtpSession(LMTP, _Session):
    """LMTP (behind Postfix): LHLO instead of EHLO, one reply per recipient after DATA."""


class _Handler:
    """aiosmtpd hooks: recipients, rate limit and delivery."""

    def __init__(self, listener: SmtpListener) -> None:
        self._listener = listener

    @override
    def __dir__(self) -> list[str]:
        return _hook_names(self)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: _Session,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if not self._listener.limiter.allow_message(server.client):
            self._listener.sink.record_refusal(RefusalCause.RATE, server.client)
            return "451 4.7.1 Too many messages from this client, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(  # noqa: N802
        self,
        server: _Session,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        settings = self._listener.settings
        if len(envelope.rcpt_tos) >= settings.max_recipients:
            self._listener.sink.record_refusal(RefusalCause.RECIPIENTS, server.client)
            return f"452 4.5.3 Too many recipients (at most {settings.max_recipients})"
        if not self._listener.sink.accepts_recipient(address):
            self._listener.sink.record_refusal(RefusalCause.RECIPIENT, server.client, address)
            return f"550 5.1.1 <{address}>: no alert source has this address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: _Session, session: Session, envelope: Envelope
    ) -> str:
        delivery = Delivery(
            content=bytes(envelope.original_content or b""),
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            client=server.client,
            tls=server.is_tls,
            authenticated=bool(session.authenticated),
        )
        reply = await self._listener.sink.async_deliver(delivery)
        if self._listener.settings.lmtp:
            return "\r\n".join([reply] * len(delivery.rcpt_tos))
        return reply


class SmtpListener:
    """Owns the server sockets and the sessions on them."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settings: ListenerSettings,
        sink: MailSink,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.loop = loop
        self.settings = settings
        self.sink = sink
        self.tls_context = tls_context
        self.handler = _Handler(self)
        self.limiter = _ClientLimiter(settings)
        self.sessions: set[_Session] = set()
        self._all_closed = asyncio.Event()
        self._servers: list[asyncio.Server] = []

    @property
    def running(self) -> bool:
        return any(server.is_serving() for server in self._servers)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [
            (str(sock.getsockname()[0]), int(sock.getsockname()[1]))
            for server in self._servers
            for sock in server.sockets
        ]

    def session_closed(self, session: _Session) -> None:
        self.sessions.discard(session)
        if not self.sessions:
            self._all_closed.set()

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd itself answers 535 5.7.8 (delayed by `push`).
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user_ok = hmac.compare_digest(data.login, self.settings.auth_username.encode())
        password_ok = hmac.compare_digest(data.password, self.settings.auth_password.encode())
        if user_ok and password_ok:
            return AuthResult(success=True, auth_data=data.login)
        return AuthResult(success=False, handled=False)

    def _factory(self, *, implicit_tls: bool) -> Callable[[], _Session]:
        session_class = _LmtpSession if self.settings.lmtp else _Session
        return lambda: session_class(self, implicit_tls=implicit_tls)

    async def async_start(self) -> None:
        """Bind the ports; ListenerError("port_in_use") when one is taken."""
        binds: list[tuple[int, ssl.SSLContext | None]] = [(self.settings.port, None)]
        if self.settings.tls_port and self.tls_context is not None:
            binds.append((self.settings.tls_port, self.tls_context))
        for port, context in binds:
            try:
                server = await self.loop.create_server(
                    self._factory(implicit_tls=context is not None),
                    host=self.settings.host or None,
                    port=port,
                    ssl=context,
                    reuse_address=True,
                )
            except OSError as err:
                await self.async_stop()
                raise ListenerError(
                    "port_in_use", f"Cannot listen on {self.settings.host}:{port}: {err}"
                ) from err
            self._servers.append(server)

    async def async_stop(self) -> None:
        """Stop accepting; refuse idle sessions with 421, let sessions in DATA finish."""
        for server in self._servers:
            server.close()
        for session in list(self.sessions):
            session.refuse_for_shutdown()
        if self.sessions:
            self._all_closed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_GRACE):
                    await self._all_closed.wait()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
