"""IMAP benchmark: a mailbox of the integration inside a real Home Assistant, reading a real
Dovecot (tests/servers/dovecot.py: its own configuration in a temporary folder, implicit TLS
on a loopback port), in the two configurations of benchmarks/ingest.py (minimal, and typical
with the recorder, history, logbook and an automation on every new incident), each with the
10,000 stored incidents and six alert sources of that benchmark.

Everything is measured from outside, through Home Assistant's APIs: the owner is onboarded
over HTTP, a websocket subscribes to `email_incidents_incident_created`, and the mailbox is
added through the mailbox subentry flow over HTTP (implicit TLS, certificate not checked:
Dovecot's is self-signed; mark seen after storing; every message goes to the "Alerts" source,
which opens an incident per e-mail). Two figures per configuration:

- imap_backlog_per_s: 1,000 messages (1 KiB alerts) are appended to the INBOX before the
  mailbox exists; then it is added. Interval: from the moment the reader's own IMAP
  connection to Dovecot is established (seen in /proc/net/tcp, polled every millisecond; the
  connection the flow opens to try the login is not it) until the websocket has received the
  1,000th incident_created event (an event fires after its incident's durable write). 1,000
  divided by that. The table also shows the time from the flow's answer and from the first
  event. Target: at least 200/s.
- imap_push_p99_ms: with the mailbox idle (IMAP IDLE), one message is appended every 200 ms
  (5/s) over a separate IMAP session; latency from the APPEND's tagged OK to the websocket
  receiving that message's incident_created event; its 99th percentile (a message whose event
  never comes counts as infinite). Target: at most 2,000 ms. Shown beside it: when Dovecot
  announced each message to a second session of ours in IDLE on the same folder (Dovecot
  holds announcements back up to 500 ms to gather changes), the rest after that announcement
  (about Home Assistant's share: the two sessions' delays are not the same, so only roughly),
  and the event's way from being fired to the websocket.

Prints the backlog's intervals and the push latency's parts, then one line per configuration:
IMAP imap_backlog_per_s=.. imap_push_p99_ms=.. (minimal|typical) ...

Run: scripts/bench, or python benchmarks/imap.py (`--quick` for a shorter push phase,
`--profile DIR` for py-spy profiles of Home Assistant on a second backlog and push phase, after
the measured ones, in each configuration). Needs Dovecot 2.3 (Debian: dovecot-imapd) and root,
as the mailbox tests do.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
import math
from pathlib import Path
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "scripts"), str(Path(__file__).parent)]

import aiohttp  # noqa: E402
from ha_config import free_port, start_home_assistant, stop_process, wait_for_port  # noqa: E402
from ingest import (  # noqa: E402
    CONFIGURATIONS,
    ENTRY_ID,
    STORED_INCIDENTS,
    prepare_home_assistant,
    profile,
    setup_seconds,
)

from tests.servers.dovecot import Dovecot, running_dovecot  # noqa: E402

EVENT = "email_incidents_incident_created"
# The "Alerts" source of benchmarks/ingest.py (every e-mail opens an incident).
ALERTS_SOURCE = "source5"
BACKLOG = 1000
PUSH_RATE = 5  # messages per second
PUSH_SECONDS = 24
QUICK_PUSH_SECONDS = 8
# How long the last pushed message's event is waited for, and the whole backlog's.
PUSH_GRACE_SECONDS = 10.0
BACKLOG_TIMEOUT_SECONDS = 120.0
BODY_BYTES = 1024
TARGET_BACKLOG_PER_S = 200.0
TARGET_PUSH_P99_MS = 2000.0
PROFILED_FOLDER = "Profiled"

USERNAME = "bench"
PASSWORD = "bench-password-123"


# --- the messages ---------------------------------------------------------------------------


def alert(subject: str, number: int) -> bytes:
    """A monitoring alert as it lands in a shared mailbox: addressed to the team, not to the
    integration, so the mailbox's default source takes it."""
    message = EmailMessage()
    message["From"] = "monitoring@example.com"
    message["To"] = "alerts@example.com"
    message["Subject"] = subject
    message["Message-ID"] = f"<{time.time_ns()}.{number}@imap-bench.example>"
    line = f"Disk usage on host{number % 97} is above 90 percent: {number}.\n"
    message.set_content((line * (BODY_BYTES // len(line) + 1))[:BODY_BYTES])
    return message.as_bytes()


# --- Home Assistant over HTTP and its websocket ---------------------------------------------


@dataclass
class Api:
    session: aiohttp.ClientSession | None
    base_url: str
    token: str = ""

    async def call(
        self, method: str, path: str, *, json: Any = None, form: dict[str, str] | None = None
    ) -> Any:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, self.base_url + path, json=json, data=form, headers=headers
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise RuntimeError(f"{method} {path}: {response.status} {text}")
            return await response.json(content_type=None) if text else None

    async def onboard(self) -> None:
        """The owner (the first onboarding step) and an access token: all the API needs."""
        client_id = self.base_url + "/"
        result = await self.call(
            "POST",
            "/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "Bench",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        )
        tokens = await self.call(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": result["auth_code"],
                "client_id": client_id,
            },
        )
        self.token = tokens["access_token"]

    async def add_mailbox(self, server: Dovecot, name: str, folder: str) -> None:
        """The mailbox subentry flow, as the UI walks it: the form, then its values (the flow
        tries the login and the folder before saving)."""
        path = "/api/config/config_entries/subentries/flow"
        flow = await self.call("POST", path, json={"handler": [ENTRY_ID, "mailbox"]})
        if flow.get("step_id") != "mailbox":
            raise RuntimeError(f"the mailbox flow shows {flow}")
        result = await self.call(
            "POST",
            f"{path}/{flow['flow_id']}",
            json={
                "name": name,
                "host": "127.0.0.1",
                "port": server.imaps_port,
                "security": "ssl",
                "verify_certificate": False,
                "username": server.user,
                "password": server.password,
                "folder": folder,
                "after_store": "mark_seen",
                "default_source": ALERTS_SOURCE,
                "poll_seconds": 60,
            },
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"the mailbox flow answered {result}")


@dataclass
class Arrival:
    at: float  # time.perf_counter() in this process
    fired: float  # the event's time_fired in Home Assistant (Unix time)


@dataclass
class Events:
    """incident_created events by summary, as the websocket brings them."""

    ws: aiohttp.ClientWebSocketResponse
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    # Events by their summary without its last word (the message's number).
    counts: Counter[str] = field(default_factory=Counter)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            at = time.perf_counter()
            data = message.json()
            for item in data if isinstance(data, list) else [data]:
                if item.get("type") == "event":
                    event = item["event"]
                    summary = event["data"]["summary"]
                    if summary not in self.arrivals:
                        fired = datetime.fromisoformat(event["time_fired"]).timestamp()
                        self.arrivals[summary] = Arrival(at, fired)
                        self.counts[summary.rpartition(" ")[0]] += 1
                    self.changed.set()
                elif item.get("type") == "result" and not item.get("success"):
                    raise RuntimeError(f"websocket: {item}")

    async def wait_for(self, wanted: Callable[[], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        while not wanted():
            if (remaining := deadline - time.monotonic()) <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return True


@contextlib.asynccontextmanager
async def subscribed(api: Api) -> Any:
    assert api.session is not None
    url = api.base_url.replace("http://", "ws://") + "/api/websocket"
    async with api.session.ws_connect(url, max_msg_size=0) as ws:
        if (await ws.receive_json())["type"] != "auth_required":
            raise RuntimeError("no websocket auth request")
        await ws.send_json({"type": "auth", "access_token": api.token})
        if (answer := await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError(f"websocket auth: {answer}")
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": EVENT})
        if not (answer := await ws.receive_json()).get("success"):
            raise RuntimeError(f"subscribe_events: {answer}")
        events = Events(ws)
        reader = asyncio.create_task(events.read())
        try:
            yield events
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


# --- when the reader connects ----------------------------------------------------------------


class ConnectionWatch:
    """Polls /proc/net/tcp every millisecond in a thread: when each loopback connection to the
    port was first seen established, by its client port. Nothing on the measured path."""

    INTERVAL = 0.001

    def __init__(self, port: int) -> None:
        self.port = port
        self.first_seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def established(self) -> set[int]:
        """Client ports of the connections to the port established now."""
        ports = set()
        with Path("/proc/net/tcp").open(encoding="ascii") as table:
            next(table)
            for row in table:
                local, remote, state = row.split()[1:4]
                if state == "01" and int(remote.rpartition(":")[2], 16) == self.port:
                    ports.add(int(local.rpartition(":")[2], 16))
        return ports

    def _look(self) -> None:
        now = time.perf_counter()
        for port in self.established():
            self.first_seen.setdefault(port, now)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._look()
            time.sleep(self.INTERVAL)

    def __enter__(self) -> ConnectionWatch:
        self._look()  # connections open before: seen before anything measured starts
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the two phases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    connected_to_last_s: float
    created_to_last_s: float
    first_to_last_s: float
    flow_s: float

    @property
    def per_s(self) -> float:
        return BACKLOG / self.connected_to_last_s


async def backlog(api: Api, server: Dovecot, name: str, folder: str) -> Backlog:
    """BACKLOG messages are in the folder; the mailbox is added and takes them all."""
    prefix = f"{name}: backlog alert"
    await asyncio.to_thread(
        server.append, [alert(f"{prefix} {number}", number) for number in range(BACKLOG)], folder
    )
    async with subscribed(api) as events:
        with ConnectionWatch(server.imaps_port) as watch:
            flow_started = time.perf_counter()
            await api.add_mailbox(server, name, folder)
            created = time.perf_counter()

            if not await events.wait_for(
                lambda: events.counts[prefix] >= BACKLOG, BACKLOG_TIMEOUT_SECONDS
            ):
                raise RuntimeError(
                    f"{events.counts[prefix]} of {BACKLOG} backlog incidents were announced"
                )
            # The reader's connection is the one that stays (it is in IDLE now); the flow's
            # own login has ended.
            open_now = watch.established()
        readers = [
            at for port, at in watch.first_seen.items() if port in open_now and at >= flow_started
        ]
        if len(readers) != 1:
            raise RuntimeError(f"{len(readers)} reader connections to Dovecot, not one")
        [connected] = readers
        times = sorted(
            arrival.at
            for summary, arrival in events.arrivals.items()
            if summary.startswith(prefix + " ")
        )
    return Backlog(
        connected_to_last_s=times[-1] - connected,
        created_to_last_s=times[-1] - created,
        first_to_last_s=times[-1] - times[0],
        flow_s=created - flow_started,
    )


class IdleObserver:
    """A second IMAP session in IDLE on the INBOX, beside the integration's: when Dovecot
    announces each new message (`* N EXISTS`). Dovecot delays its announcements by up to half
    a second to gather changes (NOTIFY_DELAY_MSECS in its mailbox-watch.c), for every
    session alike: this shows how much of the push latency is the server's."""

    def __init__(self, server: Dovecot) -> None:
        self.server = server
        self.exists: list[tuple[int, float]] = []  # (message count, perf_counter)
        self.base = 0  # messages in the folder when the IDLE began
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def _command(self, file: Any, line: bytes) -> list[bytes]:
        assert self._socket is not None
        tag = line.split(b" ", 1)[0]
        self._socket.sendall(line + b"\r\n")
        answer = []
        while not (got := file.readline()).startswith(tag + b" "):
            if not got:
                raise RuntimeError(f"the IDLE observer's {line!r} got no answer")
            answer.append(got)
        if not got.startswith(tag + b" OK"):
            raise RuntimeError(f"the IDLE observer's {line!r}: {got!r}")
        return answer

    def __enter__(self) -> IdleObserver:
        server = self.server
        self._socket = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
        file = self._socket.makefile("rb")
        file.readline()
        self._command(file, b'a LOGIN "%s" "%s"' % (server.user.encode(), server.password.encode()))
        for line in self._command(file, b"b SELECT INBOX"):
            if match := _EXISTS.match(line):
                self.base = int(match[1])
        self._socket.sendall(b"c IDLE\r\n")
        if not file.readline().startswith(b"+"):
            raise RuntimeError("the IDLE observer's IDLE was refused")
        self._socket.settimeout(None)

        def read() -> None:
            while line := file.readline():
                if match := _EXISTS.match(line):
                    self.exists.append((int(match[1]), time.perf_counter()))

        self._thread = threading.Thread(target=read, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._socket is not None
        assert self._thread is not None
        with contextlib.suppress(OSError):
            self._socket.sendall(b"DONE\r\nd LOGOUT\r\n")
        self._thread.join(5)
        self._socket.close()

    def noticed(self, number: int) -> float | None:
        """When the folder was first announced to hold the `number`th message appended since
        the IDLE began (counting from 0)."""
        return next((at for count, at in self.exists if count > self.base + number), None)


_EXISTS = re.compile(rb"^\* (\d+) EXISTS")


@dataclass(frozen=True)
class Pushed:
    """One appended message: when its APPEND was answered, when Dovecot announced it to the
    observer, when Home Assistant fired its event (Unix time, its clock) and when the
    websocket brought the event; None when it did not come."""

    appended: float
    appended_wall: float
    noticed: float | None
    fired: float | None
    arrived: float | None


def percentile(values: list[float], fraction: float) -> float:
    """As benchmarks/ingest.py takes it: the value at that rank of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else math.nan


def spread(values: list[float]) -> str:
    """p50 / p99 / max."""
    return (
        f"{percentile(values, 0.5):5.0f} / {percentile(values, 0.99):5.0f} / "
        f"{max(values, default=math.nan):5.0f}"
    )


@dataclass(frozen=True)
class Push:
    messages: list[Pushed]

    @property
    def latencies_ms(self) -> list[float]:
        """APPEND answered -> event on the websocket; infinite for an event that never came."""
        return [
            (m.arrived - m.appended) * 1000 if m.arrived is not None else math.inf
            for m in self.messages
        ]

    @property
    def noticed_ms(self) -> list[float]:
        """APPEND answered -> Dovecot's announcement to the observing session."""
        return [(m.noticed - m.appended) * 1000 for m in self.messages if m.noticed is not None]

    @property
    def after_notice_ms(self) -> list[float]:
        """The observer's announcement -> event on the websocket: about Home Assistant's share
        (the integration's IMAP round trips, its write, the event, the websocket)."""
        return [
            (m.arrived - m.noticed) * 1000
            for m in self.messages
            if m.arrived is not None and m.noticed is not None
        ]

    @property
    def fired_to_arrived_ms(self) -> list[float]:
        """The event fired in Home Assistant -> on the websocket (across two clocks of one
        machine)."""
        return [
            (m.arrived - m.appended - (m.fired - m.appended_wall)) * 1000
            for m in self.messages
            if m.arrived is not None and m.fired is not None
        ]

    @property
    def missing(self) -> int:
        return sum(m.arrived is None for m in self.messages)


async def push(api: Api, server: Dovecot, name: str, count: int) -> Push:
    """`count` messages appended to the INBOX at PUSH_RATE per second over one IMAP session;
    for each, the time from its APPEND's tagged OK to its event on the websocket."""
    prefix = f"{name}: pushed alert"
    appended: list[tuple[float, float]] = []  # perf_counter, Unix time

    def append_all() -> None:
        with server.imap() as client:
            started = time.perf_counter()
            for number in range(count):
                time.sleep(max(0.0, started + number / PUSH_RATE - time.perf_counter()))
                message = alert(f"{prefix} {number}", number)
                status, data = client.append("INBOX", "", None, message)
                appended.append((time.perf_counter(), time.time()))
                if status != "OK":
                    raise RuntimeError(f"APPEND: {status} {data!r}")

    async with subscribed(api) as events:
        with IdleObserver(server) as observer:
            await asyncio.to_thread(append_all)
            await events.wait_for(lambda: events.counts[prefix] >= count, PUSH_GRACE_SECONDS)
        arrivals = dict(events.arrivals)
    messages = []
    for number, (at, wall) in enumerate(appended):
        arrival = arrivals.get(f"{prefix} {number}")
        messages.append(
            Pushed(
                appended=at,
                appended_wall=wall,
                noticed=observer.noticed(number),
                fired=arrival.fired if arrival else None,
                arrived=arrival.at if arrival else None,
            )
        )
    return Push(messages)


# --- one configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    backlog: Backlog
    push: Push
    setup_s: float


def run_configuration(
    work: Path, configuration: str, extra: str, push_count: int, profile_dir: Path | None
) -> Measured:
    config_dir, smtp_port = work / configuration, free_port()
    prepare_home_assistant(config_dir, smtp_port, incidents=True, configuration=extra)
    match = re.search(r"server_port: (\d+)", (config_dir / "configuration.yaml").read_text())
    assert match
    base_url = f"http://127.0.0.1:{match[1]}"
    with running_dovecot() as server:
        hass = start_home_assistant(config_dir, config_dir / "hass.log")
        try:
            wait_for_port(smtp_port, hass)
            setup = setup_seconds(config_dir)

            async def measured() -> tuple[Backlog, Push, str]:
                async with aiohttp.ClientSession() as session:
                    api = Api(session, base_url)
                    await api.onboard()
                    taken = await backlog(api, server, "Bench", "INBOX")
                    await asyncio.sleep(2)  # the batches' flag writes and entity updates settle
                    return taken, await push(api, server, "Bench", push_count), api.token

            taken, pushed, token = asyncio.run(measured())
            if profile_dir is not None:
                profile_configuration(
                    profile_dir, configuration, hass.pid, Api(None, base_url, token), server
                )
        finally:
            stop_process(hass)
    return Measured(taken, pushed, setup)


def profile_configuration(
    profile_dir: Path, configuration: str, pid: int, onboarded: Api, server: Dovecot
) -> None:
    """py-spy on a second backlog (a second mailbox on another folder) and a second push
    phase, after the measured ones: the figures above are taken without a profiler."""
    server.create_folder(PROFILED_FOLDER)
    profile_dir.mkdir(parents=True, exist_ok=True)
    print(f"profiles of the {configuration} configuration (py-spy):", flush=True)

    async def with_api(phase: Callable[[Api], Any]) -> Any:
        async with aiohttp.ClientSession() as session:
            return await phase(Api(session, onboarded.base_url, onboarded.token))

    def backlog_phase() -> None:
        asyncio.run(with_api(lambda api: backlog(api, server, "Profiled", PROFILED_FOLDER)))

    def push_phase() -> None:
        asyncio.run(with_api(lambda api: push(api, server, "Profiled", PUSH_RATE * 10)))

    profile(pid, profile_dir / f"{configuration}-imap-backlog.txt", BACKLOG, backlog_phase)
    profile(pid, profile_dir / f"{configuration}-imap-push.txt", PUSH_RATE * 10, push_phase)


# --- the run ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter push phase")
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles")
    args = parser.parse_args(argv)
    push_count = PUSH_RATE * (QUICK_PUSH_SECONDS if args.quick else PUSH_SECONDS)

    work = Path(tempfile.mkdtemp(prefix="email-incidents-imap-bench-"))
    results: dict[str, Measured] = {}
    try:
        for configuration, extra in CONFIGURATIONS.items():
            started = time.monotonic()
            results[configuration] = run_configuration(
                work, configuration, extra, push_count, args.profile
            )
            print(
                f"imap {configuration}: measured in {time.monotonic() - started:.0f} s "
                f"(the integration set up in {results[configuration].setup_s:.1f} s)",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"IMAP: a mailbox in Home Assistant against Dovecot ({STORED_INCIDENTS} stored "
        f"incidents); backlog of {BACKLOG}, seconds from ... to the last incident's event:"
    )
    print(
        f"  {'configuration':13} {'per s':>6} {'connection':>10} {'flow answer':>11} "
        f"{'first event':>11}   (the flow, trying the login: ms)"
    )
    for configuration, measured in results.items():
        taken = measured.backlog
        print(
            f"  {configuration:13} {taken.per_s:6.0f} {taken.connected_to_last_s:10.2f} "
            f"{taken.created_to_last_s:11.2f} {taken.first_to_last_s:11.2f}   "
            f"({taken.flow_s * 1000:.0f})"
        )
    print(
        f"push at {PUSH_RATE}/s with IDLE, ms (p50 / p99 / max): APPEND answered -> event on "
        "the websocket; of it, Dovecot announcing the message to a second IDLE session, and "
        "the rest after that announcement; event fired -> websocket"
    )
    for configuration, measured in results.items():
        pushed = measured.push
        print(
            f"  {configuration:13} {spread(pushed.latencies_ms)} | Dovecot "
            f"{spread(pushed.noticed_ms)} | after {spread(pushed.after_notice_ms)} | "
            f"websocket {spread(pushed.fired_to_arrived_ms)} | "
            f"{len(pushed.messages)} messages, {pushed.missing} without an event"
        )
    for configuration, measured in results.items():
        per_s = measured.backlog.per_s
        p99 = percentile(measured.push.latencies_ms, 0.99)
        verdicts = (
            f"backlog {'meets' if per_s >= TARGET_BACKLOG_PER_S else 'MISSES'} "
            f">= {TARGET_BACKLOG_PER_S:.0f}/s, "
            f"push {'meets' if p99 <= TARGET_PUSH_P99_MS else 'MISSES'} "
            f"<= {TARGET_PUSH_P99_MS:.0f} ms"
        )
        print(
            f"IMAP imap_backlog_per_s={per_s:.0f} imap_push_p99_ms={p99:.0f} "
            f"({configuration}) {verdicts}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
