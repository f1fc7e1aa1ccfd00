"""Users, roles and what each may see, and whether this deployment signs people in (no Streamlit here), plus the
command line to manage the users file.

    python -m dashboard.users add li_na --role lead --regions 台州 --file users.toml   # asks for a password
    python -m dashboard.users add wang_fang --role account_manager --account-managers 王芳 --file users.toml
    python -m dashboard.users reset-password li_na --file users.toml
    python -m dashboard.users list --file users.toml
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import os
import secrets
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dashboard.lockout import MAX_NAME_CHARS
from dashboard.registry import SLUGS
from metrics.settings import read_toml

ROOT = Path(__file__).resolve().parent.parent
USERS_FILE = Path(os.environ.get("SCORECARD_USERS", ROOT / "users.toml"))
EXAMPLE_FILE = ROOT / "users.example.toml"  # the template to copy; the app never reads it (tests keep it valid)
# Beside the users file: written while sign-in is on, so that no later state of that file opens the app.
MARKER_NAME = ".auth-mode"
LOCKOUT_NAME = ".signin-failures.sqlite"
MAX_PASSWORD_CHARS = 1024

Role = Literal["executive", "lead", "analyst", "admin", "account_manager"]
ALL_PAGES = SLUGS
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "executive": ALL_PAGES,
    "lead": tuple(p for p in ALL_PAGES if p != "data"),
    "analyst": tuple(p for p in ALL_PAGES if p != "data"),
    "admin": ALL_PAGES,
    # Their own accounts only: the portfolio first (where they land), then the analysis pages over their accounts.
    # No scorecard (targets are set for units, not for one manager's accounts) and no Data page.
    "account_manager": ("account_managers", "account", "tiers", "response_times", "complaints", "retention",
                        "satisfaction", "explore"),
}
# The page each role lands on after signing in (the scorecard when not named here).
LANDING_PAGES: dict[str, str] = {"account_manager": "account_managers"}
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
    account_managers: tuple[str, ...] | None = Field(
        None, description="an account_manager user's name(s) as customers.account_manager spells them")
    login: str | None = Field(None, description="the identity provider's claim value (oidc mode)")
    password_hash: str | None = None

    @model_validator(mode="after")
    def _leads_are_limited(self) -> UserEntry:
        if self.role == "lead" and not (self.regions or self.service_centers):
            raise ValueError("a lead must list regions or service_centers")
        if self.role in ("executive", "admin") and (self.regions or self.service_centers):
            raise ValueError(f"an {self.role} sees every region; remove regions/service_centers or change the role")
        if self.role == "account_manager":
            names = self.account_managers or ()
            if not names or any(not n or n != n.strip() for n in names):
                raise ValueError("an account_manager must list account_managers: their name(s) as the customers "
                                 "table's account_manager column spells them")
        elif self.account_managers is not None:
            raise ValueError(f"account_managers limits only an account_manager user, not a {self.role}; remove it "
                             "or change the role")
        return self


class UsersFile(Strict):
    auth: AuthSettings = AuthSettings()
    users: dict[str, UserEntry] = {}

    @field_validator("users")
    @classmethod
    def _names_fit(cls, users: dict[str, UserEntry]) -> dict[str, UserEntry]:
        for name in users:
            if not name or name != name.strip() or len(name) > MAX_NAME_CHARS:
                raise ValueError(f"user name '{name[:MAX_NAME_CHARS]}' must have 1 to {MAX_NAME_CHARS} characters "
                                 "and no spaces around it")
        return users

    @property
    def mode_is_set(self) -> bool:
        """True when the file says `mode` itself (only an explicit `mode = "none"` turns sign-in off)."""
        return "auth" in self.model_fields_set and "mode" in self.auth.model_fields_set


@dataclass(frozen=True)
class Identity:
    """The signed-in person and what they may do; the single source for every permission check."""

    username: str
    display_name: str
    role: str
    allowed_regions: tuple[str, ...] | None
    allowed_service_centers: tuple[str, ...] | None
    allowed_account_managers: tuple[str, ...] | None = None

    @property
    def pages(self) -> tuple[str, ...]:
        return ROLE_PAGES[self.role]

    @property
    def can_download_rows(self) -> bool:
        """Explore's table rows: analysts and admins, and account managers (their own accounts' rows only)."""
        return self.role in ("analyst", "admin", "account_manager")

    @property
    def can_import(self) -> bool:
        return self.role == "admin"


LOCAL_ADMIN = Identity("local", "Local user (sign-in off)", "admin", None, None)


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the file and the entry."""


def read_users(path: Path) -> UsersFile:
    return read_toml(path, UsersFile, UsersFileError)


def unknown_places(users: UsersFile, regions: set[str], centers_by_region: dict[str, str],
                   managers: set[str] | None = None) -> dict[str, list[str]]:
    """Per user name, the regions, service centres and account managers (when `managers`, the warehouse's, is given)
    the user is limited to that the warehouse does not have."""
    unknown = {}
    for name, entry in users.users.items():
        missing = [r for r in entry.regions or () if r not in regions]
        missing += [c for c in entry.service_centers or () if c not in centers_by_region]
        missing += [m for m in entry.account_managers or () if managers is not None and m not in managers]
        if missing:
            unknown[name] = missing
    return unknown


def identity_for(name: str, entry: UserEntry, centers_by_region: dict[str, str]) -> Identity:
    regions = entry.regions
    if entry.service_centers:
        # a centre-level lead is limited to those centres, and to their regions for region-only data (training)
        regions = tuple(sorted({*(regions or ()), *(centers_by_region[c] for c in entry.service_centers)}))
    return Identity(name, entry.display_name or name, entry.role, regions, entry.service_centers or None,
                    tuple(sorted(set(entry.account_managers))) if entry.account_managers else None)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_stand_in: list[str] = []
