"""The code style is part of the contract: ``ruff check`` and ``ruff format --check`` pass.

Runs the ruff that the dev extras install (the one beside this Python), so CI checks the
same thing a contributor's ``ruff format .`` produces.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> str:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return str(exe)
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]' (it is a dev dependency)")
    return found


@pytest.mark.parametrize(
    "args", [["check", "."], ["format", "--check", "."]], ids=["check", "format"]
)
def test_ruff_clean(args: list[str]) -> None:
    proc = subprocess.run([_ruff(), *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (
        f"ruff {' '.join(args)} found problems:\n{proc.stdout}{proc.stderr}"
    )
