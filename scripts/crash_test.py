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
`RESULT kind=smtp acknowledged=<n> lost=<n> runs=<n> damaged_runs=<n> skipped=<n>`.

The mailbox kind (`--kind mailbox`) takes a backlog from a real Dovecot instead: it appends
`--messages` messages (unique Message-IDs and subjects, all to the alert source) to the INBOX
of a mailbox that marks what it stored as seen, starts Home Assistant and kills it with SIGKILL
while it takes the backlog, `--runs` times, each at a random point: odd runs the moment the
store's files change for the n-th time (after a write, before or while its batch is flagged),
even runs once a random share of what is left is flagged and up to 50 ms more. After every
kill the store must hold exactly the messages up to the mailbox's stored mark, each once, and
every message already flagged \\Seen. Then 100 more messages arrive and a last start takes the
rest; every message must be an incident exactly once and \\Seen, the stored mark at the last
UID with no flag step pending, and no message taken again (the store's `duplicate` counter,
which a re-taken message with the same Message-ID would raise). The last line is
`RESULT kind=mailbox messages=<n> incidents=<n> lost=<n> doubled=<n> retaken=<n> not_seen=<n>
runs=<n> killed_while_taking=<n>`.
`--kind all` (the default, what CI runs) runs the SMTP kind and then the mailbox kind.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from email.message import EmailMessage
import imaplib
import json
from pathlib import Path
import random
import re
import shutil
import signal
import sys
import tempfile
import time

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
from custom_components.email_incidents.core.mailbox import BATCH_MESSAGES
from custom_components.email_incidents.core.models import EmailRecord, EmailRef
from custom_components.email_incidents.core.state import EngineState, MailboxMark, state_from_data
from custom_components.email_incidents.email_files import EmailFiles, emails_folder
from custom_components.email_incidents.store import journal_path, read_files
from tests.servers.dovecot import Dovecot, running_dovecot

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
# The mailbox kind: its backlog, what arrives before the last start, its subentry, how long a
# start may take to flag the share of the backlog a run waits for, and how long the last start
# may take for all of it.
MAILBOX_MESSAGES = 1500
LATE_MESSAGES = 100
MAILBOX_ID = "crash_mailbox"
TAKE_SECONDS = 60.0
FINAL_SECONDS = 120.0


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


def read_store(config_dir: Path) -> tuple[EngineState | None, list[str], set[str]]:
    """The state a start would load from the files (None before the first write), the
    summaries of all its incidents (one per incident) and those whose e-mail does not read
    back from its segment."""
    snapshot = snapshot_path(config_dir)
    data = read_files(snapshot)[1]
    if data is None:
        return None, [], set()
    state = state_from_data(data)
    incidents = list(state.incidents.values())
    refs = [incident.emails[0] for incident in incidents]
    assert all(isinstance(ref, EmailRef) for ref in refs)
    bodies = EmailFiles(emails_folder(snapshot)).read(refs)  # type: ignore[arg-type]
    unreadable = {
        incident.summary
        for incident, email in zip(incidents, bodies, strict=True)
        if not (isinstance(email, EmailRecord) and email.body == BODY)
    }
    return state, [incident.summary for incident in incidents], unreadable


def stored_summaries(config_dir: Path) -> set[str]:
    """Summaries of the stored incidents whose e-mail reads back from its segment, read from
    the files as a start reads them."""
    _state, summaries, unreadable = read_store(config_dir)
    return set(summaries) - unreadable


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


# --- the mailbox kind -----------------------------------------------------------------------


def add_mailbox(config_dir: Path, server: Dovecot) -> None:
    """A mailbox subentry on the seeded entry: the Dovecot's INBOX over implicit TLS, stored
    messages marked seen, the crash source for what reaches none."""
    entries_file = config_dir / ".storage" / "core.config_entries"
    entries = json.loads(entries_file.read_text(encoding="utf-8"))
    [entry] = [
        entry for entry in entries["data"]["entries"] if entry["domain"] == "email_incidents"
    ]
    [source_id] = [
        subentry["subentry_id"]
        for subentry in entry["subentries"]
        if subentry["subentry_type"] == "alert_source"
    ]
    entry["subentries"].append(
        {
            "data": {
                "name": "Crash mailbox",
                "host": "127.0.0.1",
                "port": server.imaps_port,
                "security": "ssl",
                "verify_certificate": False,  # Dovecot's certificate is self-signed
                "username": server.user,
                "password": server.password,
                "folder": "INBOX",
                "after_store": "mark_seen",
                "move_to": "",
                "default_source": source_id,
                "poll_seconds": 10,
            },
            "subentry_id": MAILBOX_ID,
            "subentry_type": "mailbox",
            "title": "Crash mailbox",
            "unique_id": None,
        }
    )
    entries_file.write_text(json.dumps(entries, indent=2), encoding="utf-8")


