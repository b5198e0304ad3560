"""The README's recipes for monitoring tools, proven on e-mails in each tool's default format.

The alert source of each recipe is built from the README itself (its "Monitoring tools"
section), with the form's labels read back through translations/en.json, so a recipe that does
not work, or that names a choice the form does not offer, fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import re
from typing import Any

import pytest

from custom_components.email_incidents.core.config import source_from_data
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.outcomes import Outcome
from custom_components.email_incidents.core.parser import parse_email

ROOT = Path(__file__).parent.parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "recipes"
EN = json.loads(
    (ROOT / "custom_components/email_incidents/translations/en.json").read_text("utf-8")
)
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
CONDITION_LINES = {"Filter": "filters", "Resolve rule": "resolve_conditions"}
CONDITION_LINES |= {"Accept rule": "accept_conditions"}


def _value_of(selector: str, label: str) -> str:
    """The option of a selector whose label the README names."""
    options = EN["selector"][selector]["options"]
    found = [value for value, text in options.items() if text == label]
    assert found, f"{label!r} is no option of {selector}: {sorted(options.values())}"
    return found[0]


ITALIC_OR_CODE = re.compile(r"\*([^*]+)\*|`([^`]+)`")


def _parts(text: str) -> list[tuple[str, str]]:
    """("label", x) for each *x* and ("typed", x) for each `x`, in order."""
    return [
        ("label", label) if label else ("typed", typed)
        for label, typed in ITALIC_OR_CODE.findall(text)
    ]


def _field(parts: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    field = _value_of("field", parts[0][1])
    if field == "header":
        return f"header:{parts[1][1]}", parts[2:]
    return field, parts[1:]


def _recipes() -> Iterator[tuple[str, dict[str, Any]]]:
    section = (ROOT / "README.md").read_text("utf-8").split("\n## Monitoring tools\n")[1]
    section = section.split("\n## ")[0]
    for block in section.split("\n### ")[1:]:
        tool, _, body = block.partition("\n")
        if not (lines := re.findall(r"^- ([^:]+): (.+)$", body, re.MULTILINE)):
            continue
        data: dict[str, Any] = {"name": tool, "addresses": ["tool"]}
        for what, text in lines:
            parts = _parts(text)
            if what == "Creation mode":
                data["creation_mode"] = _value_of("creation_mode", parts[0][1])
            elif what == "E-mails without a key":
                data["no_key_fallback"] = _value_of("no_key_fallback", parts[0][1])
            elif what == "Auto-resolve after":
                data["auto_resolve_minutes"] = int(parts[0][1])
            elif what == "Expected e-mail interval":
                data["expected_interval_minutes"] = int(parts[0][1])
            elif what.startswith("Key rule "):
                assert int(what.removeprefix("Key rule ")) == len(data.get("key_rules", [])) + 1
                field, rest = _field(parts)
                rule = {"field": field, "method": _value_of("key_method", rest[0][1])}
                rule["pattern"], rule["template"] = rest[1][1], rest[2][1]
                assert text.endswith(f", key `{rule['template']}`"), text
                data.setdefault("key_rules", []).append(rule)
            else:
                field, rest = _field(parts)
                data.setdefault(CONDITION_LINES[what], []).append(
                    {
                        "field": field,
                        "operator": _value_of("operator", rest[0][1]),
                        "value": rest[1][1],
                    }
                )
        yield tool, data


RECIPES = dict(_recipes())

# Per tool, its e-mails in the order they arrive: the incident each lands in (A, B, ... in the
# order they open) and what it does there.
CREATED, APPENDED, RESOLVED = Outcome.CREATED, Outcome.APPENDED, Outcome.RESOLVED
ACCEPTED, IGNORED, FILTERED = Outcome.ACCEPTED, Outcome.IGNORED_NO_KEY, Outcome.FILTERED
EXPECTED: dict[str, tuple[str, list[tuple[str, str | None, Outcome]]]] = {
    "Nagios": (
        "nagios",
        [
            ("1_service_problem", "A", CREATED),
            ("2_host_problem", "B", CREATED),
            ("3_service_repeat", "A", APPENDED),
            ("4_other_service_problem", "C", CREATED),
            ("5_service_acknowledgement", "A", ACCEPTED),
            ("6_service_recovery", "A", RESOLVED),
            ("7_host_recovery", "B", RESOLVED),
        ],
    ),
    "Icinga 2": (
        "icinga2",
        [
            ("1_service_problem", "A", CREATED),
            ("2_host_problem", "B", CREATED),
            ("3_service_repeat", "A", APPENDED),
            ("4_service_acknowledgement", "A", ACCEPTED),
            ("5_service_recovery", "A", RESOLVED),
            ("6_host_recovery", "B", RESOLVED),
        ],
    ),
    "Zabbix": (
        "zabbix",
        [
            ("1_problem", "A", CREATED),
            ("2_other_problem", "B", CREATED),
            ("3_repeat", "A", APPENDED),
            ("4_update", None, IGNORED),
            ("5_recovery", "A", RESOLVED),
        ],
    ),
    "Prometheus Alertmanager": (
        "alertmanager",
        [
            ("1_firing", "A", CREATED),
            ("2_other_firing", "B", CREATED),
            ("3_repeat", "A", APPENDED),
            ("4_resolved", "A", RESOLVED),
        ],
    ),
    "Grafana": (
        "grafana",
        [
            ("1_firing", "A", CREATED),
            ("2_other_firing", "B", CREATED),
            ("3_repeat", "A", APPENDED),
            ("4_resolved", "A", RESOLVED),
        ],
    ),
    "Uptime Kuma": (
        "uptime_kuma",
        [
            ("1_down", "A", CREATED),
            ("2_other_down", "B", CREATED),
            ("3_repeat", "A", APPENDED),
            ("4_up", "A", RESOLVED),
        ],
    ),
    "Proxmox VE": (
        "proxmox",
        [
            ("1_failed", "A", CREATED),
            ("2_failed_next_night", "A", APPENDED),
            ("3_other_node_failed", "B", CREATED),
            ("4_successful", "A", RESOLVED),
        ],
    ),
    "Synology DSM": (
        "synology",
        [
            ("1_pool_degraded", "A", CREATED),
            ("2_pool_degraded_again", "A", APPENDED),
            ("3_ups_on_battery", "B", CREATED),
            ("4_pool_repaired", "A", RESOLVED),
        ],
    ),
    "apcupsd and NUT": (
        "ups",
        [
            ("1_apcupsd_onbattery", "A", CREATED),
            ("2_nut_onbatt", "B", CREATED),
            ("3_apcupsd_onbattery_again", "A", APPENDED),
            ("4_apcupsd_offbattery", "A", RESOLVED),
            ("5_nut_online", "B", RESOLVED),
        ],
    ),
    "smartd": (
        "smartd",
        [
            ("1_pending_sector", "A", CREATED),
            ("2_pending_sector_next_day", "A", APPENDED),
            ("3_self_test", "B", CREATED),
        ],
    ),
    "cron": (
        "cron",
        [
            ("1_backup_failed", "A", CREATED),
            ("2_backup_failed_next_night", "A", APPENDED),
            ("3_other_job", "B", CREATED),
        ],
    ),
    "UptimeRobot": (
        "uptimerobot",
        [
            ("1_down", "A", CREATED),
            ("2_other_down", "B", CREATED),
            ("3_up", "A", RESOLVED),
            ("4_down_again", "C", CREATED),
        ],
    ),
    "Healthchecks.io": (
        "healthchecks",
        [
            ("1_down", "A", CREATED),
            ("2_other_down", "B", CREATED),
            ("3_reminder", None, IGNORED),
            ("4_up", "A", RESOLVED),
        ],
    ),
    "GitHub Actions": (
        "github_actions",
        [
            ("1_failed", "A", CREATED),
            ("2_other_workflow_failed", "B", CREATED),
            ("3_failed_again", "A", APPENDED),
            ("4_cancelled", None, FILTERED),
            ("5_succeeded", "A", RESOLVED),
        ],
    ),
    "Backblaze B2": (
        "backblaze_b2",
        [
            ("1_storage_75", "A", CREATED),
            ("2_class_c_75", "B", CREATED),
            ("3_storage_100", "A", APPENDED),
        ],
    ),
    "Certificate and domain expiry": (
        "expiry",
        [
            ("1_certificate_21_days", "A", CREATED),
            ("2_domain_21_days", "B", CREATED),
            ("3_certificate_14_days", "A", APPENDED),
            ("4_certificate_7_days", "A", APPENDED),
        ],
    ),
}

# Cloud senders write to a real mailbox (a Gmail address no alert source has): the mailbox's
# default source takes them, which is how they are fed here (as the runtime does: the default
# source's address becomes the envelope of what its headers route nowhere).
BY_MAILBOX = {
    "UptimeRobot",
    "Healthchecks.io",
    "GitHub Actions",
    "Backblaze B2",
    "Certificate and domain expiry",
}


def test_every_recipe_of_the_readme_is_tested() -> None:
    assert set(RECIPES) == set(EXPECTED)
    assert set(EXPECTED) >= BY_MAILBOX
    assert {folder for folder, _ in EXPECTED.values()} == {path.name for path in CORPUS.iterdir()}


@pytest.mark.parametrize("tool", list(EXPECTED))
def test_recipe_groups_and_resolves_the_tools_emails(tool: str) -> None:
    folder, expected = EXPECTED[tool]
    files = sorted((CORPUS / folder).glob("*.eml"))
    assert [path.stem for path in files] == [name for name, _, _ in expected]
    source = source_from_data("tool", RECIPES[tool], domain="homeassistant.local")
    engine = IncidentEngine()
    engine.configure({"tool": source}, {}, T0)
    letters: dict[str, str] = {}
    for minute, (path, (name, letter, outcome)) in enumerate(zip(files, expected, strict=True)):
        if tool in BY_MAILBOX:
            email = parse_email(path.read_bytes())
            assert not engine.route(email), (name, "reaches a source by its own headers")
            email = replace(email, envelope_recipients=source.addresses[:1])
        else:
            email = parse_email(path.read_bytes(), envelope_recipients=source.addresses[:1])
        [result] = engine.ingest(email, T0 + timedelta(minutes=minute)).outcomes
        assert result.outcome is outcome, (name, result)
        if letter is None:
            continue
        [incident_id] = result.incident_ids
        assert letters.setdefault(letter, incident_id) == incident_id, (name, letters)
        assert list(letters.values()).count(incident_id) == 1, (name, letters)
    resolved = {letter for _, letter, outcome in expected if outcome is RESOLVED}
    for letter, incident_id in letters.items():
        incident = engine.get(incident_id)
        assert incident is not None
        assert incident.is_open is (letter not in resolved), (tool, letter)
