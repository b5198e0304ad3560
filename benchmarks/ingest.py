"""Ingest benchmark: our listener inside a real Home Assistant against a bare aiosmtpd server.

One run, on loopback, the same load generator for both (Postfix's `smtp-source`, taken from the
Debian package without installing or starting a mail server; an asyncio client when it cannot
be had). Ours runs with 10,000 stored incidents and six alert sources with realistic rules, in
two Home Assistant configurations:

- minimal: only what the integration itself loads (http, api, config, auth, websocket_api,
  todo, notify, ...);
- typical: the recorder with its default SQLite database, logbook, history, an automation
  triggered by `email_incidents_incident_created`, and the rest of `default_config` that runs
  offline.

and on two paths: an alert storm (every e-mail opens a new incident) and appends (every e-mail
joins the same open incident). Each of our runs follows a run of the baseline, and a cell's
ratio is the median of these pairs' ratios: the machine's other load hits both alike. Both
servers first take a few hundred unmeasured e-mails (what a start pays once). After the
typical configuration has stopped, the rows its recorder wrote (events, states, state
attributes) are read from its database and counted per e-mail.

Prints a table, then the last line:
RESULT ingest_ratio_1k_c20=.. ingest_ratio_typical_storm=.. ingest_ratio_typical_append=..
recorder_rows_per_email=.. p99_ms=.. load_10k_s=.. bytes_per_incident=.. rss_mb_10k_bodies=..

Run: scripts/bench (`--quick` for a short run, `--profile DIR` to also record where the typical
Home Assistant spends its time on each path, with py-spy)
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
import gc
import json
import os
from pathlib import Path
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "scripts")]

import aiosmtplib  # noqa: E402
from ha_config import (  # noqa: E402
    MINIMAL_CONFIGURATION,
    free_port,
    prepare,
    start_home_assistant,
    stop_process,
    wait_for_port,
)
from homeassistant.helpers.json import json_bytes  # noqa: E402

from custom_components.email_incidents.core.config import source_from_data  # noqa: E402
from custom_components.email_incidents.core.engine import IncidentEngine  # noqa: E402
from custom_components.email_incidents.core.models import (  # noqa: E402
    Actor,
    ActorKind,
    InboundEmail,
)
from custom_components.email_incidents.core.state import state_to_data  # noqa: E402
from custom_components.email_incidents.email_files import (  # noqa: E402
    EmailFiles,
    emails_folder,
)
from custom_components.email_incidents.store import (  # noqa: E402
    snapshot_content,
    snapshot_head,
)

CACHE = REPO_ROOT / ".cache" / "postfix"
ENTRY_ID = "benchmarkentry"
STORED_INCIDENTS = 10_000
RUNS = 5

SOURCES = [
    {
        "name": "Nagios",
        "addresses": ["nagios"],
        "creation_mode": "incident_keys",
        "filters": [{"field": "subject", "operator": "matches", "value": r"\*\* \w+"}],
        "key_rules": [{"field": "subject", "method": "regex", "pattern": r"Host: (?P<key>\S+)"}],
        "resolve_conditions": [{"field": "subject", "operator": "contains", "value": "RECOVERY"}],
        "accept_conditions": [
            {"field": "subject", "operator": "contains", "value": "ACKNOWLEDGEMENT"}
        ],
    },
    {
        "name": "Zabbix",
        "addresses": ["zabbix"],
        "creation_mode": "incident_keys",
        "key_rules": [{"field": "header:In-Reply-To", "method": "whole"}],
        "resolve_conditions": [
            {"field": "subject", "operator": "starts_with", "value": "Resolved"}
        ],
    },
    {
        "name": "Backups",
        "addresses": ["backups"],
        "creation_mode": "per_subject",
        "filters": [
            {"field": "subject", "operator": "not_contains", "value": "successful"},
            # A user's regex that is cubic on a long body: the loop-stall run feeds it one.
            {"field": "body", "operator": "not_matches", "value": r".*a.*b.*c$"},
        ],
    },
    {"name": "UPS", "addresses": ["ups"], "creation_mode": "when_all_resolved"},
    {
        "name": "Bench",
        "addresses": ["bench"],
        "creation_mode": "per_subject",
        "filters": [
            {"field": "from", "operator": "not_contains", "value": "spam"},
            {"field": "body", "operator": "not_matches", "value": r"maintenance\s+window"},
        ],
    },
    {
        "name": "Alerts",
        "addresses": ["storm"],
        "creation_mode": "every_email",
        "filters": [
            {"field": "from", "operator": "not_contains", "value": "spam"},
            {"field": "body", "operator": "not_matches", "value": r"maintenance\s+window"},
        ],
    },
]

# An automation as the README suggests it: a notification for every new incident.
AUTOMATIONS = """\
- alias: Incident opened
  triggers:
    - trigger: event
      event_type: email_incidents_incident_created
  actions:
    - action: notify.persistent_notification
      data:
        title: "{{ trigger.event.data.source_name }}: {{ trigger.event.data.summary }}"
        message: "{{ trigger.event.data.details }}"
