"""Loads that never hurt a session or each other: one load at a time per warehouse, sessions reading through loads,
what killed loads and uploads leave cleaned up, and disk full or a read-only disk told as what to do."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

import metrics
from dashboard import data
from ingest import LoadError, load
from ingest.__main__ import main
from ingest.lock import lock_path
from ingest.scratch import ScratchFolder, clean_leftovers
from tests.conftest import HAND_BILLING, HAND_CUSTOMERS, HAND_TICKETS

ROOT = Path(__file__).resolve().parents[1]
LOAD_MODULE = importlib.import_module("ingest.load")  # `ingest.load` the attribute is the function
YEAR_2024 = metrics.Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
EXTRA = "\n".join(f"X{n},Extra {n},B,B1,steel,urban,10,100,2024-01-01," for n in range(2))


def write_exports(folder: Path, extra_customers: str = "") -> Path:
    """The hand-sized exports (5 customers, all active in 2024), with extra customer lines if given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_text(HAND_CUSTOMERS + extra_customers, encoding="utf-8")
    (folder / "billing.csv").write_text(HAND_BILLING, encoding="utf-8")
    (folder / "tickets.csv").write_text(HAND_TICKETS, encoding="utf-8")
    return folder


def one_customer(folder: Path, customer_id: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_text(
        f"customer_id,customer_name,region,service_center,opened_on\n{customer_id},New,A,A1,2024-01-01\n", encoding="utf-8")
    return folder


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".loading-", ".upload-", ".reading-")))


@pytest.fixture
def warehouse(tmp_path) -> Path:
    db = tmp_path / "wh" / "warehouse.duckdb"
    load([write_exports(tmp_path / "base")], db)
    return db


