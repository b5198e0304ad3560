"""Micro-benchmark of the pure core: parse + route + rules + engine per e-mail.

Figures for a 1 KiB and a 100 KiB e-mail against a source with 10 rules, and as the baseline
measured in the same run, Python's own `email` parser reading the same bytes with
`policy.default` and `get_body()` (what a naive implementation would do before any rule). The
ratio is ours / baseline: below 1 means the whole pipeline is cheaper than the baseline's parse.

Run: scripts/bench --core   (or: .venv/bin/python benchmarks/core_bench.py)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.email_incidents.core.config import source_from_data
from custom_components.email_incidents.core.engine import IncidentEngine
from custom_components.email_incidents.core.parser import parse_email

SOURCE_DATA = {
    "name": "Zabbix",
    "addresses": ["zabbix"],
    "creation_mode": "incident_keys",
    "filter_mode": "all",
    "filters": [
        {"field": "from", "operator": "contains", "value": "zabbix"},
        {"field": "subject", "operator": "not_contains", "value": "test"},
        {"field": "body", "operator": "not_matches", "value": r"maintenance\s+window"},
        {"field": "header:X-Zabbix-Severity", "operator": "not_equals", "value": "info"},
        {"field": "to", "operator": "contains", "value": "homeassistant.local"},
    ],
    "key_rules": [{"field": "subject", "method": "regex", "pattern": r"Event (?P<key>\d+)"}],
    "resolve_mode": "any",
    "resolve_conditions": [
        {"field": "subject", "operator": "starts_with", "value": "Resolved"},
        {"field": "body", "operator": "matches", "value": r"Problem has been resolved"},
    ],
    "accept_mode": "all",
    "accept_conditions": [
        {"field": "subject", "operator": "contains", "value": "acknowledged"},
    ],
}
RULES = 10


def make_message(size: int, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Zabbix <zabbix@monitoring.example>"
    message["To"] = "zabbix@homeassistant.local"
    message["Subject"] = f"Problem: Event {number} High CPU on web{number % 7}"
    message["Message-ID"] = f"<{number}.bench@monitoring.example>"
    message["X-Zabbix-Severity"] = "high"
    line = "Trigger: High CPU utilisation; value 97 %; host web1; severity High.\n"
    message.set_content(line * max(1, size // len(line)))
    return message.as_bytes()


def measure(function: Callable[[bytes, int], object], messages: list[bytes]) -> float:
    """Median seconds per call over 5 rounds of all messages."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for number, raw in enumerate(messages):
            function(raw, number)
        rounds.append((time.perf_counter() - started) / len(messages))
    return statistics.median(rounds)


def main() -> None:
    source = source_from_data("zabbix", SOURCE_DATA, domain="homeassistant.local")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    print(f"core pipeline, {RULES} rules (filters, key, resolve and accept conditions)")
    for label, size, count in (("1 KiB", 1024, 2000), ("100 KiB", 100 * 1024, 100)):
        messages = [make_message(size, number) for number in range(count)]
        engine = IncidentEngine(sources={"zabbix": source})

        def ours(raw: bytes, number: int, engine: IncidentEngine = engine) -> object:
            email = parse_email(raw, envelope_recipients=("zabbix@homeassistant.local",))
            return engine.ingest(email, start + timedelta(seconds=number))

        def baseline(raw: bytes, _number: int) -> object:
            parsed = message_from_bytes(raw, policy=policy.default)
            body = parsed.get_body(("plain", "html"))  # type: ignore[attr-defined]
            return (str(parsed["subject"]), body.get_content() if body else "")

        ours_s = measure(ours, messages)
        base_s = measure(baseline, messages)
        print(
            f"{label:>8}: ours {ours_s * 1e6:8.1f} us/e-mail ({1 / ours_s:8.0f}/s)   "
            f"stdlib parse {base_s * 1e6:8.1f} us/e-mail   ratio {ours_s / base_s:.2f}"
        )


if __name__ == "__main__":
    main()
