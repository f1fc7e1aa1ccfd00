"""Disk full, permission denied, read-only disk: the operating-system errors a load can meet, and DuckDB running out
of the memory limit set for the load, as a LoadError that says what happened and what to do, instead of a traceback.
Python raises the first as OSError; DuckDB as an IO error (or, when it meets one while writing a checkpoint, a fatal
error) that carries the system's message."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ingest.errors import LoadError

FULL = "Free some space there (a load builds the new warehouse beside the old one, so it needs room for both) " \
       "and try again"
DENIED = ("Give the user running the load the right to read the exports and to write in the warehouse's folder, "
          "and try again")
READ_ONLY = "Remount that disk read-write, or keep the warehouse on a writable disk, and try again"
ADVICE = {errno.ENOSPC: FULL, errno.EDQUOT: FULL, errno.EACCES: DENIED, errno.EPERM: DENIED,
          errno.EROFS: READ_ONLY}


OUT_OF_MEMORY = ("Let it use more with SCORECARD_LOAD_MEMORY_LIMIT (e.g. 4GiB, within what the machine has free), "
                 "make sure its spill folder (SCORECARD_LOAD_TEMP_DIRECTORY, by default beside the warehouse) has "
                 "room, and try again")


def explain(exc: BaseException, folder: Path) -> LoadError | None:
    """The LoadError for an OS error, or DuckDB running out of the memory a load may use, met while loading into
    `folder`, or None when it is neither."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        from ingest.limits import load_resources

        return LoadError(f"{folder}: the load ran out of the memory it may use ({load_resources().memory_limit}); "
                         f"the warehouse is as it was. {OUT_OF_MEMORY}. (DuckDB: {str(exc).splitlines()[0]})")
    if isinstance(exc, OSError):
        code = exc.errno
    elif isinstance(exc, duckdb.Error):
        code = next((code for code in ADVICE if os.strerror(code) in str(exc)), None)
    else:
        return None
    if code not in ADVICE:
        return None
    # A full or read-only disk is the folder's; a permission, the file's when the error names one.
    where = (getattr(exc, "filename", None) or folder) if code in (errno.EACCES, errno.EPERM) else folder
    return LoadError(f"{where}: {os.strerror(code).lower()}; the warehouse is as it was. {ADVICE[code]}.")


@contextmanager
def explained(folder: Path) -> Iterator[None]:
    """Turn the OS errors of the block into a LoadError for a person; any other error passes as it is."""
    try:
        yield
    except (OSError, duckdb.Error) as exc:
        error = explain(exc, folder)
        if error is None:
            raise
        raise error from exc
