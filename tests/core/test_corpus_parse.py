"""Every e-mail of the corpus in tests/fixtures parses to the expected subject, sender and text."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.email_incidents.core.models import Attachment
from custom_components.email_incidents.core.parser import FORWARD_SEPARATOR, parse_email

FIXTURES = Path(__file__).parent.parent / "fixtures"

# file: (subject, from address, recipient, one whole line of the body)
CORPUS: dict[str, tuple[str, str, str, str]] = {
    "alertmanager_firing.eml": (
        "[FIRING:1] HighCPU (node1 critical)",
        "alertmanager@example.com",
        "alerts@homeassistant.local",
        "summary = CPU usage above 90% for 5 minutes",
    ),
    "alertmanager_resolved.eml": (
        "[RESOLVED] HighCPU (node1 critical)",
        "alertmanager@example.com",
        "alerts@homeassistant.local",
        "[1] Resolved",
    ),
    "apcupsd_offbattery.eml": (
        "nas01 UPS ups01 Power has returned...",
        "root@nas01.lan",
        "ups@homeassistant.local",
        "STATUS   : ONLINE",
    ),
    "apcupsd_onbattery.eml": (
        "nas01 UPS ups01 Power Failure !!!",
        "root@nas01.lan",
        "ups@homeassistant.local",
        "STATUS   : ONBATT",
    ),
    "buffalo_disk_error.eml": (
        "ディスクエラー LS220D",
        "ls220d@example.jp",
        "nas@homeassistant.local",
        "エラーコード: E30",
    ),
    "cron_backup_failed.eml": (
        "Cron <root@server01> /usr/local/bin/backup.sh",
        "root@server01.lan",
        "backups@homeassistant.local",
        'rsync: [sender] send_files failed to open "/home/jérôme/Documents/Liste.ods": '
        "Permission denied (13)",
    ),
    "cron_backup_ok.eml": (
        "Cron <root@server01> /usr/local/bin/backup.sh",
        "root@server01.lan",
        "backups@homeassistant.local",
        "Backup completed successfully: 1284 files, 3.2 GiB in 6 s",
    ),
    "forwarded_attached.eml": (
        "Fwd: Toner low on the office printer",
        "jonas@example.com",
        "printers@homeassistant.local",
        "Subject: Toner low \u2013 HP LaserJet M404dn",
    ),
    "forwarded_outlook.eml": (
        "Fwd: UPS self-test failed",
        "anna@example.com",
        "ups@homeassistant.local",
        "UPS: The self-test failed. Replace the battery.",
    ),
    "grafana_alerting.eml": (
        "[FIRING:1] DiskAlmostFull (nas01 /volume1)",
        "grafana@example.com",
        "grafana@homeassistant.local",
        "instance | nas01",
    ),
    "grafana_resolved.eml": (
        "[RESOLVED] DiskAlmostFull (nas01 /volume1)",
        "grafana@example.com",
        "grafana@homeassistant.local",
        "Resolved: 1 alert",
    ),
    "home_assistant_test.eml": (
        "Home Assistant",
        "homeassistant@example.com",
        "ha@homeassistant.local",
        "Test notification from Home Assistant: the washing machine is done.",
    ),
    "home_assistant_water_leak.eml": (
        "Wasser im Keller 💧 \u2013 Leckagesensor binary_sensor.keller_wasser",
        "homeassistant@example.com",
        "ha@homeassistant.local",
        "Hauptventil wurde geschlossen.",
    ),
    "icinga2_problem.eml": (
        "[PROBLEM] HTTP on webserver is CRITICAL!",
        "icinga@icinga.example.com",
        "icinga@homeassistant.local",
        "  Deploy läuft",
    ),
    "icinga2_recovery.eml": (
        "[RECOVERY] HTTP on webserver is OK!",
        "icinga@icinga.example.com",
        "icinga@homeassistant.local",
        "HTTP on webserver is OK!",
    ),
    "nagios_host_down.eml": (
        "** PROBLEM Host Alert: nas01 is DOWN **",
        "nagios@monitor.example.com",
        "nagios@homeassistant.local",
        "Info: PING CRITICAL - Packet loss = 100%",
    ),
    "nagios_problem.eml": (
        "** PROBLEM Service Alert: webserver/HTTP is CRITICAL **",
        "nagios@monitor.example.com",
        "nagios@homeassistant.local",
        "HTTP CRITICAL - Socket timeout after 10 seconds",
    ),
    "nagios_recovery.eml": (
        "** RECOVERY Service Alert: webserver/HTTP is OK **",
        "nagios@monitor.example.com",
        "nagios@homeassistant.local",
        "Notification Type: RECOVERY",
    ),
    "nut_onbatt.eml": (
        "UPS eaton@localhost on battery",
        "nut@pi.lan",
        "ups@homeassistant.local",
        "UPS eaton@localhost on battery",
    ),
    "pfsense_gateway_down.eml": (
        "pfSense.home.arpa - Notification",
        "pfsense@example.com",
        "pfsense@homeassistant.local",
        "10:21:07 MONITOR: WAN_DHCP has packet loss, omitting from routing group WANGROUP",
    ),
    "pfsense_gateway_up.eml": (
        "pfSense.home.arpa - Notification",
        "pfsense@example.com",
        "pfsense@homeassistant.local",
        "10:29:51 MONITOR: WAN_DHCP is available now, adding to routing group WANGROUP",
    ),
    "proxmox_backup_failed.eml": (
        "vzdump backup status (pve1.example.com): backup failed",
        "root@pve1.example.com",
        "backups@homeassistant.local",
        "101     nextcloud       err       5s         0 B            null",
    ),
    "proxmox_backup_ok.eml": (
        "vzdump backup status (pve1.example.com): backup successful",
        "root@pve1.example.com",
        "backups@homeassistant.local",
        "Total size: 14.382 GiB",
    ),
    "qnap_backup_failed.eml": (
        '[Error] [NAS02] [Hybrid Backup Sync] Failed to complete backup job "Nightly to B2".',
        "nas02@example.com",
        "qnap@homeassistant.local",
        "Level: Error",
    ),
    "qnap_fan_failure.eml": (
        "[Warning] [NAS02] [Hardware Status] System fan 1 failed.",
        "nas02@example.com",
        "qnap@homeassistant.local",
        "[Hardware Status] System fan 1 failed. Speed: 0 RPM",
    ),
    "smartd_failure.eml": (
        "SMART error (CurrentPendingSector) detected on host: nas01",
        "root@nas01.lan",
        "smart@homeassistant.local",
        "Device: /dev/sda [SAT], 8 Currently unreadable (pending) sectors",
    ),
    "synology_disk_degraded.eml": (
        "[NAS01] Storage Pool 1 on NAS01 has degraded",
        "nas01@example.com",
        "nas@homeassistant.local",
        "Storage Pool 1 (SHR, Btrfs) on NAS01 has degraded. Drive 2 (WD40EFRX) in NAS01 has "
        "failed.",
    ),
    "synology_disk_repaired.eml": (
        "[NAS01] Storage Pool 1 on NAS01 has been repaired",
        "nas01@example.com",
        "nas@homeassistant.local",
        "From NAS01",
    ),
    "truenas_alert.eml": (
        "TrueNAS @ truenas: Critical Alerts",
        "truenas@example.com",
        "truenas@homeassistant.local",
        "    Disk WDC_WD80EFZZ-68BTXN0 WD-CA1234XY is REMOVED",
    ),
    "unifi_offline.eml": (
        "[UniFi] Device Offline: U6-Lite Office",
        "noreply@ui.com",
        "network@homeassistant.local",
        "Device | U6-Lite Office",
    ),
    "uptime_kuma_down.eml": (
        "[🔴 Down] My Site",
        "kuma@example.com",
        "uptime@homeassistant.local",
        "[🔴 Down] Request failed with status code 502",
    ),
    "uptime_kuma_up.eml": (
        "[✅ Up] My Site",
        "kuma@example.com",
        "uptime@homeassistant.local",
        "[✅ Up] 200 - OK",
    ),
    "watchtower_update.eml": (
        "Watchtower updates on docker01",
        "watchtower@docker01.lan",
        "docker@homeassistant.local",
        "Creating /homeassistant",
    ),
    "with_attachment.eml": (
        "restic backup FAILED on server01",
        "backup@server01.lan",
        "backups@homeassistant.local",
        "restic backup of server01 failed with exit code 1.",
    ),
    "zabbix_problem.eml": (
        "Problem: High CPU utilization (over 90% for 5m)",
        "zabbix@example.com",
        "zabbix@homeassistant.local",
        "Operational data: Current utilization: 97.3 %",
    ),
    "zabbix_recovery.eml": (
        "Resolved in 12m 10s: High CPU utilization (over 90% for 5m)",
        "zabbix@example.com",
        "zabbix@homeassistant.local",
        "Problem duration: 12m 10s",
    ),
    "zabbix_update.eml": (
        "Updated problem in 3m 20s: High CPU utilization (over 90% for 5m)",
        "zabbix@example.com",
        "zabbix@homeassistant.local",
        "Working on it \u2013 restarting the batch job.",
    ),
}


def test_corpus_table_covers_every_fixture() -> None:
    assert sorted(path.name for path in FIXTURES.glob("*.eml")) == sorted(CORPUS)
    assert len(CORPUS) >= 30
    readme = (FIXTURES / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_fixture_parses(name: str) -> None:
    subject, sender, recipient, body_line = CORPUS[name]
    email = parse_email((FIXTURES / name).read_bytes())
    assert email.subject == subject
    assert email.from_address == sender
    assert recipient in email.header_recipients
    assert body_line in email.body.splitlines()
    assert email.defects == ()
    assert email.date is not None
    assert email.message_id.startswith("<")
    assert email.message_id.endswith(">")
    assert email.size == (FIXTURES / name).stat().st_size


@pytest.mark.parametrize("name", ["zabbix_problem.eml", "zabbix_update.eml", "zabbix_recovery.eml"])
def test_zabbix_keeps_the_event_id_in_in_reply_to(name: str) -> None:
    email = parse_email((FIXTURES / name).read_bytes())
    assert email.in_reply_to == "<1234.5678@zabbix.example>"
    assert email.references == ("<1234.5678@zabbix.example>",)
    assert email.headers.first("Content-Transfer-Encoding") == "base64"


def test_html_only_mail_reads_like_text() -> None:
    email = parse_email((FIXTURES / "zabbix_problem.eml").read_bytes())
    assert email.body == (
        "Problem started at 10:02:03 on 2026.11.24\n"
        "Problem name: High CPU utilization (over 90% for 5m)\n"
        "Host: server01\n"
        "Severity: Warning\n"
        "Operational data: Current utilization: 97.3 %\n"
        "Original problem ID: 1234\n"
        "Open in Zabbix (https://zabbix.example.com/tr_events.php?triggerid=5678&eventid=1234)"
    )


def test_alternative_mail_uses_the_plain_part() -> None:
    email = parse_email((FIXTURES / "alertmanager_firing.eml").read_bytes())
    assert email.body.startswith("[FIRING:1] HighCPU (node1 critical)\n\nView in Alertmanager:\n")
    assert "View in Alertmanager (http" not in email.body  # the HTML part's rendering


def test_forwarded_mail_routes_by_delivered_to() -> None:
    email = parse_email((FIXTURES / "forwarded_outlook.eml").read_bytes())
    assert email.to == ("anna@example.com",)
    assert email.delivered_to == ("ups@homeassistant.local",)
    assert email.from_name == "Anna Berg"


def test_attached_forward_is_rendered_after_the_text() -> None:
    email = parse_email((FIXTURES / "forwarded_attached.eml").read_bytes())
    assert email.body == (
        "Please order a new cartridge.\n\n"
        f"{FORWARD_SEPARATOR}\n"
        "From: HP LaserJet M404dn <printer@example.com>\n"
        "Date: Tue, 24 Nov 2026 08:55:00 +0100\n"
        "Subject: Toner low \u2013 HP LaserJet M404dn\n"
        "To: jonas@example.com\n\n"
        "Printer: HP LaserJet M404dn (NPI8A2B3C)\n"
        "Black cartridge (CF259A) is low: about 9% remaining."
    )
    assert email.attachments == (
        Attachment(filename="Toner low.eml", content_type="message/rfc822", size=453),
    )


def test_attachments_are_recorded_not_read() -> None:
    email = parse_email((FIXTURES / "with_attachment.eml").read_bytes())
    assert email.attachments == (
        Attachment(filename="restic-2026-11-24.log", content_type="text/plain", size=116),
        Attachment(filename="restic-stats.json.gz", content_type="application/gzip", size=37),
    )
    assert email.body == (
        "restic backup of server01 failed with exit code 1.\nSee the attached log."
    )
    assert email.cc == ("admin@example.com",)
