"""One load at a time per warehouse: an OS file lock on `<warehouse>.lock` beside the warehouse file.

A second load waits for the first (saying so) and refuses once its wait is over, so two loads never both build
from the same old warehouse and the second's rename drops the first's rows. The kernel releases the lock
when the holding process ends, however it ends (kill -9 included), so a load that died never blocks the next.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import LoadError

POLL_SECONDS = 0.2


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def try_lock(fd: int) -> bool:
    """Take the exclusive lock on an open file if no one holds it; True when taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "holder unknown"
    except OSError:
        return "holder unknown"


@contextmanager
def one_load_at_a_time(db_path: Path, wait_seconds: float, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the warehouse's load lock for the block; wait up to `wait_seconds` for a load holding it, then refuse."""
    path = lock_path(db_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not try_lock(fd):
            holder = _holder(path)
            say(f"Another load of {db_path.name} is running ({holder}); waiting up to {wait_seconds:.0f} s for it to "
                "finish")
            deadline = time.monotonic() + wait_seconds
            while not try_lock(fd):
                if time.monotonic() >= deadline:
                    raise LoadError(
                        f"{db_path}: another load is still running ({holder}) after waiting {wait_seconds:.0f} s; "
                        "nothing was loaded. Load again when it has finished.")
                time.sleep(POLL_SECONDS)
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()}, started {started}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays, so every load locks the same file
