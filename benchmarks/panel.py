"""Panel benchmark: the Incidents panel in headless Debian Chromium against a real Home Assistant
with 10,000 stored incidents (those of benchmarks/ingest.py) and one incident of 50 e-mails with
4 KiB bodies, sent over SMTP.

Two figures, each the median of several runs inside an open frontend (the panel's module is
cached after the first run, as it is for a user):
- list_10k_first_page_ms: from navigating to /email-incidents until the first page of 50
  incidents is in the document and painted (targets: at most 1 s);
- open_50_emails_ms: from navigating from the list to the incident until its 50 e-mails are in
  the document and painted (target: at most 200 ms).

Prints one line: PANEL list_10k_first_page_ms=<ms> open_50_emails_ms=<ms>

Run: scripts/bench (or python benchmarks/panel.py)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
import re
import smtplib
import statistics
import sys
import tempfile

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "scripts"), str(Path(__file__).parent)]

from ha_config import free_port, start_home_assistant, stop_process  # noqa: E402
from ingest import STORED_INCIDENTS, prepare_home_assistant  # noqa: E402

from tests.browser.harness import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    UI_TIMEOUT_MS,
    HomeAssistantProcess,
    login,
    wait_until_up,
)

from playwright.sync_api import Page, sync_playwright  # noqa: E402  # isort: skip

PAGE_SIZE = 50
LONG_INCIDENT_EMAILS = 50
BODY_BYTES = 4096
LONG_SUBJECT = "Disk latency on array 7"
RUNS = 7

# Navigates inside the open frontend as its own links do, then waits until `count` elements
# match `selector` in the panel and one more frame is painted; the milliseconds it took.
MEASURE = """
async ([path, selector, count]) => {
  const panelRoot = () => document.querySelector("home-assistant")?.shadowRoot
    ?.querySelector("home-assistant-main")?.shadowRoot
    ?.querySelector("email-incidents-panel")?.shadowRoot;
  const start = performance.now();
  history.pushState(null, "", path);
  window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace: false } }));
  await new Promise((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error(`no ${count} ${selector} in 30 s`)), 30000);
    const check = () => {
      if ((panelRoot()?.querySelectorAll(selector).length ?? 0) >= count) {
        clearTimeout(timeout);
        resolve(undefined);
      } else {
        requestAnimationFrame(check);
      }
    };
    check();
  });
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return performance.now() - start;
}
"""
LEAVE = """
path => {
  history.pushState(null, "", path);
  window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace: false } }));
}
"""


def send_long_incident(smtp_port: int) -> None:
    """50 e-mails with one subject: one incident of the Bench source (one per subject)."""
    with smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="localhost", timeout=60) as client:
        for number in range(LONG_INCIDENT_EMAILS):
            message = EmailMessage()
            message["From"] = "storage@example.com"
            message["To"] = "bench@homeassistant.local"
            message["Subject"] = LONG_SUBJECT
            message["Message-ID"] = make_msgid(domain="example.com")
            line = f"Read latency of array 7 is {100 + number} ms, above the 50 ms threshold.\n"
            message.set_content((line * (BODY_BYTES // len(line) + 1))[:BODY_BYTES])
            refused = client.send_message(message)
            assert not refused, refused


def measure(page: Page, path: str, selector: str, count: int) -> float:
    return float(page.evaluate(MEASURE, [path, selector, count]))


def run(page: Page, hass: HomeAssistantProcess) -> tuple[float, float]:
    login(page, hass)
    page.goto(hass.base_url + "/profile")
    page.wait_for_selector("ha-panel-profile")
    result = page.evaluate(
        """subject => document.querySelector('home-assistant').hass.callWS(
             {type: 'email_incidents/incidents/list', search: subject})""",
        LONG_SUBJECT,
    )
    [long_incident] = result["incidents"]
    assert long_incident["email_count"] == LONG_INCIDENT_EMAILS, long_incident
    stored = page.evaluate(
        """() => document.querySelector('home-assistant').hass.callWS(
             {type: 'email_incidents/incidents/list', limit: 1})"""
    )["total"]
    assert stored > STORED_INCIDENTS, stored
    list_ms = []
    open_ms = []
    for _ in range(RUNS):
        page.evaluate(LEAVE, "/profile")
        page.wait_for_selector("ha-panel-profile")
        list_ms.append(measure(page, "/email-incidents", ".row", PAGE_SIZE))
        open_ms.append(measure(page, long_incident["url"], ".email", LONG_INCIDENT_EMAILS))
    print(
        "panel runs (ms): list "
        + " ".join(f"{value:.0f}" for value in list_ms)
        + " | open "
        + " ".join(f"{value:.0f}" for value in open_ms),
        flush=True,
    )
    return statistics.median(list_ms), statistics.median(open_ms)


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="panel-bench-") as folder:
        config_dir = Path(folder)
        smtp_port = free_port()
        prepare_home_assistant(config_dir, smtp_port, incidents=True)
        match = re.search(r"server_port: (\d+)", (config_dir / "configuration.yaml").read_text())
        assert match
        hass = HomeAssistantProcess(f"http://127.0.0.1:{match[1]}", smtp_port, config_dir)
        process = start_home_assistant(config_dir, config_dir / "hass.log")
        try:
            wait_until_up(hass, process)
            hass.onboard()
            send_long_incident(smtp_port)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 860}, locale="en-US"
                    )
                    context.set_default_timeout(UI_TIMEOUT_MS)
                    list_ms, open_ms = run(context.new_page(), hass)
                finally:
                    browser.close()
        finally:
            stop_process(process)
    print(f"PANEL list_10k_first_page_ms={list_ms:.0f} open_50_emails_ms={open_ms:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