def hold_load_lock(db: Path):
    fd = os.open(lock_path(db), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ingest", *args], cwd=ROOT, text=True, **kwargs)


def wait_for(predicate, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_two_loads_at_once_take_turns_and_both_keep_their_rows(warehouse, tmp_path):
    """Two appends started while a load holds the warehouse: both wait, saying so, then commit one after the other,
    each on top of the other's rows (without the lock the second's rename dropped the first's rows)."""
    holder = hold_load_lock(warehouse)
    logs = {name: tmp_path / f"{name}.log" for name in ("X6", "X7")}
    procs = {}
    for name, log in logs.items():
        with open(log, "w") as err:
            procs[name] = cli("load", str(one_customer(tmp_path / name, name)), "--db", str(warehouse),
                              "--mode", "append", stdout=subprocess.PIPE, stderr=err)
    wait_for(lambda: all("Another load of warehouse.duckdb is running" in log.read_text() for log in logs.values()),
             "both loads to report that they wait")
    os.close(holder)
    outputs = {name: proc.communicate(timeout=300)[0] for name, proc in procs.items()}
    assert {name: proc.returncode for name, proc in procs.items()} == {"X6": 0, "X7": 0}, \
        {name: log.read_text() for name, log in logs.items()}
    assert all("committed" in out for out in outputs.values())
    assert rows(warehouse, "SELECT load_id, mode FROM loads ORDER BY load_id") == [(1, "replace"), (2, "append"), (3, "append")]
    assert [r[0] for r in rows(warehouse, "SELECT customer_id FROM customers WHERE customer_id LIKE 'X%' ORDER BY 1")] \
        == ["X6", "X7"]


def test_a_load_that_may_not_wait_refuses_and_changes_nothing(warehouse, tmp_path):
    before = digest(warehouse)
    holder = hold_load_lock(warehouse)
    try:
        proc = cli("load", str(one_customer(tmp_path / "x6", "X6")), "--db", str(warehouse), "--mode", "append",
                   "--wait", "0", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=300)
    finally:
        os.close(holder)
    assert proc.returncode == 1
    assert "another load is still running" in err and "Nothing was loaded" in err and "Traceback" not in err
    assert "committed" not in out
    assert digest(warehouse) == before
    assert leftovers(warehouse.parent) == []


KILLABLE_LOAD = textwrap.dedent("""
    import importlib, sys, time
    from ingest.__main__ import main
    load_module = importlib.import_module("ingest.load")
    build = load_module.build_derived_model
    def build_then_stall(con):
        seconds = build(con)
        print("query model built", flush=True)
        time.sleep(600)
        return seconds
    load_module.build_derived_model = build_then_stall
    main(sys.argv[1:])
""")


def test_a_load_killed_mid_way_leaves_the_warehouse_as_it_was_and_the_next_load_cleans_up(warehouse, tmp_path):
    before = digest(warehouse)
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_LOAD, "load", str(write_exports(tmp_path / "more", EXTRA)),
                             "--db", str(warehouse), "--mode", "append"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout.readline().strip() == "query model built"  # the new warehouse is built, not yet swapped in
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    left = [name for name in leftovers(warehouse.parent) if not name.endswith(".lock")]
    # an append works in the warehouse file inside one transaction (issue 17): the killed one left its scratch folder
    # (spill space) and no copy of the warehouse, and the file is byte for byte as it was
    assert len(left) == 1 and not (warehouse.parent / left[0] / "warehouse.duckdb").exists()
    assert digest(warehouse) == before
    assert rows(warehouse, "SELECT count(*) FROM customers") == [(5,)]

    report = load([one_customer(tmp_path / "x6", "X6")], warehouse, mode="append", wait_seconds=0)
    assert report.load_id == 2  # the killed load never committed
    assert leftovers(warehouse.parent) == []
    assert rows(warehouse, "SELECT count(*) FROM customers") == [(6,)]


KILLABLE_UPLOAD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ingest.scratch import ScratchFolder
    folder = ScratchFolder(Path(sys.argv[1]), "upload")
    (folder.path / "tickets.csv").write_bytes(b"x" * 100_000)
    print("copied", flush=True)
    time.sleep(600)
""")


def test_what_a_killed_upload_left_is_removed_at_app_start_but_not_what_a_live_one_holds(tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    load([write_exports(tmp_path / "base")], db)
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_UPLOAD, str(tmp_path)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "copied"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    live = ScratchFolder(tmp_path, "upload")  # an upload still being copied in this process
    (tmp_path / ".loading-from-an-older-version").mkdir()  # no lock file: left by a version without locks
    assert len(leftovers(tmp_path)) == 5  # two folders with their lock files, and the old one
    monkeypatch.setattr(data, "WAREHOUSE", db)
    data.ensure_warehouse()
    # the app's own reading generation of the warehouse (a folder and its lock), held while the app runs, stays too
    own = [name for name in leftovers(tmp_path) if name.startswith(".reading-")]
    assert len(own) == 2
    assert leftovers(tmp_path) == sorted([live.path.name, live.path.name + ".lock", *own])
    live.remove()
    assert leftovers(tmp_path) == own


def test_clean_up_keeps_a_live_load_s_folder(warehouse):
    with ScratchFolder(warehouse.parent, "loading") as folder:
        (folder / "warehouse.duckdb").write_bytes(b"being built")
        assert clean_leftovers(warehouse.parent) == []
        assert (folder / "warehouse.duckdb").read_bytes() == b"being built"


@pytest.mark.parametrize("code, advice", [(errno.ENOSPC, "Free some space there"),
                                          (errno.EACCES, "Give the user running the load the right"),
                                          (errno.EROFS, "Remount that disk read-write")])
def test_disk_full_and_similar_say_what_to_do_and_leave_the_warehouse(warehouse, tmp_path, monkeypatch, capsys,
                                                                      code, advice):
    before = digest(warehouse)

    def copy_fails(source, target, **kwargs):  # append's first write: the copy of the warehouse
        Path(target).write_bytes(b"partial")
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(LOAD_MODULE.shutil, "copy2", copy_fails)
    # an append copies the warehouse while the app reads the file, else it works in place (issue 17)
    monkeypatch.setattr(LOAD_MODULE, "_open_in_place", lambda db_path: None)
    assert main(["load", str(one_customer(tmp_path / "x6", "X6")), "--db", str(warehouse), "--mode", "append"]) == 1
    err = capsys.readouterr().err
    assert f"{os.strerror(code).lower()}; the warehouse is as it was. {advice}" in err
    assert "Traceback" not in err
    assert digest(warehouse) == before
    assert leftovers(warehouse.parent) == []


@pytest.mark.parametrize("error", [
    duckdb.IOException('IO Error: Could not write file "x.tmp": No space left on device'),
    # What DuckDB 2.0 raised on a full 8 MB tmpfs, writing the new warehouse's checkpoint:
    duckdb.FatalException('FATAL Error: Failed to create checkpoint because of error: Could not write file '
                          '"/mnt/.loading-37wu22vg/warehouse.duckdb": No space left on device')])
def test_disk_full_inside_duckdb_is_told_the_same_way(warehouse, tmp_path, monkeypatch, error):
    before = digest(warehouse)

    def build_fails(con):
        raise error

    monkeypatch.setattr(LOAD_MODULE, "build_derived_model", build_fails)
    with pytest.raises(LoadError, match=rf"{warehouse.parent}: no space left on device; the warehouse is as it was\. "
                                        "Free some space"):
        load([write_exports(tmp_path / "again")], warehouse)
    assert digest(warehouse) == before
    assert leftovers(warehouse.parent) == []


def test_other_duckdb_io_errors_are_not_disguised(warehouse, tmp_path, monkeypatch):
    def build_fails(con):
        raise duckdb.IOException("IO Error: something else entirely")

    monkeypatch.setattr(LOAD_MODULE, "build_derived_model", build_fails)
    with pytest.raises(duckdb.IOException, match="something else entirely"):
        load([write_exports(tmp_path / "again")], warehouse)


# Sessions reading while loads commit.

def active_customers() -> float:
    return float(data.metric("active_customers", YEAR_2024)["value"].iloc[0])


def test_a_query_keeps_its_warehouse_while_a_load_swaps_in_another(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", warehouse)
    assert active_customers() == 5
    with data.reading() as old:
        load([write_exports(tmp_path / "more", EXTRA)], warehouse)
        assert active_customers() == 7  # new queries read the new file at once...
        assert old.con.execute("SELECT count(*) FROM customers").fetchall() == [(5,)]  # ...the running one its own
        assert len([n for n in leftovers(warehouse.parent) if not n.endswith(".lock")]) == 2
    with pytest.raises(duckdb.ConnectionException):
        old.con.execute("SELECT 1")  # closed once its last user was done
    assert len([n for n in leftovers(warehouse.parent) if not n.endswith(".lock")]) == 1


def test_where_no_link_can_be_made_a_swap_waits_for_the_running_query(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", warehouse)

    def no_links(source, target):
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr(data.os, "link", no_links)
    seen = []
    with data.reading() as old:
        assert old.by_path
        load([write_exports(tmp_path / "more", EXTRA)], warehouse)
        reader = threading.Thread(target=lambda: seen.append(active_customers()))
        reader.start()
        reader.join(timeout=1)
        assert reader.is_alive() and seen == []  # waits: the old connection is still in use
        assert old.con.execute("SELECT count(*) FROM customers").fetchall() == [(5,)]
    reader.join(timeout=120)
    assert seen == [7]


def test_sessions_run_through_repeated_loads_without_an_error(warehouse, tmp_path, monkeypatch):
    """Reader threads query through the app's data layer while loads commit one after another. Each answer must come
    from one warehouse: the load history and the row counts of one status() call belong to the same load."""
    monkeypatch.setattr(data, "WAREHOUSE", warehouse)
    small, large = write_exports(tmp_path / "small"), write_exports(tmp_path / "large", EXTRA)
    customers_by_parity = {1: 5, 0: 7}  # load 1 is small, then large, small, ...: odd loads have 5 customers
    errors, seen_loads, done = [], set(), threading.Event()

    def read(worker: int) -> None:
        n = 0
        while not done.is_set():
            n += 1
            try:
                status = data.status()
                load_id = int(status["loads"]["load_id"].max())
                counts = dict(zip(status["counts"]["table_name"], status["counts"]["row_count"]))
                assert counts["customers"] == customers_by_parity[load_id % 2], (load_id, counts)
                end = dt.date(2024, 1 + (worker * 7 + n) % 12, 28)  # a new window: a real query, not a cache hit
                value = data.metric("active_customers", YEAR_2024.model_copy(update={"end": end}))["value"].iloc[0]
                assert value in (4, 5, 6, 7), value
                data.rejects()
                seen_loads.add(load_id)
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(repr(exc))
                return

    readers = [threading.Thread(target=read, args=(w,)) for w in range(4)]
    for reader in readers:
        reader.start()
    for n in range(6):
        load([large if n % 2 == 0 else small], warehouse)
    done.set()
    for reader in readers:
        reader.join(timeout=120)
    assert errors == []
    assert len(seen_loads) >= 3, seen_loads  # the readers really ran through the swaps
    assert rows(warehouse, "SELECT max(load_id) FROM loads") == [(7,)]
    assert active_customers() == 5
    assert len([n for n in leftovers(warehouse.parent) if not n.endswith(".lock")]) == 1  # old generations closed
