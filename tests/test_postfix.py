"""The README's "Postfix in front" recipes against a real Postfix: e-mails sent into Postfix reach
the listener (over SMTP, or over LMTP in LMTP mode), wait in Postfix's queue while the
integration is unloaded and arrive once each after it is back, and an unknown address bounces
at once instead of being retried.

Postfix is a private instance (tests/servers/postfix.py) with the recipe's `relay_domains` and
transport map, on a free loopback port, relaying to the listener's free loopback port. It needs
the Debian package postfix and root; without them these tests fail, they are never skipped.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest

from custom_components.email_incidents.const import CONF_LMTP, DOMAIN
from custom_components.email_incidents.runtime import EmailIncidentsRuntime

from .conftest import make_email, source_subentry
from .servers.postfix import SENDER_DOMAIN, Postfix, unavailable

# pytest-homeassistant-custom-component disables sockets again after pytest-socket read the
# marker; tests/conftest.py asks for socket_enabled as well. Only 127.0.0.1 is used.
pytestmark = [
    pytest.mark.enable_socket,
    # Both recipes: the transport smtp:[127.0.0.1]:PORT to the listener, and
    # lmtp:inet:127.0.0.1:PORT to the listener in LMTP mode.
    pytest.mark.parametrize("extra_listener_data", [{}, {CONF_LMTP: True}], ids=["smtp", "lmtp"]),
]

SENDER = f"monitor@{SENDER_DOMAIN}"
SOURCE_ADDRESS = "nas@homeassistant.local"
UNKNOWN_ADDRESS = "nobody@homeassistant.local"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """The NAS with an incident per e-mail: every e-mail Postfix delivers shows as one."""
    return [source_subentry(creation_mode="every_email")]


@pytest.fixture
def postfix(smtp_port: int, extra_listener_data: dict[str, Any]) -> Generator[Postfix]:
    """A private Postfix relaying homeassistant.local to the listener's port; always stopped."""
    if reason := unavailable():
        pytest.fail(f"Postfix cannot run: {reason}", pytrace=False)
    server = Postfix(smtp_port, lmtp=bool(extra_listener_data.get(CONF_LMTP)))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _runtime(entry: ConfigEntry) -> EmailIncidentsRuntime:
    runtime = entry.runtime_data
    assert isinstance(runtime, EmailIncidentsRuntime)
    return runtime


async def _send(hass: HomeAssistant, postfix: Postfix, subject: str, to: str) -> str:
    """Sends an e-mail into Postfix; its queue ID."""
    message = make_email(subject=subject, sender=SENDER, to=to)
    return await hass.async_add_executor_job(postfix.send, message, SENDER, (to,))


