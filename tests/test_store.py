"""The store's files: a snapshot, and a journal with one line per acknowledged write."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import smtplib
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents import store
from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import EmailRef, IncidentStatus
from custom_components.email_incidents.core.state import email_from_data, state_to_data

from .conftest import FailingDisk, make_email, source_subentry

pytestmark = [
    pytest.mark.usefixtures("setup_integration"),
    pytest.mark.parametrize("subentries", [[source_subentry(creation_mode="every_email")]]),
]


NAS = "source_nas"


def _files(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[Path, Path]:
    snapshot = store.storage_path(hass, entry.entry_id)
    return snapshot, store.journal_path(snapshot)


def _snapshot_ids(path: Path) -> list[str]:
    return [record["id"] for record in json.loads(path.read_text())["data"]["incidents"]]


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


async def _reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


def _statuses(entry: MockConfigEntry) -> list[tuple[str, IncidentStatus]]:
    return [(i.id, i.status) for i in entry.runtime_data.engine.incidents()]


async def test_a_write_appends_the_changes_to_the_journal(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    snapshot, journal = _files(hass, config_entry)
    await send_email(make_email(subject="first"))
    assert _snapshot_ids(snapshot) == ["INC-1"]  # the first write makes the snapshot
    snapshot_content = snapshot.read_bytes()
    await send_email(make_email(subject="second"))
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    assert snapshot.read_bytes() == snapshot_content
    lines = _journal(journal)
    assert [line["sequence"] for line in lines] == [2, 3]
    assert [[(r["id"], r["status"]) for r in line["incidents"]] for line in lines] == [
        [("INC-2", "pending")],
        [("INC-1", "resolved")],
    ]
    assert lines[1]["meta"]["counters"]["received"] == 2
    # The line that acknowledged an e-mail carries it, byte for byte as in its segment.
    [[segment, offset, text]] = lines[0]["emails"]
    emails = config_entry.runtime_data.store.emails
    assert email_from_data(json.loads(text)).subject == "second"
    assert emails.read([EmailRef(segment, offset, len(text.encode()))])[0] == email_from_data(
        json.loads(text)
    )
    assert lines[1]["emails"] == []
    message_id = config_entry.runtime_data.recent[-1].email.message_id
    assert list(lines[0]["message_ids"]) == [f"{NAS} {message_id}"]
    before = state_to_data(config_entry.runtime_data.engine.state)
    await _reload(hass, config_entry)
    assert state_to_data(config_entry.runtime_data.engine.state) == before
    assert _statuses(config_entry) == [
        ("INC-2", IncidentStatus.PENDING),
        ("INC-1", IncidentStatus.RESOLVED),
    ]


async def test_a_line_cut_short_by_a_crash_is_ignored_and_replaced(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """A crash in the middle of an append leaves half a line that was never acknowledged."""
    snapshot, journal = _files(hass, config_entry)
    for subject in ("first", "second"):
        await send_email(make_email(subject=subject))
    await hass.config_entries.async_unload(config_entry.entry_id)
    with journal.open("ab") as file:
        file.write(b'{"sequence":3,"meta":{"next_num')
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert [incident.summary for incident in config_entry.runtime_data.engine.incidents()] == [
        "second",
        "first",
    ]
    # An append after the broken line would be lost: the next write is a snapshot instead.
    await send_email(make_email(subject="third"))
    assert journal.read_bytes() == b""
    assert _snapshot_ids(snapshot) == ["INC-1", "INC-2", "INC-3"]
    await _reload(hass, config_entry)
    assert len(config_entry.runtime_data.engine.incidents()) == 3


async def test_lines_already_in_the_snapshot_are_not_replayed(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """A crash after a new snapshot but before the journal was emptied: its old lines, which
    say INC-1 is pending, must not undo the resolution the snapshot holds."""
    _snapshot, journal = _files(hass, config_entry)
    await send_email(make_email(subject="first"))
    await send_email(make_email(subject="second"))
    old_lines = journal.read_bytes()
    assert _journal(journal)[0]["incidents"][0]["status"] == "pending"
    await hass.config_entries.async_unload(config_entry.entry_id)
    with journal.open("ab") as file:
        file.write(b"{")  # cut short: the next write is a snapshot
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-2"}, blocking=True
    )
    await hass.config_entries.async_unload(config_entry.entry_id)
    journal.write_bytes(old_lines)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert _statuses(config_entry) == [
        ("INC-2", IncidentStatus.RESOLVED),
        ("INC-1", IncidentStatus.PENDING),
    ]


async def test_the_journal_is_folded_into_a_snapshot_once_it_outgrows_it(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "JOURNAL_MIN_COMPACT_BYTES", 0)
    snapshot, journal = _files(hass, config_entry)
    incident_store = config_entry.runtime_data.store
    await send_email(make_email(subject="first " + "x" * 490, body="x" * 2000))
    assert incident_store.snapshots == 1
    for number in range(6):
        await send_email(make_email(subject=f"small {number}"))
    # The snapshot is 2.3 KB and a line 0.8 KB: three lines outgrow it, the next write folds
    # them into a new snapshot, and the ones after that are lines again.
    assert (incident_store.writes, incident_store.snapshots) == (7, 2)
    assert _snapshot_ids(snapshot) == [f"INC-{number}" for number in range(1, 6)]
    assert [line["sequence"] for line in _journal(journal)] == [6, 7]
    await _reload(hass, config_entry)
    assert len(config_entry.runtime_data.engine.incidents()) == 7


async def test_the_files_of_release_0_1_0_are_read_and_replaced(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """0.1.0 kept open incidents in the main file and resolved ones in a `.resolved` file;
    an incident in both was resolved just before a crash, and resolved wins."""
    snapshot, journal = _files(hass, config_entry)
    await send_email(make_email(subject="open"))
    await send_email(make_email(subject="flapping"))
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-2"}, blocking=True
    )
    data = state_to_data(config_entry.runtime_data.engine.state)
    await hass.config_entries.async_unload(config_entry.entry_id)
    resolved = [record for record in data["incidents"] if record["status"] == "resolved"]
    pending_copy = {**resolved[0], "status": "pending", "resolved": None, "resolved_by": None}
    archive = store.legacy_archive_path(snapshot)
    archive.write_text(json.dumps({"version": 1, "data": {"incidents": resolved}}))
    main = {**data, "incidents": [data["incidents"][0], pending_copy]}
    snapshot.write_text(json.dumps({"version": 1, "key": snapshot.name, "data": main}))
    journal.unlink()
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert _statuses(config_entry) == [
        ("INC-2", IncidentStatus.RESOLVED),
        ("INC-1", IncidentStatus.PENDING),
    ]
    await send_email(make_email(subject="third"))
    assert not archive.exists()
    assert _snapshot_ids(snapshot) == ["INC-1", "INC-2", "INC-3"]


async def test_removing_the_integration_deletes_the_files(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    snapshot, journal = _files(hass, config_entry)
    await send_email(make_email(subject="gone soon"))
    await send_email(make_email(subject="gone too"))
    assert snapshot.exists()
    assert journal.exists()
    await hass.config_entries.async_remove(config_entry.entry_id)
    assert not snapshot.exists()
    assert not journal.exists()


async def test_a_failed_append_leaves_no_part_of_its_line(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any, failing_disk: FailingDisk
) -> None:
    snapshot, journal = _files(hass, config_entry)
    await send_email(make_email(subject="first"))
    await send_email(make_email(subject="second"))
    journal_content = journal.read_bytes()
    failing_disk.failing = True
    with pytest.raises(smtplib.SMTPDataError):
        await send_email(make_email(subject="lost"))
    assert journal.read_bytes() == journal_content
    failing_disk.failing = False
    await send_email(make_email(subject="third"))
    assert journal.read_bytes() == b""  # after a failure, a snapshot starts afresh
    assert _snapshot_ids(snapshot) == ["INC-1", "INC-2", "INC-3"]


async def test_unloading_with_a_broken_disk_still_unloads(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any, failing_disk: FailingDisk
) -> None:
    """Refusal counters wait for a later write; if the disk fails at unload, the entry still
    unloads (the store logs the error) and the acknowledged incident is on disk."""
    await send_email(make_email(subject="acknowledged"))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send_email(
            make_email(to="nobody@homeassistant.local"), recipients=("nobody@homeassistant.local",)
        )
    failing_disk.failing = True
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    failing_disk.failing = False
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    [incident] = config_entry.runtime_data.engine.incidents()
    assert incident.summary == "acknowledged"
    assert "refused_recipient" not in config_entry.runtime_data.engine.state.counters


async def test_refusal_counters_are_written_at_unload(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send_email(
            make_email(to="nobody@homeassistant.local"), recipients=("nobody@homeassistant.local",)
        )
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.runtime_data.engine.state.counters["refused_recipient"] == 1


def _kept_copies(snapshot: Path) -> list[Path]:
    return sorted(snapshot.parent.glob(f"{snapshot.name}*.damaged-*"))


def _store_issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, "store_damaged")


async def test_a_damaged_line_is_skipped_and_the_lines_after_it_apply(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """Ten e-mails, the line of the fourth damaged on disk: the nine others are loaded, the
    journal is kept aside before anything overwrites it, and a repair says so."""
    snapshot, journal = _files(hass, config_entry)
    for number in range(1, 11):
        await send_email(make_email(subject=f"e-mail {number}"))
    await hass.config_entries.async_unload(config_entry.entry_id)
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == 10  # e-mails 2 to 10 and the last write at unload
    damaged = (
        b"".join(lines[:2]) + b'{"sequence":4,"meta":{"next_n\x00umber}\n' + b"".join(lines[3:])
    )
    journal.write_bytes(damaged)
    assert _store_issue(hass) is None
    assert store.read_files(snapshot)[0].damage is not None
    assert _kept_copies(snapshot) == []  # reading alone changes nothing; a start keeps a copy
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    summaries = [i.summary for i in config_entry.runtime_data.engine.incidents()]
    assert summaries == [f"e-mail {number}" for number in (10, 9, 8, 7, 6, 5, 3, 2, 1)]
    [kept] = _kept_copies(snapshot)
    assert kept.name.startswith(f"{journal.name}.damaged-")
    assert kept.read_bytes() == damaged
    issue = _store_issue(hass)
    assert issue is not None
    assert issue.translation_key == "store_damaged"
    assert issue.translation_placeholders == {"skipped": "1", "kept": str(kept)}
    # The listener runs and the next write is a snapshot that holds all of it.
    await send_email(make_email(subject="e-mail 11"))
    assert journal.read_bytes() == b""
    assert len(_snapshot_ids(snapshot)) == 10
    assert kept.read_bytes() == damaged


@pytest.mark.parametrize("damage", ["cut", "garbage"])
async def test_a_damaged_snapshot_is_kept_aside_and_what_it_holds_is_loaded(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any, damage: str
) -> None:
    """A snapshot cut short (a disk that lost its tail) or with a damaged record: every
    incident that can still be read is loaded, with the journal's lines on top."""
    snapshot, journal = _files(hass, config_entry)
    for number in range(1, 5):
        await send_email(make_email(subject=f"e-mail {number}"))
    config_entry.runtime_data.store._disk.needs_snapshot = True  # fold the journal in
    await send_email(make_email(subject="e-mail 5"))
    await send_email(make_email(subject="e-mail 6"))  # a journal line on top
    await hass.config_entries.async_unload(config_entry.entry_id)
    content = snapshot.read_bytes()
    assert _snapshot_ids(snapshot) == [f"INC-{number}" for number in range(1, 6)]
    if damage == "cut":
        broken = content[: content.index(b'{"id":"INC-5"') + 40]
    else:
        start = content.index(b'{"id":"INC-3"')
        broken = content[: start + 20] + b"\xff\x00garbage" + content[start + 30 :]
    snapshot.write_bytes(broken)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    lost = 5 if damage == "cut" else 3
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == [
        f"e-mail {number}" for number in range(6, 0, -1) if number != lost
    ]
    [kept] = _kept_copies(snapshot)
    assert kept.name.startswith(f"{snapshot.name}.damaged-")
    assert kept.read_bytes() == broken
    issue = _store_issue(hass)
    assert issue is not None
    assert issue.translation_placeholders == {"skipped": "1", "kept": str(kept)}
    await send_email(make_email(subject="e-mail 7"))
    assert _snapshot_ids(snapshot) == [f"INC-{n}" for n in range(1, 8) if n != lost]
    assert kept.read_bytes() == broken


