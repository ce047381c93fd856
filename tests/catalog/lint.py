"""Generated code must pass ruff as a user would run it: `ruff check` and `ruff format --check`, isolated from
this project's settings (line length 120, as `format_code` writes it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def assert_ruff_clean(path: Path, note: str = "") -> None:
    """`path` (a file or a folder of generated modules) passes ruff check and ruff format --check."""
    for args in (["check", "--isolated"], ["format", "--isolated", "--line-length", "120", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr + note
