"""Settings: every one is an ASKOLEUS_ variable the README's configuration table documents."""

from __future__ import annotations

import re
from pathlib import Path

from askoleus.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    table = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for cell in re.findall(r"^\| (`ASKOLEUS_[^|]+)\|", table, re.M):  # a row's first cell names one or more
        names = re.findall(r"`(ASKOLEUS_[A-Z0-9_]+)`", cell)
        documented.update(names)
        parts = names[0].split("_")  # "`ASKOLEUS_RATE_LIMIT_PER_MINUTE` / `_BURST`" names ASKOLEUS_RATE_LIMIT_BURST
        for suffix in re.findall(r"`(_[A-Z0-9_]+)`", cell):
            documented.update("_".join(parts[:i]) + suffix for i in range(2, len(parts)))
    missing = [name for name in Settings.model_fields if f"ASKOLEUS_{name.upper()}" not in documented]
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_the_word_table_and_spinning_settings_have_safe_defaults() -> None:
    settings = Settings()
    assert settings.word_table is True
    assert settings.onnx_spinning is True
    assert settings.onnx_spin_between_runs is False