def mailbox_message(token: str) -> bytes:
    message = EmailMessage()
    message["From"] = "backlog@example.com"
    message["To"] = "crash@homeassistant.local"
    message["Subject"] = token
    message["Message-ID"] = f"<{token}@example.com>"
    message.set_content(BODY)
    return message.as_bytes()


def unseen_count(client: imaplib.IMAP4) -> int:
    """How many messages of the INBOX are not \\Seen yet (STATUS, nothing selected)."""
    status, data = client.status("INBOX", "(UNSEEN)")
    line = b" ".join(item for item in data if isinstance(item, bytes))
    if status != "OK" or not (match := re.search(rb"UNSEEN (\d+)", line)):
        raise RuntimeError(f"STATUS INBOX: {status} {data!r}")
    return int(match[1])


def seen_tokens(server: Dovecot, tokens: list[str]) -> set[str]:
    """The messages flagged \\Seen (the backlog's UIDs are 1..n in the order appended)."""
    return {tokens[uid - 1] for uid, flags in server.flags().items() if "\\Seen" in flags}


def check_after_kill(
    config_dir: Path, server: Dovecot, tokens: list[str]
) -> tuple[list[str], MailboxMark | None, int]:
    """What is wrong with the files a kill left (one line each), the stored mark and how many
    incidents are stored. The incidents and the mark are one write: the stored messages must
    be exactly those up to the mark, each once, and every \\Seen message must be stored (the
    flag follows the write)."""
    state, summaries, unreadable = read_store(config_dir)
    mark = state.mailbox_marks.get(MAILBOX_ID) if state is not None else None
    upto = mark.uid if mark is not None else 0
    counts = Counter(summaries)
    problems = [
        f"LOST (below the mark {upto}, not stored) {token}"
        for token in tokens[:upto]
        if token not in counts
    ]
    problems += [
        f"STORED BEYOND THE MARK {upto}: {token}" for token in counts.keys() - set(tokens[:upto])
    ]
    problems += [f"DOUBLED x{count} {token}" for token, count in counts.items() if count > 1]
    problems += [f"UNREADABLE {token}" for token in sorted(unreadable)]
    problems += [
        f"LOST (\\Seen, not stored) {token}"
        for token in sorted(seen_tokens(server, tokens) - counts.keys())
    ]
    if mark is not None and mark.uidvalidity != server.uidvalidity():
        problems.append(
            f"MARK of UIDVALIDITY {mark.uidvalidity}, the folder has {server.uidvalidity()}"
        )
    return problems, mark, len(summaries)


