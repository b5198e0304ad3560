"""Ingest benchmark: our listener inside a real Home Assistant against a bare aiosmtpd server.

One run, on loopback, the same load generator for both (Postfix's `smtp-source`, taken from the
Debian package without installing or starting a mail server; an asyncio client when it cannot
be had). Ours runs with 10,000 stored incidents and 5 alert sources with realistic rules.

Prints a table, then the last line:
RESULT ingest_ratio_1k_c20=<ours/baseline> p99_ms=<ms> load_10k_s=<s> bytes_per_incident=<n>
       rss_mb_10k_bodies=<MB>

Run: scripts/bench
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
import gc
import json
import os
from pathlib import Path
import shutil
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

CACHE = REPO_ROOT / ".cache" / "postfix"
ENTRY_ID = "benchmarkentry"
STORED_INCIDENTS = 10_000
RUNS = 3

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
]


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


def message_bytes(size: int, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "load@example.com"
    message["To"] = "bench@homeassistant.local"
    message["Subject"] = f"Load {number % 50}"
    message["Message-ID"] = f"<{time.time_ns()}.{number}@bench.example>"
    message.set_content("x" * size)
    return message.as_bytes()


async def asyncio_load(port: int, size: int, concurrency: int, count: int) -> None:
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
                "load@example.com", ["bench@homeassistant.local"], message_bytes(size, number)
            )
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def drive(generator: LoadGenerator, port: int, size: int, concurrency: int, count: int) -> float:
    """Messages per second for `count` messages of `size` bytes over `concurrency` sessions."""
    started = time.perf_counter()
    if generator.command is None:
        asyncio.run(asyncio_load(port, size, concurrency, count))
    else:
        subprocess.run(
            [
                *generator.command,
                "-s", str(concurrency), "-m", str(count), "-l", str(size),
                "-f", "load@example.com", "-t", "bench@homeassistant.local",
                "-M", "bench.example", f"127.0.0.1:{port}",
            ],
            env=generator.environment, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return count / (time.perf_counter() - started)


# --- the two servers -------------------------------------------------------------------------

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
    """10,000 incidents over the five sources, most resolved, as the store holds them."""
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


def prepare_home_assistant(config_dir: Path, port: int, incidents: bool) -> None:
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
        configuration=MINIMAL_CONFIGURATION + "bench_probe:\n",
    )
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
    """Send at `rate` e-mails per second; latency from the end of DATA to the bus event."""
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
        message["To"] = "bench@homeassistant.local"
        message["Subject"] = f"Latency {number % 20}"
        message["Message-ID"] = f"<{token}@bench.example>"
        message.set_content("latency probe")
        await client.mail("latency@example.com")
        await client.rcpt("bench@homeassistant.local")
        # From here on only the DATA command and the message itself are left to send.
        sent[message["Message-ID"]] = time.time()
        await client.data(message.as_bytes())
    await client.quit()
    await asyncio.sleep(2)  # the probe writes what it saw every half second
    received: dict[str, float] = {}
    for line in (config_dir / "bench_events.log").read_text().splitlines():
        stamp, _, message_id = line.partition(" ")
        received[message_id] = float(stamp)
    return [
        (received[message_id] - at) * 1000
        for message_id, at in sent.items()
        if message_id in received
    ]


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
    state_file.write_text(
        json.dumps({"version": 1, "key": state_file.name, "data": state_to_data(engine.state)})
    )


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer messages, one run each")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else RUNS
    counts = {1024: 300 if args.quick else 1000, 100 * 1024: 50 if args.quick else 200}

    generator = smtp_source()
    print(f"load generator: {generator.name}")
    work = Path(tempfile.mkdtemp(prefix="email-incidents-bench-"))
    results: dict[tuple[str, int, int], float] = {}
    baseline_port = free_port()
    baseline = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(baseline_port)])
    try:
        wait_for_port(baseline_port, baseline)

        empty_dir, full_dir = work / "empty", work / "full"
        empty_port, full_port = free_port(), free_port()
        prepare_home_assistant(empty_dir, empty_port, incidents=False)
        prepare_home_assistant(full_dir, full_port, incidents=True)
        empty = start_home_assistant(empty_dir, empty_dir / "hass.log")
        try:
            wait_for_port(empty_port, empty)
            setup_empty = setup_seconds(empty_dir)
        finally:
            stop_process(empty)
        ours = start_home_assistant(full_dir, full_dir / "hass.log")
        try:
            wait_for_port(full_port, ours)
            setup_full = setup_seconds(full_dir)
            for size, count in counts.items():
                for concurrency in (1, 20):
                    for name, port in (("baseline", baseline_port), ("ours", full_port)):
                        rates = [
                            drive(generator, port, size, concurrency, count) for _ in range(runs)
                        ]
                        results[(name, size, concurrency)] = statistics.median(rates)
            latencies = asyncio.run(
                steady_latency(full_port, full_dir, 50, 5 if args.quick else 20)
            )
            stalls = asyncio.run(loop_stalls(full_port, full_dir))
        finally:
            stop_process(ours)
    finally:
        stop_process(baseline)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'size':>8} {'conc':>5} {'baseline/s':>11} {'ours/s':>9} {'ratio':>6}")
    for size in counts:
        for concurrency in (1, 20):
            base = results[("baseline", size, concurrency)]
            ours_rate = results[("ours", size, concurrency)]
            label = f"{size // 1024} KiB"
            print(
                f"{label:>8} {concurrency:>5} {base:11.1f} {ours_rate:9.1f} {ours_rate / base:6.2f}"
            )
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency end of DATA -> bus event at 50/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({len(latencies)} e-mails)"
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
    ratio = results[("ours", 1024, 20)] / results[("baseline", 1024, 20)]
    print(
        f"RESULT ingest_ratio_1k_c20={ratio:.2f} p99_ms={p99:.1f} "
        f"load_10k_s={setup_full:.3f} bytes_per_incident={beyond_text} "
        f"rss_mb_10k_bodies={rss_mb:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
