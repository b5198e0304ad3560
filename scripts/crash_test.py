"""Crash test: every e-mail that got `250` survives a SIGKILL of Home Assistant.

Starts a real Home Assistant (`hass`) with the integration, lets 20 clients send e-mails with
unique Message-IDs, kills `hass` with SIGKILL at a random moment, starts it again from the same
config folder and checks that every acknowledged e-mail is an incident in the store.

Every acknowledged e-mail's text must be readable from its segment too. Runs take turns: after
the kill, the second run of every four cuts the newest e-mail segment back to a random point
after what was synced, as a power loss would leave it (the journal carries those e-mails, and
the start must put them back); the third damages one line of the journal and the fourth cuts
the snapshot short, as a failing disk would. Then every acknowledged e-mail must still be loaded
except those whose only record was in the damaged part (counted as `skipped`); a copy of the
damaged file must be kept next to it. The last line is
`RESULT acknowledged=<n> lost=<n> runs=<n> damaged_runs=<n> skipped=<n>`.
"""

from __future__ import annotations

import argparse
import asyncio
from email.message import EmailMessage
import json
from pathlib import Path
import random
import shutil
import signal
import sys
import tempfile

import aiosmtplib
from ha_config import (
    REPO_ROOT,
    free_port,
    prepare,
    start_home_assistant,
    stop_process,
    wait_for_port,
)

sys.path.insert(0, str(REPO_ROOT))
from custom_components.email_incidents.core.models import EmailRecord, EmailRef
from custom_components.email_incidents.core.state import state_from_data
from custom_components.email_incidents.email_files import EmailFiles, emails_folder
from custom_components.email_incidents.store import journal_path, read_files

CLIENTS = 20
DAMAGES = ("none", "lost e-mail tail", "damaged journal line", "cut snapshot")
BODY = "crash test"
SOURCE = {"name": "Crash", "addresses": ["crash"], "creation_mode": "every_email"}
# All clients come from 127.0.0.1: lift the per-client limits so the load is real.
LIMITS = {
    "messages_per_minute": 1_000_000,
    "max_connections": 100,
    "max_connections_per_client": 100,
}


async def client(port: int, number: int, acknowledged: list[str], stop: asyncio.Event) -> None:
    sequence = 0
    while not stop.is_set():
        token = f"crash-{number}-{sequence}-{random.getrandbits(32):08x}"
        message = EmailMessage()
        message["From"] = "load@example.com"
        message["To"] = "crash@homeassistant.local"
        message["Subject"] = token
        message["Message-ID"] = f"<{token}@example.com>"
        message.set_content(BODY)
        try:
            await aiosmtplib.send(
                message, hostname="127.0.0.1", port=port, timeout=10, local_hostname="localhost"
            )
        except (aiosmtplib.SMTPException, OSError):
            return  # Home Assistant was killed mid-conversation: not acknowledged
        acknowledged.append(token)
        sequence += 1


def snapshot_path(config_dir: Path) -> Path:
    storage = config_dir / ".storage"
    entries = json.loads((storage / "core.config_entries").read_text(encoding="utf-8"))
    [entry_id] = [
        entry["entry_id"]
        for entry in entries["data"]["entries"]
        if entry["domain"] == "email_incidents"
    ]
    return storage / f"email_incidents.{entry_id}"


def stored_summaries(config_dir: Path) -> set[str]:
    """Summaries of the stored incidents whose e-mail reads back from its segment, read from
    the files as a start reads them."""
    snapshot = snapshot_path(config_dir)
    data = read_files(snapshot)[1]
    if data is None:
        return set()
    incidents = list(state_from_data(data).incidents.values())
    refs = [incident.emails[0] for incident in incidents]
    assert all(isinstance(ref, EmailRef) for ref in refs)
    bodies = EmailFiles(emails_folder(snapshot)).read(refs)  # type: ignore[arg-type]
    return {
        incident.summary
        for incident, email in zip(incidents, bodies, strict=True)
        if isinstance(email, EmailRecord) and email.body == BODY
    }


def _skip_separators(text: str, position: int) -> int:
    """Past the commas and line breaks between a snapshot's records."""
    while position < len(text) and text[position] in ",\n":
        position += 1
    return position