async def _incidents(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The incidents as the get_incidents action returns them, newest first."""
    response = await hass.services.async_call(
        DOMAIN, "get_incidents", {"limit": 1000}, blocking=True, return_response=True
    )
    assert response is not None
    incidents = response["incidents"]
    assert isinstance(incidents, list)
    return [incident for incident in incidents if isinstance(incident, dict)]


async def _wait_for_delivery(hass: HomeAssistant, postfix: Postfix, incidents: int) -> None:
    """Until the integration has `incidents` incidents and Postfix's queue is empty."""

    async def delivered() -> bool:
        return (
            len(await _incidents(hass)) >= incidents
            and await hass.async_add_executor_job(postfix.queue_size) == 0
        )

    await postfix.async_wait_until(
        delivered, f"{incidents} incident(s) and an empty queue in Postfix"
    )


# Postfix's log is a file: read in the executor, off Home Assistant's loop.


def _delivered_once(postfix: Postfix, queue_id: str, listener_port: int) -> None:
    """The log shows exactly one delivery of the e-mail, to the listener, answered by it."""
    sent = postfix.log_lines(queue_id, "status=sent")
    assert len(sent) == 1, postfix.log()
    assert f"relay=127.0.0.1[127.0.0.1]:{listener_port}" in sent[0], postfix.log()
    assert "incident(s) opened" in sent[0], postfix.log()


def _deferred_as_refused(postfix: Postfix, queue_id: str) -> None:
    """Tried and deferred because the listener's port refused the connection."""
    deferred = postfix.log_lines(queue_id, "status=deferred")
    assert deferred, postfix.log()
    assert "Connection refused" in deferred[0], postfix.log()


def _bounced_once(postfix: Postfix, queue_id: str) -> None:
    """Refused at RCPT, bounced at the first try, a bounce made for the sender, gone."""
    bounces = postfix.log_lines(queue_id, "status=bounced")
    assert len(bounces) == 1, postfix.log()
    bounce = bounces[0]
    assert f"to=<{UNKNOWN_ADDRESS}>" in bounce, postfix.log()
    assert "550 5.1.1" in bounce, postfix.log()
    assert "in reply to RCPT TO command" in bounce, postfix.log()
    assert postfix.log_lines(queue_id, "status=deferred") == [], postfix.log()
    assert postfix.log_lines(queue_id, "sender non-delivery notification"), postfix.log()
    assert postfix.log_lines(queue_id, "removed"), postfix.log()


@pytest.mark.usefixtures("setup_integration")
async def test_email_into_postfix_becomes_incident(
    hass: HomeAssistant, postfix: Postfix, smtp_port: int
) -> None:
    queue_id = await _send(hass, postfix, "Disk failure on volume 1", SOURCE_ADDRESS)
    await _wait_for_delivery(hass, postfix, 1)

    [incident] = await _incidents(hass)
    assert incident["source_id"] == "source_nas"
    assert incident["summary"] == "Disk failure on volume 1"
    assert incident["from"] == SENDER
    assert incident["email_count"] == 1
    await hass.async_add_executor_job(_delivered_once, postfix, queue_id, smtp_port)


async def test_postfix_queues_while_unloaded_and_delivers_each_once(
    hass: HomeAssistant, setup_integration: ConfigEntry, postfix: Postfix, smtp_port: int
) -> None:
    """While Home Assistant is away (the listener's port refuses connections) Postfix keeps
    the e-mails; after the integration is back and a `postqueue -f`, each arrives once."""
    entry = setup_integration
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    subjects = [f"Disk failure on volume {number}" for number in (1, 2, 3)]
    queue_ids = [await _send(hass, postfix, subject, SOURCE_ADDRESS) for subject in subjects]

    async def all_deferred() -> bool:
        queue = await hass.async_add_executor_job(postfix.queue)
        return sorted(entry["queue_id"] for entry in queue) == sorted(queue_ids) and all(
            entry["queue_name"] == "deferred" for entry in queue
        )

    await postfix.async_wait_until(all_deferred, "the 3 e-mails deferred in Postfix's queue")
    for queue_id in queue_ids:
        await hass.async_add_executor_job(_deferred_as_refused, postfix, queue_id)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await hass.async_add_executor_job(postfix.flush)
    await _wait_for_delivery(hass, postfix, len(subjects))

    incidents = await _incidents(hass)
    assert sorted(incident["summary"] for incident in incidents) == subjects
    assert [incident["email_count"] for incident in incidents] == [1, 1, 1]
    counters = _runtime(entry).engine.state.counters
    assert counters.get("received") == len(subjects)
    assert counters.get("duplicate", 0) == 0
    for queue_id in queue_ids:
        await hass.async_add_executor_job(_delivered_once, postfix, queue_id, smtp_port)


async def test_unknown_address_bounces_at_once(
    hass: HomeAssistant, setup_integration: ConfigEntry, postfix: Postfix
) -> None:
    """The listener refuses the address at RCPT with 550: Postfix bounces the e-mail to its
    sender at once and keeps nothing to retry."""
    queue_id = await _send(hass, postfix, "Disk failure on volume 1", UNKNOWN_ADDRESS)

    async def bounced() -> bool:
        logged = await hass.async_add_executor_job(postfix.log_lines, queue_id, "status=bounced")
        return bool(logged) and await hass.async_add_executor_job(postfix.queue_size) == 0

    await postfix.async_wait_until(bounced, "the e-mail bounced and Postfix's queue empty")
    await hass.async_add_executor_job(_bounced_once, postfix, queue_id)
    assert await _incidents(hass) == []
    assert _runtime(setup_integration).engine.state.counters.get("refused_recipient") == 1