def store_signature(snapshot: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What changes with every write of the store: its files' inode, size and time."""
    signature: list[tuple[int, int, int] | None] = []
    for path in (snapshot, journal_path(snapshot)):
        try:
            stat = path.stat()
        except FileNotFoundError:
            signature.append(None)
        else:
            signature.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


def kill_while_taking(
    config_dir: Path,
    port: int,
    log: Path,
    server: Dovecot,
    rng: random.Random,
    share: float,
    after: str,
) -> tuple[str, bool]:
    """Start Home Assistant and SIGKILL it while it takes about `share` of what is left:
    `after` "flag": once that many are flagged \\Seen, and a random moment later (up to 50 ms,
    a few batches at the speed it takes them here); "write": the moment the store's files
    change for the n-th time (n a share of the batches left), before the batch's flag step
    is done or while it is under way. What happened, for the run's line, and whether messages
    were left (killed while taking)."""
    snapshot = snapshot_path(config_dir)
    with server.imap() as watcher:
        left = unseen_count(watcher)
        target = int(left * (1 - share))
        writes = max(1, round(-(-left // BATCH_MESSAGES) * share))
        process = start_home_assistant(config_dir, log)
        try:
            started = time.monotonic()
            wait_for_port(port, process, 120)
            deadline = time.monotonic() + TAKE_SECONDS
            if after == "flag":
                waited_for = f"{target} unseen"
                while (unseen := unseen_count(watcher)) > target:
                    if process.poll() is not None:
                        raise RuntimeError(f"Home Assistant exited with {process.returncode}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{unseen} of {left} messages still unseen after {TAKE_SECONDS} s"
                        )
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.05))
            else:
                waited_for = f"{writes} writes"
                signature, changes = store_signature(snapshot), 0
                while changes < writes:
                    if process.poll() is not None:
                        raise RuntimeError(f"Home Assistant exited with {process.returncode}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{changes} writes of {writes} after {TAKE_SECONDS} s")
                    time.sleep(0.001)
                    if (now := store_signature(snapshot)) != signature:
                        signature, changes = now, changes + 1
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        unseen_after = unseen_count(watcher)
    return (
        f"after {after}: unseen {left} -> {unseen_after} (waited for {waited_for}),"
        f" killed {killed:.1f} s after the start"
    ), unseen_after > 0


def take_the_rest(config_dir: Path, port: int, log: Path, server: Dovecot) -> str:
    """Start Home Assistant until every message is \\Seen, then stop it as a shutdown does."""
    process = start_home_assistant(config_dir, log)
    try:
        started = time.monotonic()
        wait_for_port(port, process, 120)
        with server.imap() as watcher:
            left = unseen_count(watcher)
            deadline = time.monotonic() + FINAL_SECONDS
            while (unseen := unseen_count(watcher)) > 0:
                if process.poll() is not None:
                    raise RuntimeError(f"Home Assistant exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{unseen} messages still unseen after {FINAL_SECONDS} s")
                time.sleep(0.05)
        took = time.monotonic() - started
        time.sleep(0.5)  # the answer to the last flag step reaches Home Assistant
    finally:
        code = stop_process(process)
    return f"unseen {left} -> 0 in {took:.1f} s after the start, stopped with {code}"


def integration_warnings(log: Path) -> list[str]:
    """The integration's warnings and errors in Home Assistant's log."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    return [
        line
        for line in lines
        if "[custom_components.email_incidents" in line
        and (" WARNING " in line or " ERROR " in line)
    ]


def mailbox_kind(args: argparse.Namespace, rng: random.Random, work: Path) -> bool:
    """The mailbox kind; whether it passed. A start that fails or a wait that runs out fails
    it, with the end of Home Assistant's log."""
    log = work / "hass-mailbox.log"
    try:
        return take_backlog(args, rng, work, log)
    except RuntimeError as err:
        print(f"FAILED: {err}")
        try:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines[-20:]:
            print(f"log: {line}")
        print(f"RESULT kind=mailbox failed runs={args.runs}")
        return False


def take_backlog(args: argparse.Namespace, rng: random.Random, work: Path, log: Path) -> bool:
    """A backlog taken through `--runs` kills; whether every message became exactly one
    incident and is \\Seen. Before the last start a few more messages arrive: it repeats the
    flag step the last kill cut off and takes them after the stored mark."""
    config_dir = work / "mailbox"
    tokens = [f"backlog-{number:05d}-{rng.getrandbits(32):08x}" for number in range(args.messages)]
    late = [f"late-{number:05d}-{rng.getrandbits(32):08x}" for number in range(LATE_MESSAGES)]
    problems: list[str] = []
    killed_while_taking = 0
    with running_dovecot() as server:
        port = free_port()
        prepare(config_dir, listener={"host": "127.0.0.1", "port": port}, sources=[SOURCE])
        add_mailbox(config_dir, server)
        started = time.monotonic()
        server.append([mailbox_message(token) for token in tokens])
        if server.uids() != list(range(1, len(tokens) + 1)):
            raise RuntimeError("the backlog's UIDs are not 1..n")
        print(f"mailbox: {len(tokens)} messages appended in {time.monotonic() - started:.1f} s")
        for run in range(1, args.runs + 1):
            # A random share of what is left, smaller while more runs follow: every run kills
            # while there is a backlog (unless it is taken faster than the watcher looks).
            share = rng.uniform(0.2, 0.8) / (args.runs - run + 1)
            after = "write" if run % 2 else "flag"
            what, while_taking = kill_while_taking(config_dir, port, log, server, rng, share, after)
            killed_while_taking += while_taking
            found, mark, stored = check_after_kill(config_dir, server, tokens)
            problems += found
            unflagged = len(mark.unflagged) if mark is not None else 0
            seen = len(seen_tokens(server, tokens))
            print(
                f"mailbox run {run}: {what}; stored={stored} mark={mark.uid if mark else 0}"
                f" unflagged={unflagged} seen={seen} problems={len(found)}"
            )
        server.append([mailbox_message(token) for token in late])
        tokens += late
        print(f"mailbox last start: {take_the_rest(config_dir, port, log, server)}")
        found, mark, stored = check_after_kill(config_dir, server, tokens)
        problems += found
        state, summaries, unreadable = read_store(config_dir)
        counts = Counter(summaries)
        not_seen = set(tokens) - seen_tokens(server, tokens)
    lost = sum(token not in counts for token in tokens) + len(unreadable & set(tokens))
    doubled = sum(count - 1 for count in counts.values() if count > 1) + len(
        counts.keys() - set(tokens)
    )
    retaken = state.counters.get("duplicate", 0) if state is not None else 0
    problems += [f"NOT SEEN {token}" for token in sorted(not_seen)]
    if retaken:
        problems.append(f"RETAKEN: {retaken} message(s) taken again (refused as duplicates)")
    if mark is None or mark.uid != len(tokens) or mark.unflagged:
        problems.append(f"THE LAST MARK is {mark}, not the last UID {len(tokens)} all flagged")
    for problem in problems[:20]:
        print(problem)
    warnings = integration_warnings(log)
    for line in warnings[:10]:
        print(f"log: {line}")
    print(
        f"RESULT kind=mailbox messages={len(tokens)} incidents={len(summaries)} lost={lost}"
        f" doubled={doubled} retaken={retaken} not_seen={len(not_seen)} runs={args.runs}"
        f" killed_while_taking={killed_while_taking}"
    )
    return not problems


async def smtp_kind(args: argparse.Namespace, rng: random.Random, work: Path) -> bool:
    """The SMTP kind's runs; whether nothing was lost."""
    total_acknowledged = total_lost = total_skipped = damaged_runs = 0
    for run in range(1, args.runs + 1):
        config_dir = work / f"run{run}"
        port = free_port()
        prepare(
            config_dir, listener={"host": "127.0.0.1", "port": port, **LIMITS}, sources=[SOURCE]
        )
        kind = DAMAGES[(run - 1) % len(DAMAGES)]
        acknowledged, lost, skipped = await one_run(config_dir, port, work / "hass.log", rng, kind)
        print(
            f"run {run} ({kind}): acknowledged={acknowledged} lost={lost} skipped={skipped}"
            f" kept={[path.name for path in kept_copies(config_dir)]}"
        )
        total_acknowledged += acknowledged
        total_lost += lost
        total_skipped += skipped
        damaged_runs += kind != "none"
    print(
        f"RESULT kind=smtp acknowledged={total_acknowledged} lost={total_lost} runs={args.runs}"
        f" damaged_runs={damaged_runs} skipped={total_skipped}"
    )
    return not total_lost and total_acknowledged > 0


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--kind",
        choices=("smtp", "mailbox", "all"),
        default="all",
        help="e-mails over SMTP, a backlog taken from an IMAP mailbox, or both (default)",
    )
    parser.add_argument(
        "--messages", type=int, default=MAILBOX_MESSAGES, help="the mailbox kind's backlog"
    )
    parser.add_argument("--keep", action="store_true", help="keep the config folders")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    print(f"seed {seed}")
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="email-incidents-crash-"))
    passed = True
    try:
        if args.kind in ("smtp", "all"):
            passed &= await smtp_kind(args, rng, work)
        if args.kind in ("mailbox", "all"):
            passed &= mailbox_kind(args, rng, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"config folders kept in {work}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
