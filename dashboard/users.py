"""Users, roles and what each may see (no Streamlit here), plus the command line to manage the users file.

    python -m dashboard.users add li_na --role lead --regions 台州 --file users.toml   # asks for a password
    python -m dashboard.users reset-password li_na --file users.toml
    python -m dashboard.users list --file users.toml
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from metrics.settings import read_toml

ROOT = Path(__file__).resolve().parent.parent
USERS_FILE = Path(os.environ.get("SCORECARD_USERS", ROOT / "users.toml"))
EXAMPLE_FILE = ROOT / "users.example.toml"

Role = Literal["executive", "lead", "analyst", "admin"]
ALL_PAGES = ("scorecard", "tiers", "response_times", "complaints", "retention", "satisfaction", "data", "explore")
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "executive": ALL_PAGES,
    "lead": tuple(p for p in ALL_PAGES if p != "data"),
    "analyst": tuple(p for p in ALL_PAGES if p != "data"),
    "admin": ALL_PAGES,
}
_hasher = PasswordHasher()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthSettings(Strict):
    mode: Literal["none", "password", "oidc"] = "none"
    max_failures: int = Field(5, ge=1, description="failed sign-ins before the account is locked")
    lockout_seconds: int = Field(300, ge=1)
    oidc_claim: str = Field("email", description="st.user claim matched against each user's `login`")


class UserEntry(Strict):
    role: Role
    display_name: str | None = None
    regions: tuple[str, ...] | None = None
    service_centers: tuple[str, ...] | None = None
    login: str | None = Field(None, description="the identity provider's claim value (oidc mode)")
    password_hash: str | None = None

    @model_validator(mode="after")
    def _leads_are_limited(self) -> "UserEntry":
        if self.role == "lead" and not (self.regions or self.service_centers):
            raise ValueError("a lead must list regions or service_centers")
        if self.role in ("executive", "admin") and (self.regions or self.service_centers):
            raise ValueError(f"an {self.role} sees every region; remove regions/service_centers or change the role")
        return self


class UsersFile(Strict):
    auth: AuthSettings = AuthSettings()
    users: dict[str, UserEntry] = {}


@dataclass(frozen=True)
class Identity:
    """The signed-in person and what they may do; the single source for every permission check."""

    username: str
    display_name: str
    role: str
    allowed_regions: tuple[str, ...] | None
    allowed_service_centers: tuple[str, ...] | None

    @property
    def pages(self) -> tuple[str, ...]:
        return ROLE_PAGES[self.role]

    @property
    def can_download_rows(self) -> bool:
        return self.role in ("analyst", "admin")

    @property
    def can_import(self) -> bool:
        return self.role == "admin"


LOCAL_ADMIN = Identity("local", "Local user (sign-in off)", "admin", None, None)


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the file and the entry."""


def read_users(path: Path) -> UsersFile:
    return read_toml(path, UsersFile, UsersFileError)


def check_places(users: UsersFile, path: Path, regions: set[str], centers_by_region: dict[str, str]) -> None:
    """Every region and service centre a user is limited to must exist in the warehouse."""
    for name, entry in users.users.items():
        unknown = [r for r in entry.regions or () if r not in regions]
        unknown += [c for c in entry.service_centers or () if c not in centers_by_region]
        if unknown:
            raise UsersFileError(f"{path}: users.{name}: unknown region or service centre {', '.join(unknown)}")


def identity_for(name: str, entry: UserEntry, centers_by_region: dict[str, str]) -> Identity:
    regions = entry.regions
    if entry.service_centers:
        # a centre-level lead is limited to those centres, and to their regions for region-only data (training)
        regions = tuple(sorted({*(regions or ()), *(centers_by_region[c] for c in entry.service_centers)}))
    return Identity(name, entry.display_name or name, entry.role, regions, entry.service_centers or None)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Lockout:
    """Counts failed sign-ins per user name; after `max_failures` the name is locked for `seconds`."""

    def __init__(self, max_failures: int, seconds: int, clock=time.monotonic) -> None:
        self.max_failures, self.seconds, self.clock = max_failures, seconds, clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def locked_for(self, name: str) -> float:
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if self.clock() - t < self.seconds]
            self._failures[name] = recent
            if len(recent) >= self.max_failures:
                return self.seconds - (self.clock() - recent[-self.max_failures])
            return 0.0

    def failed(self, name: str) -> None:
        with self._lock:
            self._failures.setdefault(name, []).append(self.clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def _write(path: Path, users: UsersFile) -> None:
    def value(v) -> str:
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["[auth]", *[f"{k} = {value(v)}" for k, v in users.auth.model_dump().items()], ""]
    for name, entry in users.users.items():
        lines.append(f"[users.{value(name)}]")
        lines += [f"{k} = {value(v)}" for k, v in entry.model_dump().items() if v is not None]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _ask_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        raise SystemExit("The two passwords differ; nothing was changed.")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.users", description="Manage the dashboard's users file.")
    parser.add_argument("--file", type=Path, default=USERS_FILE, help=f"users file (default {USERS_FILE})")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a user (or replace one) and set their password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["executive", "lead", "analyst", "admin"])
    add.add_argument("--regions", nargs="*", help="regions the user is limited to (leads, analysts)")
    add.add_argument("--service-centers", nargs="*", help="service centres a lead is limited to")
    add.add_argument("--display-name")
    add.add_argument("--login", help="identity-provider claim value for oidc mode (e.g. an email address)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset = sub.add_parser("reset-password", help="set a new password for an existing user")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    sub.add_parser("list", help="list users and roles")
    args = parser.parse_args(argv)

    users = read_users(args.file) if args.file.exists() else UsersFile()
    entries = dict(users.users)
    if args.command == "list":
        for name, entry in entries.items():
            limits = ", ".join([*(entry.regions or ()), *(entry.service_centers or ())]) or "all regions"
            print(f"{name:<20} {entry.role:<10} {limits}")
        return 0
    if args.command == "reset-password" and args.name not in entries:
        raise SystemExit(f"{args.file}: no user named '{args.name}'")
    password = _ask_password(args.password_stdin)
    if len(password) < 10:
        raise SystemExit("Use a password of at least 10 characters; nothing was changed.")
    if args.command == "add":
        try:
            entries[args.name] = UserEntry(role=args.role, regions=tuple(args.regions) if args.regions else None,
                                           service_centers=tuple(args.service_centers) if args.service_centers else None,
                                           display_name=args.display_name, login=args.login,
                                           password_hash=hash_password(password))
        except ValidationError as exc:
            raise SystemExit(f"users.{args.name}: {exc.errors()[0]['msg']}") from None
    else:
        entries[args.name] = entries[args.name].model_copy(update={"password_hash": hash_password(password)})
    _write(args.file, UsersFile(auth=users.auth, users=entries))
    print(f"{args.file}: user '{args.name}' saved.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
