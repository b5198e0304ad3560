"""The development configuration loads what the UI editors save."""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess
import sys

from homeassistant.util.yaml import load_yaml_dict

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_scripts_develop_config_loads_automations_saved_in_the_ui(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "config" / "configuration.yaml", tmp_path)
    seed = [sys.executable, str(REPO_ROOT / "scripts" / "seed_develop.py"), str(tmp_path)]
    subprocess.run(seed, check=True, capture_output=True)
    assert load_yaml_dict(tmp_path / "configuration.yaml")["automation"] == []

    saved = "- id: '1'\n  alias: Saved in the UI\n  triggers: []\n  actions: []\n"
    (tmp_path / "automations.yaml").write_text(saved)
    subprocess.run(seed, check=True, capture_output=True)  # a second start keeps the file
    automations = load_yaml_dict(tmp_path / "configuration.yaml")["automation"]
    assert [automation["alias"] for automation in automations] == ["Saved in the UI"]


def test_scripts_develop_places_the_assist_sentences(tmp_path: Path) -> None:
    """Where the README tells users to put them, current with the working tree."""
    shutil.copy(REPO_ROOT / "config" / "configuration.yaml", tmp_path)
    seed = [sys.executable, str(REPO_ROOT / "scripts" / "seed_develop.py"), str(tmp_path)]
    for _ in range(2):  # a second start replaces them
        subprocess.run(seed, check=True, capture_output=True)
    shipped = REPO_ROOT / "custom_components" / "email_incidents" / "custom_sentences"
    for language in ("en", "de"):
        placed = tmp_path / "custom_sentences" / language / "email_incidents.yaml"
        assert placed.read_text("utf-8") == (shipped / language / placed.name).read_text("utf-8")
    assert "conversation" in load_yaml_dict(tmp_path / "configuration.yaml")
