"""The store's two files: open incidents with every acknowledged e-mail, resolved ones apart."""

from __future__ import annotations

import json
from pathlib import Path
import smtplib
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.email_incidents.const import DOMAIN
from custom_components.email_incidents.core.models import IncidentStatus

from .conftest import make_email, source_subentry

pytestmark = [
    pytest.mark.usefixtures("setup_integration"),
    pytest.mark.parametrize("subentries", [[source_subentry(creation_mode="every_email")]]),
]


def _files(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[Path, Path]:
    main = Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}"))
    return main, main.with_name(f"{main.name}.resolved")


def _ids(path: Path) -> list[str]:
    return [record["id"] for record in json.loads(path.read_text())["data"]["incidents"]]


async def test_resolved_incidents_live_in_the_archive(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    main, archive = _files(hass, config_entry)
    for subject in ("first", "second"):
        await send_email(make_email(subject=subject))
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    assert (_ids(main), _ids(archive)) == (["INC-2"], ["INC-1"])
    archived_file = archive.stat().st_ino
    await send_email(make_email(subject="third"))
    # The acknowledgement of "third" rewrote the main file only.
    assert archive.stat().st_ino == archived_file
    assert _ids(main) == ["INC-2", "INC-3"]
    await hass.services.async_call(
        DOMAIN, "add_note", {"incident_id": "INC-1", "note": "late note"}, blocking=True
    )
    assert archive.stat().st_ino != archived_file  # a changed resolved incident is rewritten
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    engine = config_entry.runtime_data.engine
    assert [(i.id, i.status) for i in engine.incidents()] == [
        ("INC-3", IncidentStatus.PENDING),
        ("INC-2", IncidentStatus.PENDING),
        ("INC-1", IncidentStatus.RESOLVED),
    ]
    assert engine.get("INC-1").log[-1].message == "late note"


async def test_crash_between_the_two_writes_keeps_the_resolution(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    """Archive written, main file not: the incident is in both files; resolved wins."""
    main, archive = _files(hass, config_entry)
    await send_email(make_email(subject="flapping"))
    pending_main = main.read_bytes()
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    await hass.config_entries.async_unload(config_entry.entry_id)
    main.write_bytes(pending_main)  # as if Home Assistant died before writing the main file
    assert (_ids(main), _ids(archive)) == (["INC-1"], ["INC-1"])
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    [incident] = config_entry.runtime_data.engine.incidents()
    assert incident.status is IncidentStatus.RESOLVED


async def test_removing_the_integration_deletes_both_files(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any
) -> None:
    main, archive = _files(hass, config_entry)
    await send_email(make_email(subject="gone soon"))
    await hass.services.async_call(
        DOMAIN, "resolve_incident", {"incident_id": "INC-1"}, blocking=True
    )
    assert main.exists()
    assert archive.exists()
    await hass.config_entries.async_remove(config_entry.entry_id)
    assert not main.exists()
    assert not archive.exists()


async def test_unloading_with_a_broken_disk_still_unloads(
    hass: HomeAssistant, config_entry: MockConfigEntry, send_email: Any, smtp_port: int
) -> None:
    """Refusal counters wait for a later write; if the disk is gone at unload, the entry still
    unloads (the store logs the error) and the acknowledged incident is on disk."""
    main, _archive = _files(hass, config_entry)
    await send_email(make_email(subject="acknowledged"))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send_email(
            make_email(to="nobody@homeassistant.local"), recipients=("nobody@homeassistant.local",)
        )
    content = main.read_bytes()
    main.unlink()
    main.mkdir()
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    main.rmdir()
    main.write_bytes(content)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    [incident] = config_entry.runtime_data.engine.incidents()
    assert incident.summary == "acknowledged"


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
