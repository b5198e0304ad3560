"""First start of scripts/develop: a listener on port 2525 with a demo alert source."""

from __future__ import annotations

from pathlib import Path
import sys

from ha_config import link_integration, seed_config_entry

DEMO_SOURCE = {
    "name": "Demo",
    "addresses": ["demo"],
    "priority": "high",
    "creation_mode": "per_subject",
}

if __name__ == "__main__":
    config_dir = Path(sys.argv[1])
    link_integration(config_dir)
    if seed_config_entry(
        config_dir,
        listener={"host": "0.0.0.0", "port": 2525, "mail_domain": "homeassistant.local"},
        sources=[DEMO_SOURCE],
    ):
        print("Seeded a listener on port 2525 with the demo alert source demo@homeassistant.local.")