"""

# default_config without what needs the network, USB, Bluetooth or binaries this machine does
# not have (bluetooth, dhcp, go2rtc, homeassistant_alerts, ssdp, stream, usb).
TYPICAL_CONFIGURATION = """\
recorder:
history:
logbook:
assist_pipeline:
cloud:
conversation:
energy:
media_source:
mobile_app:
my:
sun:
webhook:
zeroconf:
automation: !include automations.yaml
"""
CONFIGURATIONS = {"minimal": "", "typical": TYPICAL_CONFIGURATION}


@dataclass(frozen=True)
class IngestPath:
    """Where the load goes: `storm` opens an incident per e-mail, `append` joins one."""

    recipient: str
    subject: str


PATHS = {
    "storm": IngestPath("storm@homeassistant.local", "Disk usage above 90 percent"),
    "append": IngestPath("bench@homeassistant.local", "Disk full on nas"),
}
OUR_EVENT_PREFIX = "email_incidents_"


# --- the load generator -------------------------------------------------------------------


@dataclass(frozen=True)
class LoadGenerator:
    name: str
    command: tuple[str, ...] | None
    environment: dict[str, str]


def smtp_source() -> LoadGenerator:
    """Postfix's smtp-source from the Debian package, unpacked into .cache (no install)."""
    binary = CACHE / "usr" / "sbin" / "smtp-source"
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                ["apt-get", "download", "postfix"], cwd=CACHE, check=True, capture_output=True
            )
            package = next(CACHE.glob("postfix_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(package), str(CACHE)], check=True)
        except (OSError, subprocess.CalledProcessError, StopIteration):
            return LoadGenerator("asyncio client (smtp-source unavailable)", None, {})
    environment = {**os.environ, "LD_LIBRARY_PATH": str(CACHE / "usr" / "lib" / "postfix")}
    return LoadGenerator("Postfix smtp-source", (str(binary),), environment)


def message_bytes(size: int, number: int, path: IngestPath) -> bytes:
    message = EmailMessage()
    message["From"] = "load@example.com"
    message["To"] = path.recipient
    message["Subject"] = path.subject
    message["Message-ID"] = f"<{time.time_ns()}.{number}@bench.example>"
    message.set_content("x" * size)
    return message.as_bytes()


async def asyncio_load(
    port: int, size: int, concurrency: int, count: int, path: IngestPath
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(number)

    async def worker() -> None:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, timeout=60, local_hostname="localhost"
        )
        await client.connect()
        while not queue.empty():
            number = queue.get_nowait()
            await client.sendmail(
                "load@example.com", [path.recipient], message_bytes(size, number, path)
            )
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


@dataclass(frozen=True)
class Load:
    path: IngestPath
    size: int
    concurrency: int
    count: int


def drive(generator: LoadGenerator, port: int, load: Load) -> float:
    """Messages per second for the load."""
    started = time.perf_counter()
    if generator.command is None:
        asyncio.run(asyncio_load(port, load.size, load.concurrency, load.count, load.path))
    else:
        subprocess.run(
            [
                *generator.command,
                "-s", str(load.concurrency), "-m", str(load.count), "-l", str(load.size),
                "-f", "load@example.com", "-t", load.path.recipient, "-S", load.path.subject,
                "-M", "localhost", f"127.0.0.1:{port}",
            ],
            env=generator.environment, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return load.count / (time.perf_counter() - started)


# --- the servers -----------------------------------------------------------------------------

BASELINE_SERVER = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="bench", data_size_limit=None, loop=loop),
        "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def prefilled_state() -> dict[str, object]:
    """10,000 incidents over the sources, most resolved, as the store holds them."""
    sources = {
        f"source{index}": source_from_data(f"source{index}", data, domain="homeassistant.local")
        for index, data in enumerate(SOURCES)
    }
    engine = IncidentEngine(sources=sources)
    start = datetime.now(UTC) - timedelta(days=10)
    actor = Actor(kind=ActorKind.ACTION, name="benchmark")
    for number in range(STORED_INCIDENTS):
        source_id = f"source{number % len(SOURCES)}"
        at = start + timedelta(seconds=number * 60)
        [event, *_] = engine.create(
            source_id,
            summary=f"Stored incident {number} on host{number % 97}",
            details="Problem details line.\n" * 5,
            key=f"key-{number}",
            actor=actor,
            now=at,
        )
        if number % 10:
            engine.resolve(event.incident.id, actor, at + timedelta(minutes=5))
    return state_to_data(engine.state)


def prepare_home_assistant(
    config_dir: Path, port: int, *, incidents: bool, configuration: str = ""
) -> None:
    sources = [dict(source) for source in SOURCES]
    prepare(
        config_dir,
        listener={
            "host": "127.0.0.1",
            "port": port,
            "max_connections": 600,
            "max_connections_per_client": 600,
            "messages_per_minute": 1_000_000,
            "max_message_size": 50 * 1024 * 1024,
        },
        sources=sources,
        configuration=MINIMAL_CONFIGURATION + configuration + "bench_probe:\n",
    )
    (config_dir / "automations.yaml").write_text(AUTOMATIONS, encoding="utf-8")
    entries = json.loads((config_dir / ".storage" / "core.config_entries").read_text())
    entry = entries["data"]["entries"][0]
    entry["entry_id"] = ENTRY_ID
    for index, subentry in enumerate(entry["subentries"]):
        subentry["subentry_id"] = f"source{index}"
    (config_dir / ".storage" / "core.config_entries").write_text(json.dumps(entries))
    probe = config_dir / "custom_components" / "bench_probe"
    if not probe.exists():
        probe.symlink_to(Path(__file__).parent / "bench_probe", target_is_directory=True)
    if incidents:
        (config_dir / ".storage" / f"email_incidents.{ENTRY_ID}").write_text(
            json.dumps(
                {"version": 1, "key": f"email_incidents.{ENTRY_ID}", "data": prefilled_state()}
            )
        )


def setup_seconds(config_dir: Path) -> float:
    timings_file = config_dir / "bench_timings.json"
    deadline = time.monotonic() + 120
    while not timings_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return float(json.loads(timings_file.read_text())["email_incidents"])


# --- latency to the bus event ----------------------------------------------------------------


async def steady_latency(port: int, config_dir: Path, rate: int, seconds: int) -> list[float]:
    """Send at `rate` e-mails per second, each opening an incident; latency from the end of
    DATA to the `email_incidents_incident_created` event an automation would see."""
    sent: dict[str, float] = {}
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, timeout=60, local_hostname="localhost"
    )
    await client.connect()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for number in range(rate * seconds):
        await asyncio.sleep(max(0.0, started + number / rate - loop.time()))
        message = EmailMessage()
        token = f"latency-{number}-{time.time_ns()}"
        message["From"] = "latency@example.com"
        message["To"] = PATHS["storm"].recipient
        message["Subject"] = token
        message["Message-ID"] = f"<{token}@bench.example>"
        message.set_content("latency probe")
        await client.mail("latency@example.com")
        await client.rcpt(PATHS["storm"].recipient)
        # From here on only the DATA command and the message itself are left to send.
        sent[token] = time.time()
        await client.data(message.as_bytes())
    await client.quit()
    await asyncio.sleep(2)  # the probe writes what it saw every half second
    received: dict[str, float] = {}
    for line in (config_dir / "bench_events.log").read_text().splitlines():
        stamp, _, summary = line.partition(" ")
        received[summary] = float(stamp)
    return [(received[token] - at) * 1000 for token, at in sent.items() if token in received]


# --- loop stalls on hostile input -----------------------------------------------------------


async def _raw_transaction(port: int, data: bytes, recipient: str = "bench") -> str:
    """One SMTP transaction with `data` as the message; the reply to it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()
    for line in (
        b"EHLO c",
        b"MAIL FROM:<a@example.com>",
        b"RCPT TO:<%s@homeassistant.local>" % recipient.encode(),
    ):
        writer.write(line + b"\r\n")
        while (await reader.readline())[3:4] == b"-":
            pass
    writer.write(b"DATA\r\n")
    if not (await reader.readline()).startswith(b"354"):
        raise RuntimeError("DATA was refused")
    writer.write(data + b"\r\n.\r\n")
    await writer.drain()
    reply = await asyncio.wait_for(reader.readline(), 120)
    writer.close()
    return reply.decode().strip()


async def _hold_connections(port: int, count: int) -> str:
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    greetings = await asyncio.gather(*(reader.readline() for reader, _writer in connections))
    for _reader, writer in connections:
        writer.close()
    return f"{sum(greeting.startswith(b'220') for greeting in greetings)} greeted"


HOSTILE = {
    "1 MiB of folded header lines": lambda port: _raw_transaction(
        port, b"Subject: huge\r\nX-Big: " + b"h" * 1000 + b"\r\n h" * 1000 * 1000 + b"\r\n\r\nx"
    ),
    "10,000 headers": lambda port: _raw_transaction(
        port, b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\nbody"
    ),
    "MIME nested 200 deep": lambda port: _raw_transaction(
        port,
        b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
        + b"".join(
            b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i)
            for i in range(1, 200)
        ),
    ),
    "1 MiB header line": lambda port: _raw_transaction(port, b"X-Big: " + b"h" * 1024 * 1024),
    "10 MiB single line": lambda port: _raw_transaction(port, b"\r\n" + b"x" * 10 * 1024 * 1024),
    "catastrophic regex, 5 MB body": lambda port: _raw_transaction(
        port, b"Subject: heavy\r\n\r\n" + b"\r\n".join([b"a" * 1000] * 5000), "backups"
    ),
    "500 simultaneous connections": lambda port: _hold_connections(port, 500),
}


async def loop_stalls(port: int, config_dir: Path) -> dict[str, tuple[str, float]]:
    """For each hostile input, our reply and the longest time Home Assistant's loop was late
    (its probe's 10 ms timer) while it was handled, in milliseconds."""
    windows: dict[str, tuple[float, float]] = {}
    replies: dict[str, str] = {}
    for name, send in HOSTILE.items():
        started = time.time()
        replies[name] = await send(port)
        await asyncio.sleep(0.3)  # what the input set off (parsing, writing) ends too
        windows[name] = (started, time.time())
    await asyncio.sleep(1)  # the probe writes what it saw every half second
    stalls_file = config_dir / "bench_stalls.log"
    stalls = [
        (float(stamp), float(late))
        for stamp, late in (
            line.split()
            for line in (stalls_file.read_text().splitlines() if stalls_file.exists() else ())
        )
    ]
    return {
        name: (
            replies[name],
            1000 * max((late for stamp, late in stalls if start <= stamp <= end), default=0.0),
        )
        for name, (start, end) in windows.items()
    }


# --- memory per stored incident --------------------------------------------------------------


def bytes_per_incident() -> tuple[int, int]:
    """Memory held per stored incident, beyond the characters of its own text: the engine's
    incident and the store's encoded record, as loaded from the files at start."""
    from custom_components.email_incidents.core.state import state_from_data
    from custom_components.email_incidents.store import read_files

    folder = Path(tempfile.mkdtemp(prefix="email-incidents-memory-"))
    try:
        path = folder / f"email_incidents.{ENTRY_ID}"
        path.write_text(json.dumps({"version": 1, "key": path.name, "data": prefilled_state()}))
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        disk, data = read_files(path)
        assert data is not None
        engine = IncidentEngine(state_from_data(data))
        del data
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert len(disk.records) == len(engine.state.incidents) == STORED_INCIDENTS
    text = sum(
        len(incident.summary) + len(incident.details) + sum(len(e.message) for e in incident.log)
        for incident in engine.state.incidents.values()
    )
    total = after - before
    return total // STORED_INCIDENTS, (total - text) // STORED_INCIDENTS


# --- rows the recorder wrote -----------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """When a cell's runs took place (and what they set off had settled), and how many e-mails
    went to Home Assistant in it."""

    start: float
    end: float
    emails: int


@dataclass(frozen=True)
class Rows:
    """Rows written in a window, per table: ours (our events and our entities' states) and
    everyone's (the automation's and the rest of Home Assistant's too)."""

    ours: Counter[str]
    everyone: Counter[str]
    emails: int

    def per_email(self, counts: Counter[str]) -> float:
        return sum(counts.values()) / self.emails


def recorder_rows(config_dir: Path, windows: dict[str, Window]) -> dict[str, Rows]:
    """Read the stopped Home Assistant's recorder database: the rows of each window."""
    registry = json.loads((config_dir / ".storage" / "core.entity_registry").read_text())
    our_entities = {
        entity["entity_id"]
        for entity in registry["data"]["entities"]
        if entity["platform"] == "email_incidents"
    }
    database = sqlite3.connect(config_dir / "home-assistant_v2.db")
    try:
        events = database.execute(
            "SELECT event_types.event_type, events.time_fired_ts FROM events"
            " JOIN event_types ON events.event_type_id = event_types.event_type_id"
        ).fetchall()
        states = database.execute(
            "SELECT states_meta.entity_id, states.last_updated_ts, states.attributes_id FROM states"
            " JOIN states_meta ON states.metadata_id = states_meta.metadata_id"
            " ORDER BY states.state_id"
        ).fetchall()
    finally:
        database.close()
    # A state_attributes row has no time of its own: it is written with the first state using it.
    first_use: dict[int, tuple[str, float]] = {}
    for entity_id, stamp, attributes_id in states:
        if attributes_id is not None:
            first_use.setdefault(attributes_id, (entity_id, stamp))
    rows: list[tuple[str, bool, float]] = [
        ("events", event_type.startswith(OUR_EVENT_PREFIX), stamp) for event_type, stamp in events
    ]
    rows += [("states", entity_id in our_entities, stamp) for entity_id, stamp, _ in states]
    rows += [
        ("state_attributes", entity_id in our_entities, stamp)
        for entity_id, stamp in first_use.values()
    ]
    result = {}
    for name, window in windows.items():
        ours: Counter[str] = Counter()
        everyone: Counter[str] = Counter()
        for table, is_ours, stamp in rows:
            if window.start <= stamp < window.end:
                everyone[table] += 1
                if is_ours:
                    ours[table] += 1
        result[name] = Rows(ours, everyone, window.emails)
    return result


# --- where the time goes ---------------------------------------------------------------------


def py_spy() -> str:
    """py-spy from the environment, installed into it the first time it is asked for."""
    binary = Path(sys.executable).with_name("py-spy")
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return str(binary)


PROFILE_RATE = 250  # samples per second


def profile(pid: int, output: Path, emails: int, run: Callable[[], object]) -> None:
    """Sample the process while `run` sends `emails` e-mails, counting only the threads that
    hold Python's lock (the time that makes others wait too); collapsed stacks in `output`.
    Prints milliseconds per e-mail per thread, and in the event loop's thread the functions
    with the largest share."""
    recorder = subprocess.Popen(
        [
            py_spy(), "record", "--pid", str(pid), "--nonblocking", "--threads", "--gil",
            "--format", "raw", "--output", str(output), "--rate", str(PROFILE_RATE),
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        run()
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, samples = stack.split(";"), int(count)
        thread = frames[0].rpartition(": ")[2]
        threads[thread.rstrip("_0123456789")] += samples
        if thread == "MainThread":
            own[frames[-1]] += samples
            for frame in set(frames[1:]):
                inclusive[frame] += samples
    ms_per_email = 1000 / PROFILE_RATE / emails
    print(f"  {output.name}: ms per e-mail holding the GIL, by thread:")
    for thread, samples in threads.most_common():
        print(f"    {samples * ms_per_email:6.3f}  {thread}")
    loop = threads["MainThread"]
    print("  in the event loop's thread (ms per e-mail, inclusive, without the loop itself):")
    for frame, samples in inclusive.most_common(60):
        if samples < 0.9 * loop:
            print(f"    {samples * ms_per_email:6.3f}  {frame}")
    print("  in the event loop's thread (ms per e-mail, the function itself):")
    for frame, samples in own.most_common(15):
        print(f"    {samples * ms_per_email:6.3f}  {frame}")


# --- resident memory of stored e-mails ------------------------------------------------------

EMAILS_PER_INCIDENT = 3
BODY_BYTES = 4096


def store_incidents_with_emails(config_dir: Path) -> None:
    """10,000 resolved incidents of 3 e-mails with 4 KiB bodies each, in the store's files: the
    state and the e-mail segments it refers to."""
    state_file = config_dir / ".storage" / f"email_incidents.{ENTRY_ID}"
    files = EmailFiles(emails_folder(state_file))
    source = source_from_data(
        "source0",
        {"name": "Nagios", "addresses": ["nagios"], "creation_mode": "when_all_resolved"},
        domain="homeassistant.local",
    )
    engine = IncidentEngine(sources={"source0": source}, store_email=files.reserve)
    actor = Actor(kind=ActorKind.ACTION, name="benchmark")
    start = datetime.now(UTC) - timedelta(days=10)
    line = "Service disk usage on host{host} is CRITICAL: 97% used, 3% free of 2 TB\n"
    for number in range(STORED_INCIDENTS):
        at = start + timedelta(seconds=number * 60)
        body = (line.format(host=number % 97) * (BODY_BYTES // len(line) + 1))[:BODY_BYTES]
        for index in range(EMAILS_PER_INCIDENT):
            engine.ingest(
                InboundEmail(
                    subject=f"PROBLEM disk on host{number % 97} ({number})",
                    from_address="nagios@monitoring.example.com",
                    to=("nagios@homeassistant.local",),
                    envelope_recipients=("nagios@homeassistant.local",),
                    message_id=f"<{number}.{index}@monitoring.example.com>",
                    body=body,
                ),
                at + timedelta(seconds=index),
            )
        engine.resolve(f"INC-{number + 1}", actor, at + timedelta(minutes=5))
    files.write(files.take_pending())
    files.close()
    # As the store writes it.
    data = state_to_data(engine.state)
    records = [bytes(json_bytes(record)) for record in data.pop("incidents")]
    state_file.write_bytes(snapshot_content(snapshot_head(state_file.name, data), records))


def resident_mb(config_dir: Path, port: int) -> float:
    """Resident memory of Home Assistant once the integration is set up and has settled."""
    process = start_home_assistant(config_dir, config_dir / "hass.log")
    try:
        wait_for_port(port, process)
        setup_seconds(config_dir)
        time.sleep(5)
        status = Path(f"/proc/{process.pid}/status").read_text()
        [kilobytes] = [row.split()[1] for row in status.splitlines() if row.startswith("VmRSS:")]
        return int(kilobytes) / 1024
    finally:
        stop_process(process)


def rss_mb_10k_bodies() -> float:
    """How much more resident memory Home Assistant uses with 10,000 stored incidents of three
    4 KiB e-mails than with none (the e-mails are on disk, read when shown)."""
    work = Path(tempfile.mkdtemp(prefix="email-incidents-rss-"))
    try:
        sizes = []
        for name, stored in (("none", False), ("stored", True)):
            config_dir, port = work / name, free_port()
            prepare_home_assistant(config_dir, port, incidents=False)
            if stored:
                store_incidents_with_emails(config_dir)
            sizes.append(resident_mb(config_dir, port))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    empty, full = sizes
    print(
        f"resident memory: {empty:.1f} MB with no incidents, {full:.1f} MB with 10,000 of 3 e-mails"
    )
    return full - empty


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    configuration: str
    path: str
    load: Load


@dataclass(frozen=True)
class Measured:
    baseline: float
    ours: float
    ratio: float


def measure(
    generator: LoadGenerator, baseline_port: int, port: int, load: Load, runs: int
) -> Measured:
    """Each run of ours right after one of the baseline; medians of the rates and the ratios."""
    pairs = [
        (drive(generator, baseline_port, load), drive(generator, port, load)) for _ in range(runs)
    ]
    return Measured(
        baseline=statistics.median(base for base, _ in pairs),
        ours=statistics.median(ours for _, ours in pairs),
        ratio=statistics.median(ours / base for base, ours in pairs),
    )


WARM_UP_EMAILS = 300


def warm_up(generator: LoadGenerator, baseline_port: int, port: int) -> None:
    """A few hundred unmeasured e-mails on each path to both servers first: what the first
    e-mails after a start pay once (imports, caches) is not an alert storm's cost."""
    for path in PATHS.values():
        load = Load(path, 1024, 20, WARM_UP_EMAILS)
        drive(generator, baseline_port, load)
        drive(generator, port, load)
    time.sleep(SETTLE_SECONDS)


def cells(quick: bool) -> list[Cell]:
    small, large = (300, 50) if quick else (1000, 200)
    storm, append = PATHS["storm"], PATHS["append"]
    return [
        Cell("minimal", "storm", Load(storm, 1024, 20, small)),
        Cell("minimal", "append", Load(append, 1024, 20, small)),
        Cell("minimal", "storm", Load(storm, 1024, 1, small)),
        Cell("minimal", "storm", Load(storm, 100 * 1024, 20, large)),
        Cell("typical", "storm", Load(storm, 1024, 20, small)),
        Cell("typical", "append", Load(append, 1024, 20, small)),
    ]


PROFILED_EMAILS = 2000
SETTLE_SECONDS = 3.0  # what a run set off (deferred entity writes, the store) is done by then


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer messages, one run each")
    parser.add_argument(
        "--profile", type=Path, help="folder for py-spy profiles of the typical configuration"
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else RUNS
    plan = cells(args.quick)

    generator = smtp_source()
    print(f"load generator: {generator.name}")
    work = Path(tempfile.mkdtemp(prefix="email-incidents-bench-"))
    results: dict[Cell, Measured] = {}
    windows: dict[str, Window] = {}
    baseline_port = free_port()
    baseline = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(baseline_port)])
    try:
        wait_for_port(baseline_port, baseline)

        empty_dir, empty_port = work / "empty", free_port()
        prepare_home_assistant(empty_dir, empty_port, incidents=False)
        empty = start_home_assistant(empty_dir, empty_dir / "hass.log")
        try:
            wait_for_port(empty_port, empty)
            setup_empty = setup_seconds(empty_dir)
        finally:
            stop_process(empty)

        for configuration, extra in CONFIGURATIONS.items():
            config_dir, port = work / configuration, free_port()
            prepare_home_assistant(config_dir, port, incidents=True, configuration=extra)
            ours = start_home_assistant(config_dir, config_dir / "hass.log")
            try:
                wait_for_port(port, ours)
                setup = setup_seconds(config_dir)
                if configuration == "minimal":
                    setup_full = setup
                warm_up(generator, baseline_port, port)
                for cell in (cell for cell in plan if cell.configuration == configuration):
                    started = time.time()
                    results[cell] = measure(generator, baseline_port, port, cell.load, runs)
                    time.sleep(SETTLE_SECONDS)
                    if configuration == "typical":
                        windows[cell.path] = Window(started, time.time(), cell.load.count * runs)
                if configuration == "minimal":
                    stalls = asyncio.run(loop_stalls(port, config_dir))
                    continue
                latencies = asyncio.run(
                    steady_latency(port, config_dir, 50, 5 if args.quick else 20)
                )
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    print("profiles of the typical configuration (py-spy):")
                    for name, path in PATHS.items():
                        load = Load(path, 1024, 20, PROFILED_EMAILS)
                        profile(
                            ours.pid,
                            args.profile / f"typical-{name}.txt",
                            load.count,
                            partial(drive, generator, port, load),
                        )
            finally:
                stop_process(ours)
        rows = recorder_rows(work / "typical", windows)
    finally:
        stop_process(baseline)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"{'configuration':13} {'path':6} {'size':>7} {'conc':>4} {'baseline/s':>10} "
        f"{'ours/s':>7} {'ratio':>5}"
    )
    for cell, measured in results.items():
        size = f"{cell.load.size // 1024} KiB"
        print(
            f"{cell.configuration:13} {cell.path:6} {size:>7} {cell.load.concurrency:>4} "
            f"{measured.baseline:10.1f} {measured.ours:7.1f} {measured.ratio:5.2f}"
        )
    print("rows the recorder wrote per e-mail (typical configuration, 1 KiB, 20 connections):")
    for path, counts in rows.items():
        print(
            f"  {path:6} ours {counts.per_email(counts.ours):5.2f} "
            f"(events {counts.ours['events'] / counts.emails:.2f}, "
            f"states {counts.ours['states'] / counts.emails:.2f}, "
            f"state attributes {counts.ours['state_attributes'] / counts.emails:.2f}); "
            f"with the automation and the rest of Home Assistant "
            f"{counts.per_email(counts.everyone):5.2f}"
        )
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency end of DATA -> incident_created event at 50/s (typical): p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms ({len(latencies)} e-mails)"
    )
    print(
        f"setup of the integration: {setup_empty:.3f} s empty, {setup_full:.3f} s with "
        f"{STORED_INCIDENTS} incidents"
    )
    print("longest stall of Home Assistant's loop (budget 100 ms):")
    for name, (reply, stall) in stalls.items():
        print(f"  {name:32} {stall:7.1f} ms   {reply}")
    total_bytes, beyond_text = bytes_per_incident()
    print(f"memory per stored incident: {total_bytes} bytes, {beyond_text} beyond its text")
    rss_mb = rss_mb_10k_bodies()

    def ratio(configuration: str, path: str) -> float:
        return next(
            measured.ratio
            for cell, measured in results.items()
            if (cell.configuration, cell.path, cell.load.size, cell.load.concurrency)
            == (configuration, path, 1024, 20)
        )

    rows_per_email = max(counts.per_email(counts.ours) for counts in rows.values())
    print(
        f"RESULT ingest_ratio_1k_c20={ratio('minimal', 'storm'):.2f} "
        f"ingest_ratio_typical_storm={ratio('typical', 'storm'):.2f} "
        f"ingest_ratio_typical_append={ratio('typical', 'append'):.2f} "
        f"recorder_rows_per_email={rows_per_email:.2f} p99_ms={p99:.1f} "
        f"load_10k_s={setup_full:.3f} bytes_per_incident={beyond_text} "
        f"rss_mb_10k_bodies={rss_mb:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
