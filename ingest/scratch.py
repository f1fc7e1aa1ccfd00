"""Scratch folders beside the warehouse (a load's new warehouse, an upload's copies, the app's read links) that a
later load or app start removes once the process that made them is gone, whatever killed it.

Each folder `.{kind}-XXXX` has a lock file `.{kind}-XXXX.lock`, made before the folder and removed after it, and
held (an OS file lock) by its owner for the folder's life. The kernel drops the lock when the owner dies, so a
lock that can be taken, or a folder without its lock file, belongs to no live process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from ingest.lock import try_lock

Kind = Literal["loading", "upload", "reading"]
KINDS: tuple[str, ...] = ("loading", "upload", "reading")
LOCK = ".lock"


class ScratchFolder:
    """A new, empty folder `.{kind}-XXXX` in `beside`, held until `remove()` (or the end of a `with` block)."""

    def __init__(self, beside: Path, kind: Kind):
        beside.mkdir(parents=True, exist_ok=True)
        while True:
            self._fd, lock = tempfile.mkstemp(prefix=f".{kind}-", suffix=LOCK, dir=beside)
            self._lock = Path(lock)
            # A clean-up that opened the new file first took it for a dead one's and removed it: start again.
            if try_lock(self._fd) and _same_file(self._fd, self._lock):
                break
            os.close(self._fd)
        self.path = self._lock.with_name(self._lock.name.removesuffix(LOCK))
        try:
            self.path.mkdir()
        except BaseException:
            self._release()
            raise

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        self._lock.unlink(missing_ok=True)
        os.close(self._fd)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        self.remove()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove the scratch folders in `folder` whose owner is gone; the folders removed."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not entry.name.startswith(tuple(f".{kind}-" for kind in KINDS)):
            continue
        if entry.name.endswith(LOCK):
            try:
                fd = os.open(entry, os.O_RDWR)
            except FileNotFoundError:  # its owner finished meanwhile
                continue
            try:
                if try_lock(fd):
                    leftover = entry.with_name(entry.name.removesuffix(LOCK))
                    shutil.rmtree(leftover, ignore_errors=True)
                    entry.unlink(missing_ok=True)
                    removed.append(leftover)
            finally:
                os.close(fd)
        elif entry.is_dir() and not entry.with_name(entry.name + LOCK).exists():
            # No lock file: an interrupted clean-up, or a folder left by a version of the importer without locks.
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
