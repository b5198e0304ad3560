"""First start of scripts/develop: a listener on port 2525 with a demo alert source.

Home Assistant reads config entries from .storage/core.config_entries; writing it before the
first start is how the demo appears without clicking through the UI. Never touches an existing
file, so anything changed in the UI stays.
"""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
import sys
import uuid


def seed(config_dir: Path) -> bool:
    entries_file = config_dir / ".storage" / "core.config_entries"
    if entries_file.exists():
        return False
    now = datetime.now(UTC).isoformat()
    entry = {
        "created_at": now,
        "data": {"host": "0.0.0.0", "port": 2525, "mail_domain": "homeassistant.local"},
        "disabled_by": None,
        "discovery_keys": {},
        "domain": "email_incidents",
        "entry_id": uuid.uuid4().hex,
        "minor_version": 1,
        "modified_at": now,
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [
            {
                "data": {
                    "name": "Demo",
                    "addresses": ["demo"],
                    "priority": "high",
                    "creation_mode": "per_subject",
                },
                "subentry_id": uuid.uuid4().hex,
                "subentry_type": "alert_source",
                "title": "Demo",
                "unique_id": None,
            }
        ],
        "title": "Email Incidents",
        "unique_id": None,
        "version": 1,
    }
    entries_file.parent.mkdir(parents=True, exist_ok=True)
    entries_file.write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 5,
                "key": "core.config_entries",
                "data": {"entries": [entry]},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return True


if __name__ == "__main__":
    if seed(Path(sys.argv[1])):
        print("Seeded a listener on port 2525 with the demo alert source demo@homeassistant.local.")
