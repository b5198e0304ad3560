"""Debug logging tells, per e-mail, where it went, what the rules decided and how long it took."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
import pytest

from .conftest import make_email, source_subentry


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    return [
        source_subentry(
            creation_mode="incident_keys",
            key_rules=[{"field": "subject", "method": "regex", "pattern": r"on (?P<key>\w+)"}],
            resolve_conditions=[{"field": "subject", "operator": "contains", "value": "OK"}],
            filters=[{"field": "subject", "operator": "not_contains", "value": "spam"}],
        )
    ]


@pytest.mark.usefixtures("setup_integration")
async def test_each_decision_is_logged_at_debug_level(
    send_email: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.email_incidents")
    await send_email(make_email(subject="Disk full on web01", message_id="<one@example.com>"))
    await send_email(make_email(subject="spam on web01"))
    await send_email(make_email(subject="OK on web01"))
    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.DEBUG]

    assert "NAS: key 'web01', resolve rule does not match, accept rule does not match, " in (
        "\n".join(lines)
    )
    delivery = next(line for line in lines if line.startswith("E-mail <one@example.com>"))
    assert "from nas@example.com 'Disk full on web01' to nas@homeassistant.local" in delivery
    assert "NAS: created key 'web01' INC-1 (stored in " in delivery
    assert "NAS: the filters do not match 'spam on web01'" in lines
    assert any("resolve rule matches" in line for line in lines)
    assert any("NAS: resolved key 'web01' INC-1" in line for line in lines)
