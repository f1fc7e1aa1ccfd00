"""Many users at once, on loopback only: `python -m bench --load-test` starts `streamlit run app.py` on free ports of
127.0.0.1 against a warehouse, then opens N sessions at once, each opening the scorecard and two other pages in turn
over Streamlit's own websocket protocol (what a browser tab sends: a rerun request per page, answered by the page's
elements and a "script finished" message). It reports page times (p50, p95, max), errors and the server's CPU
seconds per page once every result is cached.

A page counts as an error when the server sends an exception element, reports anything but a finished run, or does
not finish within the timeout. Several server processes take the sessions in turn, as nginx with `ip_hash` would
spread them (deploy/nginx-multiprocess.conf).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("scorecard", "response_times", "complaints")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(db: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--logger.level", "error"],
        cwd=ROOT, env=dict(os.environ, SCORECARD_WAREHOUSE=str(db), SCORECARD_LANGUAGE="en"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(port, server, "streamlit")
    return server


def wait_healthy(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.1)


NGINX_CONF = ROOT / "deploy" / "nginx-multiprocess.conf"


@contextmanager
def nginx_in_front(ports: list[int]):
    """deploy/nginx-multiprocess.conf, with its upstream servers and listening port changed to these loopback
    ports, run by the machine's nginx in the foreground; yields the port it listens on."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    front = free_port()
    upstream = "".join(f"    server 127.0.0.1:{port};\n" for port in ports)
    conf = re.sub(r"(?m)^    server 127\.0\.0\.1:\d+;\n(?:    server 127\.0\.0\.1:\d+;\n)*", upstream,
                  NGINX_CONF.read_text(encoding="utf-8"))
    conf = re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{front};", conf)
    with tempfile.TemporaryDirectory(prefix="scorecard-nginx-") as folder:
        (Path(folder) / "scorecard.conf").write_text(conf, encoding="utf-8")
        temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                         "scgi"))
        (Path(folder) / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
            f"events {{ worker_connections 4096; }}\n"
            f"http {{ access_log off; {temp} include {folder}/scorecard.conf; }}\n", encoding="utf-8")
        proxy = subprocess.Popen([nginx, "-p", folder, "-c", f"{folder}/nginx.conf"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            wait_healthy(front, proxy, "nginx")
            yield front
        finally:
            proxy.terminate()
            proxy.wait(timeout=20)


class Session:
    """One browser tab's conversation with the server: open a page, wait until its script has finished."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.ws: ClientConnection  # opened by __aenter__
        self.page_hashes: dict[str, str] = {}

    async def __aenter__(self) -> Session:
        from websockets.asyncio.client import connect
        from websockets.typing import Subprotocol

        self.ws = await connect(f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=[Subprotocol("streamlit")],
                                max_size=None, compression=None, open_timeout=self.timeout)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def open(self, page: str) -> dict:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = ""
        if page in self.page_hashes:  # a click in the navigation: the page's hash, as the browser sends it
            msg.rerun_script.page_script_hash = self.page_hashes[page]
        else:  # a fresh tab on the page's URL
            msg.rerun_script.page_name = "" if page == PAGES[0] else page
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        error, elements, title = None, 0, None
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    forward = ForwardMsg()
                    forward.ParseFromString(await self.ws.recv())
                    kind = forward.WhichOneof("type")
                    if kind == "navigation":
                        self.page_hashes = {p.url_pathname or PAGES[0]: p.page_script_hash
                                            for p in forward.navigation.app_pages}
                    elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                        element = forward.delta.new_element
                        elements += 1
                        if element.WhichOneof("type") == "exception":
                            error = error or f"exception: {element.exception.message[:200]}"
                        elif element.WhichOneof("type") == "heading" and element.heading.tag == "h1":
                            title = element.heading.body
                    elif kind == "page_not_found":
                        error = error or "page not found"
                    elif kind == "script_finished":
                        if forward.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                            error = error or f"script finished with status {forward.script_finished}"
                        break
        except TimeoutError:
            error = f"not finished within {self.timeout:.0f} s"
        except Exception as exc:  # a dropped connection is an error of this page, not of the test
            error = f"{type(exc).__name__}: {exc}"
        return {"page": page, "seconds": time.perf_counter() - started, "error": error, "elements": elements,
                "title": title}


async def one_session(port: int, pages: tuple[str, ...], timeout: float) -> list[dict]:
    try:
        async with Session(port, timeout) as session:
            return [await session.open(page) for page in pages]
    except Exception as exc:
        return [{"page": page, "seconds": float("nan"), "error": f"connect: {type(exc).__name__}: {exc}"}
                for page in pages]


async def sessions_at_once(ports: list[int], sessions: int, pages: tuple[str, ...], timeout: float) -> list[dict]:
    runs = await asyncio.gather(*[one_session(ports[i % len(ports)], pages, timeout) for i in range(sessions)])
    return [page for run in runs for page in run]


def summary(opened: list[dict]) -> dict:
    times = [p["seconds"] for p in opened if p["error"] is None]
    return {"opened": len(opened), "errors": sum(p["error"] is not None for p in opened),
            "p50": statistics.median(times) if times else None,
            "p95": float(np.percentile(times, 95)) if times else None, "max": max(times) if times else None}


def load_test(db: Path, sessions: int = 20, processes: int = 1, pages: tuple[str, ...] = PAGES,
              timeout: float = 120.0, cpu_repeats: int = 5, nginx: bool = False) -> dict:
    """Start `processes` servers, warm them (one session opens every page: every result cached), measure the server
    CPU seconds of a cached page (one session at a time, `cpu_repeats` rounds), then open `sessions` sessions at once:
    spread over the processes in turn, or through nginx with deploy/nginx-multiprocess.conf."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        customers = con.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    ports = [free_port() for _ in range(processes)]
    servers = [start_server(db, port) for port in ports]
    try:
        with nginx_in_front(ports) if nginx else _no_proxy() as front:
            return {"customers": customers, **_measure(db, servers, ports, [front] if front else ports, sessions,
                                                       pages, timeout, cpu_repeats, nginx)}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def _no_proxy():
    yield None


def _measure(db: Path, servers: list[subprocess.Popen], ports: list[int], entry: list[int], sessions: int,
             pages: tuple[str, ...], timeout: float, cpu_repeats: int, nginx: bool) -> dict:
    warm = [p for port in ports for p in asyncio.run(sessions_at_once([port], 1, pages, timeout))]
    cpu = {}
    for page in pages:
        before = cpu_seconds(servers[0].pid)
        for _ in range(cpu_repeats):
            asyncio.run(sessions_at_once(ports[:1], 1, (page,), timeout))
        cpu[page] = (cpu_seconds(servers[0].pid) - before) / cpu_repeats
    cpu_before = [cpu_seconds(s.pid) for s in servers]
    started = time.perf_counter()
    opened = asyncio.run(sessions_at_once(entry, sessions, pages, timeout))
    wall = time.perf_counter() - started
    cpu_by_process = [cpu_seconds(s.pid) - before for s, before in zip(servers, cpu_before)]
    rss = max(rss_mib(s.pid) for s in servers)
    errors = sorted({p["error"] for p in opened + warm if p["error"]})
    return {"warehouse": db.name, "sessions": sessions, "processes": len(servers), "nginx": nginx, "pages": list(pages),
            "first_open": {p["page"]: p["seconds"] for p in warm[:len(pages)]},
            "cpu_seconds_per_cached_page": cpu, **summary(opened),
            "by_page": {page: summary([p for p in opened if p["page"] == page]) for page in pages},
            "wall_seconds": wall, "server_cpu_seconds": sum(cpu_by_process),
            "server_cpu_seconds_by_process": cpu_by_process, "server_rss_mib": rss, "error_samples": errors[:5],
            "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