_stand_in_lock = threading.Lock()


def _stand_in_hash() -> str:
    """A hash of a random password nobody knows, made with the same parameters as real ones."""
    with _stand_in_lock:
        if not _stand_in:
            _stand_in.append(_hasher.hash(secrets.token_urlsafe(32)))
        return _stand_in[0]


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the hash. Always exactly one argon2 verification: a missing or unusable hash
    (an unknown user) is checked against a stand-in, so the time taken does not tell which user names exist."""
    password = password[:MAX_PASSWORD_CHARS]
    try:
        return _hasher.verify(password_hash or _stand_in_hash(), password) and bool(password_hash)
    except InvalidHashError:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_stand_in_hash(), password)
        return False
    except VerificationError:
        return False


def entry_proof(entry: UserEntry) -> str:
    """Changes when the entry's password is reset, so sessions signed in with the old one end."""
    return hashlib.sha256((entry.password_hash or "").encode()).hexdigest()


@dataclass(frozen=True)
class SignInSetup:
    """What the users file and the deployment's marker say about sign-in. `closed` (for visitors, naming no user
    and no full path) and `detail` (for the server log) say why nobody may come in."""

    mode: Literal["none", "password", "oidc"]
    users: UsersFile = field(default_factory=UsersFile)
    closed: str | None = None
    detail: str | None = None


def _closed(page: str, detail: str) -> SignInSetup:
    return SignInSetup("password", closed=page, detail=detail)


def read_setup(path: Path) -> SignInSetup:
    """Sign-in as the users file says, failing closed: once sign-in has been on (the marker beside the file), a
    missing, empty or broken users file, or one that does not say `mode`, keeps the app closed; only a valid file
    with `mode = "none"` turns sign-in off. A broken file keeps the app closed whether or not sign-in was on."""
    marker = path.parent / MARKER_NAME
    try:
        was_on = marker.read_text(encoding="utf-8").strip() or "password"
    except FileNotFoundError:
        was_on = None
    except OSError as exc:
        return _closed(f"{MARKER_NAME} beside {path.name} cannot be read.", f"{marker}: {exc}")
    remedy = (f'Restore {path.name}, or to turn sign-in off on purpose write a valid {path.name} with [auth] '
              f'mode = "none".')
    if not path.exists():
        if was_on:
            return _closed(f"Sign-in has been on for this deployment, but {path.name} is missing. {remedy}",
                           f"{path} is missing; {marker} says sign-in was {was_on}.")
        return SignInSetup("none")  # never configured: the demo. The example file is a template, never read here.
    try:
        users = read_users(path)
    except UsersFileError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        shown = (reason if reason.startswith(("not valid TOML", "file not found"))
                 else "an entry is not valid (see the server log)")
        return _closed(f"{path.name} cannot be used: {shown}. Fix it; until then nobody can sign in.", str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        return _closed(f"{path.name} cannot be read. Fix it; until then nobody can sign in.", f"{path}: {exc}")
    if not users.mode_is_set and was_on:
        return _closed(f'Sign-in has been on for this deployment, but {path.name} does not set [auth] mode. Set mode = '
                       f'"password" or "oidc"; mode = "none" turns sign-in off.',
                       f"{path} has no [auth] mode; {marker} says sign-in was {was_on}.")
    mode = users.auth.mode
    try:
        if mode == "none" and was_on:
            marker.unlink()
        elif mode != "none" and was_on != mode:
            marker.write_text(mode + "\n", encoding="utf-8")
    except OSError as exc:
        if mode != "none":
            return _closed(f"The scorecard cannot record that sign-in is on ({MARKER_NAME} beside {path.name}). "
                           f"Make that folder writable for the scorecard.", f"{marker}: {exc}")
    return SignInSetup(mode, users)


def _write(path: Path, users: UsersFile) -> None:
    def value(v) -> str:
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    # only what the file said (or the command set): writing a default would turn an unset mode into "none"
    lines = ["[auth]", *[f"{k} = {value(v)}" for k, v in users.auth.model_dump(exclude_unset=True).items()], ""]
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
    add.add_argument("--role", required=True, choices=["executive", "lead", "analyst", "admin", "account_manager"])
    add.add_argument("--regions", nargs="*", help="regions the user is limited to (leads, analysts)")
    add.add_argument("--service-centers", nargs="*", help="service centres a lead is limited to")
    add.add_argument("--account-managers", nargs="*",
                     help="an account_manager's name(s) as the customers table spells them (their accounts only)")
    add.add_argument("--display-name")
    add.add_argument("--login", help="identity-provider claim value for oidc mode (e.g. an email address)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset = sub.add_parser("reset-password", help="set a new password for an existing user")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    sub.add_parser("list", help="list users and roles")
    args = parser.parse_args(argv)

    try:
        # a new file asks for passwords: users added with one are meant to sign in with it
        users = read_users(args.file) if args.file.exists() else UsersFile(auth=AuthSettings(mode="password"))
    except UsersFileError as exc:
        raise SystemExit(f"{exc}\nNothing was changed.") from None
    entries = dict(users.users)
    if args.command == "list":
        for name, entry in entries.items():
            limits = ", ".join([*(entry.regions or ()), *(entry.service_centers or ()),
                                *(entry.account_managers or ())]) or "all regions"
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
                                           service_centers=(tuple(args.service_centers)
                                                            if args.service_centers else None),
                                           account_managers=(tuple(args.account_managers)
                                                             if args.account_managers else None),
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
