"""E-mails on disk: written with their effect, read when shown, gone with their incidents."""

from __future__ import annotations

from datetime import timedelta
import os
from pathlib import Path
import shutil
import smtplib
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.email_incidents import email_files, store
from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import EmailRecord, EmailRef
from custom_components.email_incidents.runtime import EmailIncidentsRuntime

from .conftest import FailingDisk, make_email, source_subentry
from .entity_helpers import FROZEN_TIME, SendEmail, deliver

pytestmark = pytest.mark.freeze_time(FROZEN_TIME)


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [source_subentry(creation_mode="every_email")]


def _folder(hass: HomeAssistant) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.listener_entry.emails"))


async def _bodies(entry: MockConfigEntry) -> list[str]:
    runtime: EmailIncidentsRuntime = entry.runtime_data
    emails = [email for incident in runtime.engine.incidents()[::-1] for email in incident.emails]
    return [
        email.body if isinstance(email, EmailRecord) else email
        for email in await runtime.async_read_emails(emails)
    ]


def _segments(hass: HomeAssistant) -> list[str]:
    return sorted(path.name for path in _folder(hass).iterdir())


async def test_bodies_outlive_a_restart_and_go_with_their_incidents(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    freezer: Any,
) -> None:
    await deliver(hass, send_email, body="first body")
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    await deliver(hass, send_email, body="second body")
    assert await _bodies(setup_integration) == ["first body", "second body"]
    [first, second] = [
        incident.emails[0] for incident in setup_integration.runtime_data.engine.incidents()
    ][::-1]
    assert isinstance(first, EmailRef)
    assert isinstance(second, EmailRef)
    assert first.segment < second.segment  # each start writes to a new segment
    assert _segments(hass) == [f"{first.segment:08d}", f"{second.segment:08d}"]

    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    freezer.tick(timedelta(days=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert setup_integration.runtime_data.engine.get("INC-1") is None
    assert _segments(hass) == [f"{second.segment:08d}"]


async def test_a_failed_write_loses_no_acknowledged_body(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    failing_disk: FailingDisk,
) -> None:
    await deliver(hass, send_email, body="before")
    failing_disk.failing = True
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send_email(make_email(body="refused body"))
    assert refused.value.smtp_code == 451
    failing_disk.failing = False
    await deliver(hass, send_email, body="after")
    assert await _bodies(setup_integration) == ["before", "after"]


async def test_segments_roll_over_and_a_missing_one_says_so(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(email_files, "SEGMENT_BYTES", 10)
    await deliver(hass, send_email, body="a body longer than ten bytes")
    await deliver(hass, send_email, body="another long body")
    assert len(_segments(hass)) == 2
    # Read from disk: a new start keeps no e-mail in memory.
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert await _bodies(setup_integration) == ["a body longer than ten bytes", "another long body"]
    first_segment = sorted(_folder(hass).iterdir())[0]
    first_segment.write_bytes(b"\x00" * first_segment.stat().st_size)
    [damaged, readable] = await _bodies(setup_integration)
    assert damaged.startswith("damaged: ")
    assert readable == "another long body"
    shutil.rmtree(_folder(hass))
    assert await _bodies(setup_integration) == ["No such file or directory"] * 2


async def test_the_newest_emails_are_shown_without_reading_the_disk(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Up to `RECENT_BYTES` of the newest e-mails stay in memory; older ones are read."""
    await deliver(hass, send_email, body="older body")
    [older] = setup_integration.runtime_data.engine.incidents()[0].emails
    assert isinstance(older, EmailRef)
    monkeypatch.setattr(email_files, "RECENT_BYTES", older.length * 3 // 2)  # room for one
    await deliver(hass, send_email, body="newest body")
    shutil.rmtree(_folder(hass))
    assert await _bodies(setup_integration) == ["No such file or directory", "newest body"]


async def test_a_write_syncs_once_and_a_snapshot_syncs_the_emails_first(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One fsync acknowledges an e-mail (the journal line carries it); its segment is synced
    before a snapshot replaces that line."""
    await deliver(hass, send_email, body="first")  # the first write of a start: a snapshot
    synced: list[str] = []
    real_fsync = os.fsync

    def _fsync(fd: int) -> None:
        synced.append(Path(f"/proc/self/fd/{fd}").readlink().name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", _fsync)
    await deliver(hass, send_email, body="second")
    assert synced == [f"{DOMAIN}.listener_entry.journal"]

    synced.clear()
    monkeypatch.setattr(store, "JOURNAL_MIN_COMPACT_BYTES", 0)
    await deliver(hass, send_email, body="third")  # the journal outgrew the snapshot
    [segment] = _segments(hass)
    assert synced[0] == segment
    assert synced[-1] == f"{DOMAIN}.listener_entry.journal"  # emptied after the snapshot
    assert await _bodies(setup_integration) == ["first", "second", "third"]


async def test_emails_a_crash_cut_from_their_segment_are_put_back(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    send_email: SendEmail,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Power lost before the segment reached the disk: the journal line that acknowledged the
    e-mail carries it, and the next start writes it back."""
    await deliver(hass, send_email, body="synced with the first snapshot")
    await deliver(hass, send_email, body="only in the journal's line")
    [first, second] = [
        incident.emails[0] for incident in setup_integration.runtime_data.engine.incidents()
    ][::-1]
    assert isinstance(first, EmailRef)
    assert isinstance(second, EmailRef)
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    segment = _folder(hass) / f"{second.segment:08d}"
    with segment.open("r+b") as file:  # what the disk held: the tail never made it
        file.truncate(second.offset)
    assert await hass.config_entries.async_setup(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert "Put back 1 e-mail(s) that a crash had lost" in caplog.text
    assert await _bodies(setup_integration) == [
        "synced with the first snapshot",
        "only in the journal's line",
    ]


async def test_removing_the_integration_removes_the_emails(
    hass: HomeAssistant, setup_integration: MockConfigEntry, send_email: SendEmail
) -> None:
    await deliver(hass, send_email)
    assert _folder(hass).exists()
    await hass.config_entries.async_remove(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert not _folder(hass).exists()