@pytest.mark.parametrize(
    ("damage", "loaded"),
    [
        ("empty snapshot", ["e-mail 3", "e-mail 2"]),
        # Its record is still found; the part before it no longer reads.
        ("incidents not a list", ["e-mail 3", "e-mail 2", "e-mail 1"]),
        ("a line with a field of the wrong type", ["e-mail 3", "e-mail 1"]),
    ],
)
async def test_any_damage_costs_only_what_it_touches(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    send_email: Any,
    damage: str,
    loaded: list[str],
) -> None:
    snapshot, journal = _files(hass, config_entry)
    for number in range(1, 4):
        await send_email(make_email(subject=f"e-mail {number}"))
    await hass.config_entries.async_unload(config_entry.entry_id)
    if damage == "empty snapshot":
        snapshot.write_bytes(b"")
    elif damage == "incidents not a list":
        stored = json.loads(snapshot.read_text())
        stored["data"]["incidents"] = {"INC-1": stored["data"]["incidents"][0]}
        snapshot.write_text(json.dumps(stored))
    else:
        first, *later = journal.read_bytes().splitlines(keepends=True)
        line = json.loads(first)
        line["removed"] = [1]
        journal.write_bytes(json.dumps(line).encode() + b"\n" + b"".join(later))
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == loaded
    issue = _store_issue(hass)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["skipped"] == "1"
    await send_email(make_email(subject="e-mail 4"))
    assert journal.read_bytes() == b""


