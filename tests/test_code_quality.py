"""Lint and type checks (issue 16) run inside the test suite: `ruff check .` and `mypy`, with the settings in
pyproject.toml, report nothing. Each prints its findings when it fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_ruff_finds_nothing():
    done = run("ruff", "check", ".")
    assert done.returncode == 0, f"ruff check . found:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing():
    done = run("mypy")
    assert done.returncode == 0, f"mypy found:\n{done.stdout}{done.stderr}"
