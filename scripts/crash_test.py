"""Crash test: every e-mail that got `250` survives a SIGKILL of Home Assistant.

Starts a real Home Assistant (`hass`) with the integration, lets 20 clients send e-mails with
unique Message-IDs, kills `hass` with SIGKILL at a random moment, starts it again from the same
config folder and checks that every acknowledged e-mail is an incident in the store. The last
line is `RESULT acknowledged=<n> lost=<n> runs=<n>`.
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
from custom_components.email_incidents.store import read_files

CLIENTS = 20
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
        message.set_content("crash test")
        try:
            await aiosmtplib.send(
                message, hostname="127.0.0.1", port=port, timeout=10, local_hostname="localhost"
            )
        except (aiosmtplib.SMTPException, OSError):
            return  # Home Assistant was killed mid-conversation: not acknowledged
        acknowledged.append(token)
        sequence += 1


def stored_summaries(config_dir: Path) -> set[str]:
    """Summaries of every stored incident, read from the files as a start reads them."""
    storage = config_dir / ".storage"
    entries = json.loads((storage / "core.config_entries").read_text(encoding="utf-8"))
    return {
        str(incident["summary"])
        for entry in entries["data"]["entries"]
        if entry["domain"] == "email_incidents"
        for incident in (read_files(storage / f"email_incidents.{entry['entry_id']}")[1] or {}).get(
            "incidents", ()
        )
    }


async def one_run(config_dir: Path, port: int, log: Path, rng: random.Random) -> tuple[int, int]:
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
    # Start again from the same folder: it must load what was acknowledged.
    process = start_home_assistant(config_dir, log)
    try:
        wait_for_port(port, process, 120)
    finally:
        stop_process(process)
    # Lost if missing right after the kill, or after the restart wrote its own state.
    stored = on_disk & stored_summaries(config_dir)
    lost = [token for token in acknowledged if token not in stored]
    for token in lost[:10]:
        print(f"LOST {token}")
    return len(acknowledged), len(lost)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the config folder")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="email-incidents-crash-"))
    total_acknowledged = total_lost = 0
    try:
        for run in range(1, args.runs + 1):
            config_dir = work / f"run{run}"
            port = free_port()
            prepare(
                config_dir, listener={"host": "127.0.0.1", "port": port, **LIMITS}, sources=[SOURCE]
            )
            acknowledged, lost = await one_run(config_dir, port, work / "hass.log", rng)
            print(f"run {run}: acknowledged={acknowledged} lost={lost}")
            total_acknowledged += acknowledged
            total_lost += lost
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"config folders kept in {work}")
    print(f"RESULT acknowledged={total_acknowledged} lost={total_lost} runs={args.runs}")
    return 1 if total_lost or not total_acknowledged else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