async def test_a_snapshot_with_unusable_values_still_loads(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """Readable JSON whose values make no sense (an edited file): the incidents that can be
    read are loaded, the rest is counted and the file kept."""
    snapshot, journal = _files(hass, config_entry)
    for number in range(1, 4):
        config_entry.runtime_data.store._disk.needs_snapshot = True
        await send_email(make_email(subject=f"e-mail {number}"))
    await hass.config_entries.async_unload(config_entry.entry_id)
    journal.unlink()  # the last write's counters would replace the damaged ones
    stored = json.loads(snapshot.read_text())
    stored["data"]["incidents"][0]["status"] = "bogus"
    stored["data"]["counters"] = "not counters"
    snapshot.write_text(json.dumps(stored))
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == [
        "e-mail 3",
        "e-mail 2",
    ]
    [kept] = _kept_copies(snapshot)
    assert kept.read_text() == json.dumps(stored)
    issue = _store_issue(hass)
    assert issue is not None
    assert issue.translation_placeholders == {"skipped": "2", "kept": str(kept)}
    await send_email(make_email(subject="e-mail 4"))
    assert config_entry.runtime_data.engine.get("INC-4") is not None


async def test_pruned_incidents_are_removed_through_the_journal(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    _snapshot, journal = _files(hass, config_entry)
    await send_email(make_email(subject="old"))
    await send_email(make_email(subject="current"))
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    engine = config_entry.runtime_data.engine
    assert engine.prune(dt_util.utcnow() + timedelta(days=365)) == 1
    await send_email(make_email(subject="new"))
    assert _journal(journal)[-1]["removed"] == ["INC-1"]
    await _reload(hass, config_entry)
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == ["new", "current"]


async def test_a_first_write_that_fails_leaves_an_empty_state(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any, failing_disk: FailingDisk
) -> None:
    failing_disk.failing = True
    with pytest.raises(smtplib.SMTPDataError):
        await send_email(make_email(subject="lost"))
    assert config_entry.runtime_data.engine.incidents() == []
    failing_disk.failing = False
    await send_email(make_email(subject="kept"))
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == ["kept"]


async def test_a_snapshot_has_one_record_per_line_and_a_damaged_line_is_skipped(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """Records are read one line at a time; a line that does not read is left out alone."""
    snapshot, journal = _files(hass, config_entry)
    for number in range(1, 4):
        config_entry.runtime_data.store._disk.needs_snapshot = True
        await send_email(make_email(subject=f"e-mail {number}"))
    await hass.config_entries.async_unload(config_entry.entry_id)
    journal.unlink()
    head, *records, tail = snapshot.read_bytes().split(b"\n")
    assert head.endswith(b'"incidents":[')
    assert tail == b"]}}"
    assert [json.loads(record.rstrip(b","))["id"] for record in records] == [
        "INC-1",
        "INC-2",
        "INC-3",
    ]
    disk, data = store.read_files(snapshot)
    assert data is not None
    assert len(data["incidents"]) == 3
    assert [record["summary"] for record in data["incidents"]] == [
        "e-mail 1",
        "e-mail 2",
        "e-mail 3",
    ]
    assert data["incidents"][1:] == [json.loads(record.rstrip(b",")) for record in records[1:]]
    assert disk.damage is None
    records[1] = records[1][:20] + b"\x00" + records[1][21:]
    snapshot.write_bytes(b"\n".join([head, *records, tail]))
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert [i.summary for i in config_entry.runtime_data.engine.incidents()] == [
        "e-mail 3",
        "e-mail 1",
    ]
    issue = _store_issue(hass)
    assert issue is not None
    assert issue.translation_placeholders["skipped"] == "1"


def test_a_line_with_malformed_emails_counts_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "email_incidents.entry"
    path.write_bytes(store.snapshot_content(store.snapshot_head(path.name, {"journal": 0}), []))
    line = {"meta": {}, "message_ids": {}, "removed": [], "incidents": []}
    store.journal_path(path).write_text(
        "".join(
            json.dumps({**line, "sequence": sequence, "emails": emails}) + "\n"
            for sequence, emails in ((1, [[1, 0, "{}"]]), (2, [[1, "0", "{}"]]), (3, [[1]]))
        )
    )
    disk, _data = store.read_files(path)
    assert disk.damage is not None
    assert disk.damage.skipped == 2
    assert disk.journal_emails == [(EmailRef(1, 0, 2), b"{}")]
