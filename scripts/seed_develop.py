"""First start of scripts/develop: a listener on port 2525 with a demo alert source."""

from __future__ import annotations

from pathlib import Path
import sys

from ha_config import INTEGRATION, link_integration, seed_config_entry

# configuration.yaml includes these; the automation, script and scene editors save into them.
UI_FILES = {"automations.yaml": "[]\n", "scripts.yaml": "", "scenes.yaml": ""}
DEMO_SOURCE = {
    "name": "Demo",
    "addresses": ["demo"],
    "priority": "high",
    "creation_mode": "per_subject",
}


def create_ui_files(config_dir: Path) -> None:
    """The files the UI editors save into, empty; existing ones are kept."""
    for name, empty in UI_FILES.items():
        if not (config_dir / name).exists():
            (config_dir / name).write_text(empty)


def link_custom_sentences(config_dir: Path) -> None:
    """Assist's sentences for the integration where users put them (README, Assist), linked so
    that the working tree's sentences are the ones loaded at the next start."""
    for shipped in sorted((INTEGRATION / "custom_sentences").glob("*/email_incidents.yaml")):
        target = config_dir / "custom_sentences" / shipped.parent.name / shipped.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(shipped)


if __name__ == "__main__":
    config_dir = Path(sys.argv[1])
    link_integration(config_dir)
    link_custom_sentences(config_dir)
    create_ui_files(config_dir)
    if seed_config_entry(
        config_dir,
        listener={"host": "0.0.0.0", "port": 2525, "mail_domain": "homeassistant.local"},
        sources=[DEMO_SOURCE],
    ):
        print("Seeded a listener on port 2525 with the demo alert source demo@homeassistant.local.")
