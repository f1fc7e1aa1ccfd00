"""Failed sign-ins per user name, kept in a small SQLite file beside the users file (no Streamlit here).

The count lives on disk, outside every Streamlit cache, so no client message (a websocket `clear_cache`), no new
session, no restart and no second server process resets it. Names are capped before they are hashed and only
their hash is stored; entries expire and the file holds at most `max_names` of them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

MAX_NAME_CHARS = 64
MAX_NAMES = 10_000


class LockoutUnavailable(RuntimeError):
    """The failure store cannot be read or written; sign-in must refuse rather than go on uncounted."""


def capped_name(name: str) -> str:
    """The user name as the scorecard compares and counts it: surrounding spaces dropped, at most 64 characters."""
    return name.strip()[:MAX_NAME_CHARS]


class Lockout:
    """After `max_failures` sign-ins that did not succeed, each within `seconds` of the one before, the name is
    locked until `seconds` after the last of them.

    Each attempt is counted before its password is checked (and forgiven on success), so attempts made in parallel
    from many sessions cannot slip past the limit."""

    def __init__(self, path: Path, max_failures: int, seconds: int, clock=time.time,
                 max_names: int = MAX_NAMES) -> None:
        self.path, self.max_failures, self.seconds, self.clock, self.max_names = (
            Path(path), max_failures, seconds, clock, max_names)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        con.execute("CREATE TABLE IF NOT EXISTS failures (name_key BLOB PRIMARY KEY, failures INTEGER NOT NULL, "
                    "last_at REAL NOT NULL)")
        return con

    @staticmethod
    def _key(name: str) -> bytes:
        return hashlib.sha256(capped_name(name).encode("utf-8", "surrogatepass")).digest()

    def attempt(self, name: str) -> float:
        """Seconds the name stays locked (the attempt is refused), or 0 after counting this attempt."""
        now, key = self.clock(), self._key(name)
        try:
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("DELETE FROM failures WHERE last_at <= ?", (now - self.seconds,))
                row = con.execute("SELECT failures, last_at FROM failures WHERE name_key = ?", (key,)).fetchone()
                if row is not None and row[0] >= self.max_failures:
                    con.execute("COMMIT")
                    return max(self.seconds - (now - row[1]), 1e-3)
                con.execute("INSERT INTO failures VALUES (?, 1, ?) ON CONFLICT (name_key) DO UPDATE "
                            "SET failures = failures + 1, last_at = excluded.last_at", (key, now))
                # bounded: past max_names, names that are not locked go first, oldest first
                con.execute("DELETE FROM failures WHERE name_key IN (SELECT name_key FROM failures WHERE name_key != ? "
                            "ORDER BY failures >= ?, last_at LIMIT max(0, (SELECT count(*) FROM failures) - ?))",
                            (key, self.max_failures, self.max_names))
                con.execute("COMMIT")
                return 0.0
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise LockoutUnavailable(f"{self.path}: {exc}") from exc

    def succeeded(self, name: str) -> None:
        try:
            con = self._connect()
            try:
                con.execute("DELETE FROM failures WHERE name_key = ?", (self._key(name),))
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise LockoutUnavailable(f"{self.path}: {exc}") from exc

    def names_held(self) -> int:
        """How many names the store holds (expired ones included until the next attempt removes them)."""
        con = self._connect()
        try:
            return con.execute("SELECT count(*) FROM failures").fetchone()[0]
        finally:
            con.close()