def damage(config_dir: Path, kind: str, rng: random.Random) -> set[str]:
    """Damage the files as `kind` says; the summaries whose only record was in the damaged
    part, which may be skipped."""
    snapshot = snapshot_path(config_dir)
    if kind == "lost e-mail tail" and (carried := read_files(snapshot)[0].journal_emails):
        # Only what no snapshot has synced yet can be lost: e-mails the journal carries.
        segment = max(ref.segment for ref, _data in carried)
        start = min(ref.offset for ref, _data in carried if ref.segment == segment)
        path = emails_folder(snapshot) / f"{segment:08d}"
        with path.open("r+b") as file:
            file.truncate(rng.randrange(start, path.stat().st_size + 1))
        return set()  # the journal holds all of it: nothing may be missing
    if kind == "damaged journal line" and journal_path(snapshot).exists():
        lines = journal_path(snapshot).read_bytes().split(b"\n")[:-1]  # complete lines only
        if not lines:
            return set()
        number = rng.randrange(len(lines))
        line = lines[number]
        lines[number] = line[: len(line) // 2] + b"\x00 damaged \x00" + line[len(line) // 2 :]
        journal_path(snapshot).write_bytes(b"".join(line + b"\n" for line in lines))
        return {str(record["summary"]) for record in json.loads(line)["incidents"]}
    if kind == "cut snapshot" and snapshot.exists():
        content = snapshot.read_bytes()
        start = content.index(b'"incidents":[') + len(b'"incidents":[')
        cut = rng.randrange(start, len(content))
        snapshot.write_bytes(content[:cut])
        # Every text of the crash test is ASCII: character and byte positions are the same.
        text, decoder, position, cut_off = content.decode(), json.JSONDecoder(), start, set()
        while (position := _skip_separators(text, position)) < len(text) and text[position] == "{":
            record, end = decoder.raw_decode(text, position)
            if end > cut:
                cut_off.add(str(record["summary"]))
            position = end
        return cut_off
    return set()


def kept_copies(config_dir: Path) -> list[Path]:
    return sorted((config_dir / ".storage").glob("email_incidents.*.damaged-*"))


async def one_run(
    config_dir: Path, port: int, log: Path, rng: random.Random, kind: str
) -> tuple[int, int, int]:
    """Acknowledged, lost and skipped e-mails of one run (a run whose damage left no copy of
    the damaged file counts every e-mail it skipped as lost)."""
    process = start_home_assistant(config_dir, log)
    try:
        wait_for_port(port, process, 120)
        acknowledged: list[str] = []
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(client(port, number, acknowledged, stop))
            for number in range(CLIENTS)
        ]
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    on_disk = stored_summaries(config_dir)
    damaged = damage(config_dir, kind, rng)
    # Start again from the same folder: it must load what was acknowledged.
    process = start_home_assistant(config_dir, log)
    try:
        wait_for_port(port, process, 120)
    finally:
        stop_process(process)
    # Lost if missing right after the kill, or after the restart wrote its own state.
    stored = on_disk & stored_summaries(config_dir)
    missing = [token for token in acknowledged if token not in stored]
    lost = [token for token in missing if token not in damaged]
    skipped = len(missing) - len(lost)
    if skipped and not kept_copies(config_dir):
        print("NO COPY of the damaged file was kept")
        lost = missing
    for token in lost[:10]:
        print(f"LOST {token}")
    return len(acknowledged), len(lost), skipped


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the config folder")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="email-incidents-crash-"))
    total_acknowledged = total_lost = total_skipped = damaged_runs = 0
    try:
        for run in range(1, args.runs + 1):
            config_dir = work / f"run{run}"
            port = free_port()
            prepare(
                config_dir, listener={"host": "127.0.0.1", "port": port, **LIMITS}, sources=[SOURCE]
            )
            kind = DAMAGES[(run - 1) % len(DAMAGES)]
            acknowledged, lost, skipped = await one_run(
                config_dir, port, work / "hass.log", rng, kind
            )
            print(
                f"run {run} ({kind}): acknowledged={acknowledged} lost={lost} skipped={skipped}"
                f" kept={[path.name for path in kept_copies(config_dir)]}"
            )
            total_acknowledged += acknowledged
            total_lost += lost
            total_skipped += skipped
            damaged_runs += kind != "none"
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"config folders kept in {work}")
    print(
        f"RESULT acknowledged={total_acknowledged} lost={total_lost} runs={args.runs}"
        f" damaged_runs={damaged_runs} skipped={total_skipped}"
    )
    return 1 if total_lost or not total_acknowledged else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
