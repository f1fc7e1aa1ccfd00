"""Shared fixtures: a hand-sized warehouse whose every metric can be computed on paper, and a small demo warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import metrics
from ingest import load
from ingest.demo import generate

DEMO_END_MONTH = dt.date(2026, 10, 1)

# Five customers in two regions. Window used by the tests: calendar year 2024.
HAND_CUSTOMERS = """customer_id,customer_name,region,service_center,industry,area,voltage_kv,contract_capacity_kva,opened_on,closed_on
C1,Steel One,A,A1,steel,urban,110,50000,2020-01-01,
C2,Works Two,A,A1,manufacturing,rural,10,2000,2020-01-01,2024-06-15
C3,Mill Three,B,B1,steel,remote,0.4,400,2024-03-01,
C4,Plant Four,B,B1,manufacturing,urban,10,800,2020-01-01,2024-02-10
C5,Idle Five,B,B2,manufacturing,urban,10,800,2020-01-01,
"""
HAND_BILLING = """customer_id,period,consumption_kwh,amount_billed,amount_paid
C1,2023-01,2000,1000,1000
C2,2023-01,800,400,400
C4,2023-01,200,100,100
C1,2024-01,1200,600,600
C1,2024-02,1200,600,300
C2,2024-01,400,200,200
C3,2024-03,300,150,150
C4,2024-01,100,50,0
"""
HAND_TICKETS = """ticket_id,customer_id,channel,ticket_type,category,created_at,first_response_at,arrived_at,resolved_at,first_contact_resolution,reopened,substantiated,satisfaction
T1,C1,hotline,repair,outage,2024-03-01 10:00,2024-03-01 10:15,2024-03-01 10:40,2024-03-01 12:00,Y,N,,5
T2,C2,hotline,repair,outage,2024-03-02 08:00,2024-03-02 08:30,2024-03-02 09:40,2024-03-02 11:00,N,N,,3
T3,C3,online,complaint,service attitude,2024-04-01 09:00,2024-04-02 10:00,,2024-04-03 09:00,N,Y,Y,2
T4,C1,hotline,complaint,billing error,2024-05-01 09:00,2024-05-01 11:00,,2024-05-02 09:00,Y,N,N,4
T5,C1,online,inquiry,,2024-12-31 20:00,,,,,N,,
T6,C5,counter,billing,,2024-12-01 09:00,,,,,N,,
T7,C3,account_manager,connection,,2024-09-27 10:00,,,2024-10-10 17:00,,N,,
T8,C3,account_manager,connection,,2024-10-08 09:00,,,2024-10-15 10:00,,N,,
T9,C4,online,praise,,2024-01-15 09:00,,,2024-01-15 10:00,,N,,
T10,C1,hotline,inquiry,,2023-12-20 09:00,,,,,N,,
"""
HAND_SURVEYS = """survey_id,customer_id,surveyed_on,method,overall,timeliness,reliability,communication,convenience,nps
S1,C1,2024-02-01,phone,5,5,4,5,4,10
S2,C2,2024-03-01,visit,3,2,3,4,3,6
S3,C3,2024-07-01,questionnaire,4,4,4,3,5,8
S4,C1,2023-06-01,phone,1,1,1,1,1,0
"""
HAND_VISITS = """visit_id,customer_id,visited_on,visit_type,staff_id
V1,C1,2024-05-01,routine,E1
V2,C2,2024-03-01,revisit,E1
"""
HAND_TRAINING = """staff_id,region,trained_on,hours
E1,A,2024-02-01,8
E1,A,2024-06-01,4
E2,B,2024-03-01,6
E3,A,2023-05-01,10
"""
HAND_EVENTS = """customer_id,event_date,event,capacity_change_kva,reason
C2,2024-06-15,switch_out,-2000,direct purchase
C4,2024-02-10,close,-800,relocated
"""


@pytest.fixture(scope="session")
def hand_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hand")
    for name, text in (("customers.csv", HAND_CUSTOMERS), ("billing.csv", HAND_BILLING),
                       ("tickets.csv", HAND_TICKETS), ("surveys.csv", HAND_SURVEYS), ("visits.csv", HAND_VISITS),
                       ("staff_training.csv", HAND_TRAINING), ("account_events.csv", HAND_EVENTS)):
        (folder / name).write_text(text, encoding="utf-8")
    db = folder / "hand.duckdb"
    report = load([folder], db)
    assert all(f.rejected == 0 for f in report.files), report.to_json()
    return db


@pytest.fixture(scope="session")
def hand(hand_db):
    con = metrics.connect(hand_db)
    yield con
    con.close()


@pytest.fixture
def year2024():
    return metrics.Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    generate(folder / "exports", customers=800, seed=11, end_month=DEMO_END_MONTH)
    db = folder / "demo.duckdb"
    load([folder / "exports"], db)
    return db


@pytest.fixture(scope="session")
def demo(demo_db):
    con = metrics.connect(demo_db)
    yield con
    con.close()


# ----- the application store on SQLite and PostgreSQL (branch store) -----
POSTGRES_URL_VARIABLE = "SCORECARD_TEST_POSTGRES_URL"


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A PostgreSQL server URL (without database): SCORECARD_TEST_POSTGRES_URL when set (.ci/run sets it), else a
    throwaway server started here from Debian's postgresql binaries. Neither: the test fails saying what to install,
    never skips."""
    import os
    import shutil
    import socket
    import subprocess

    given = os.environ.get(POSTGRES_URL_VARIABLE)
    if given:
        yield given
        return
    binaries = _postgres_bin()
    if binaries is None:
        pytest.fail(f"No PostgreSQL for the store tests: set {POSTGRES_URL_VARIABLE} or install Debian's postgresql "
                    "package (`apt-get install postgresql`; .ci/run does)")
    import tempfile

    # not under pytest's own temporary folder: that one is private to root, and the server runs as postgres
    folder = Path(tempfile.mkdtemp(prefix="scorecard_pg_"))
    data, sockets = folder / "data", folder / "sock"
    sockets.mkdir()
    as_postgres = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_postgres, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--no-locale"], check=True, capture_output=True)
    subprocess.run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                    "-o", f"-k {sockets} -p {port} -c listen_addresses='' -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sockets}&port={port}"
    finally:
        subprocess.run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


_databases = iter(range(1, 1_000_000))


def _fresh_postgres_database(server_url: str) -> str:
    import sqlalchemy as sa

    url = sa.make_url(server_url)
    name = f"scorecard_test_{next(_databases)}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A new, empty store database: a SQLite file, and a database on PostgreSQL (the same tests on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return _fresh_postgres_database(request.getfixturevalue("postgres_server"))


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A test export file: `text` in `encoding` at folder/name (the folder made)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def staged_files(monkeypatch) -> list[str]:
    """The files a load stages (ingest.readers.stage_file as ingest.load calls it), in order: a refusal before the
    work leaves it empty."""
    import importlib

    load_module = importlib.import_module("ingest.load")  # `ingest.load` the attribute is the function
    calls: list[str] = []
    stage = load_module.stage_file

    def recording(con, path, *args, **kwargs):
        calls.append(path.name)
        return stage(con, path, *args, **kwargs)

    monkeypatch.setattr(load_module, "stage_file", recording)
    return calls
