"""The deployment as an operator runs it: a real Streamlit server behind nginx with deploy/nginx.conf (TLS, security
headers, websocket proxying, /_stcore/metrics refused), and the sign-in lockout attacked with raw websocket
messages (a `clear_cache` BackMsg after every guess) the way a hostile client would."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.sync.client import connect

from dashboard.users import hash_password

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
USERS = """[auth]
mode = "password"
max_failures = 3
lockout_seconds = 600

[users.li_na]
role = "lead"
regions = ["台州"]
password_hash = "{hash}"

[users.wang_lei]
role = "analyst"
password_hash = "{hash}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, context: ssl.SSLContext | None = None, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2, context=context)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                pytest.fail(f"{url} did not answer within {seconds:.0f} s")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def streamlit_server(demo_db, tmp_path_factory):
    """`streamlit run app.py` with the repository's .streamlit/config.toml, in password mode."""
    folder = tmp_path_factory.mktemp("deploy")
    users = folder / "users.toml"
    users.write_text(USERS.format(hash=hash_password(PASSWORD)), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "SCORECARD_WAREHOUSE": str(demo_db), "SCORECARD_USERS": str(users)}
    log = open(folder / "streamlit.log", "w")  # noqa: SIM115 - the server writes to it until the fixture ends
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health")
        yield {"port": port, "folder": folder, "users": users}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def proxy(streamlit_server, tmp_path_factory):
    """nginx with deploy/nginx.conf as committed; only ports, the upstream port and certificate paths replaced."""
    folder = tmp_path_factory.mktemp("nginx")
    for sub in ("logs", "temp"):
        (folder / sub).mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True)
    https_port, http_port = free_port(), free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    replacements = [
        (r"listen \[::\]:\d+[^;]*;\n", ""),  # the test machine may have no IPv6
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"server 127\.0\.0\.1:8501;", f"server 127.0.0.1:{streamlit_server['port']};"),
        (r"ssl_certificate /etc/ssl/certs/scorecard\.pem;", f"ssl_certificate {folder / 'cert.pem'};"),
        (r"ssl_certificate_key /etc/ssl/private/scorecard\.key;", f"ssl_certificate_key {folder / 'key.pem'};"),
    ]
    for pattern, replacement in replacements:
        site, found = re.subn(pattern, replacement, site)
        assert found, f"deploy/nginx.conf no longer has {pattern}"
    (folder / "scorecard.conf").write_text(site, encoding="utf-8")
    temp = folder / "temp"
    (folder / "nginx.conf").write_text(f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'logs' / 'error.log'};
events {{ worker_connections 256; }}
http {{
    access_log {folder / 'logs' / 'access.log'};
    client_body_temp_path {temp / 'body'};
    proxy_temp_path {temp / 'proxy'};
    fastcgi_temp_path {temp / 'fastcgi'};
    uwsgi_temp_path {temp / 'uwsgi'};
    scgi_temp_path {temp / 'scgi'};
    include {folder / 'scorecard.conf'};
}}
""", encoding="utf-8")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    command = [nginx, "-p", str(folder), "-e", str(folder / "logs" / "error.log"), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen([*command, "-g", "daemon off;"])
    context = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    context.check_hostname = False  # the certificate is for 127.0.0.1 by CN only
    try:
        wait_for(f"https://127.0.0.1:{https_port}/_stcore/health", context)
        yield {"https": f"https://127.0.0.1:{https_port}", "http": f"http://127.0.0.1:{http_port}",
               "wss": f"wss://127.0.0.1:{https_port}/_stcore/stream", "context": context}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get(url: str, context: ssl.SSLContext | None = None):
    """Status and headers, also for refusals and redirects (not followed)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- the reverse proxy ----------------------------------------------------------------------------------------

def test_proxy_adds_security_headers_over_tls(proxy):
    status, headers, body = get(proxy["https"] + "/", proxy["context"])
    assert status == 200 and b"<html" in body.lower()
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "nginx/" not in (headers["Server"] or "")


def test_proxy_refuses_the_metrics_endpoint_that_streamlit_serves_to_anyone(streamlit_server, proxy):
    direct = get(f"http://127.0.0.1:{streamlit_server['port']}/_stcore/metrics")
    assert direct[0] == 200 and b"session" in direct[2]  # why the proxy must close it
    status, headers, body = get(proxy["https"] + "/_stcore/metrics", proxy["context"])
    assert status == 404 and b"session" not in body
    assert headers["X-Frame-Options"] == "DENY"  # refusals carry the headers too
    assert get(proxy["https"] + "/_stcore/agent/interact", proxy["context"])[0] == 404


def test_plain_http_is_sent_to_https(proxy):
    status, headers, _ = get(proxy["http"] + "/explore?region=x")
    assert status == 301 and headers["Location"].startswith("https://") and headers["Location"].endswith("/explore?region=x")


def test_websocket_goes_through_the_proxy_and_foreign_origins_are_refused(proxy):
    origin = proxy["https"]
    with connect(proxy["wss"], subprotocols=["streamlit"], origin=origin, ssl=proxy["context"], open_timeout=90) as ws:
        assert ws.subprotocol == "streamlit"
    # refused: a 403 status, or (seen once in CI, under load) the connection closed before any status line;
    # either way no websocket opens, and the same proxy has just opened one for the app's own origin
    with pytest.raises((InvalidStatus, InvalidMessage)):
        connect(proxy["wss"], subprotocols=["streamlit"], origin="https://evil.example.com", ssl=proxy["context"],
                open_timeout=90)


# --- the lockout against a hostile websocket client -----------------------------------------------------------

def raw_session(proxy):
    """A websocket session through the proxy. A handshake the proxy drops before answering (seen once in CI, right
    after a browser test on the same server) is tried once more; a refused one (an HTTP status) is not."""
    def attempt():
        return connect(proxy["wss"], subprotocols=["streamlit"], origin=proxy["https"], ssl=proxy["context"],
                       open_timeout=90, max_size=None)
    try:
        return attempt()
    except InvalidMessage:
        time.sleep(2)
        return attempt()


class RawSession:
    """A browser session reduced to its websocket messages."""

    def __init__(self, ws) -> None:
        self.ws = ws

    def run(self, widgets: list[WidgetState] = ()) -> list:
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = ""
        message.rerun_script.widget_states.widgets.extend(widgets)
        self.ws.send(message.SerializeToString())
        elements = []
        while True:
            forward = ForwardMsg.FromString(self.ws.recv(timeout=120))
            if forward.WhichOneof("type") == "delta" and forward.delta.WhichOneof("type") == "new_element":
                elements.append(forward.delta.new_element)
            elif forward.WhichOneof("type") == "script_finished":
                return elements

    def sign_in(self, form: list, name: str, password: str) -> str:
        """The texts of the alerts the sign-in form answers with."""
        inputs = [e.text_input.id for e in form if e.WhichOneof("type") == "text_input"]
        submit = next(e.button.id for e in form if e.WhichOneof("type") == "button")
        widgets = [WidgetState(id=inputs[0], string_value=name), WidgetState(id=inputs[1], string_value=password),
                   WidgetState(id=submit, trigger_value=True)]
        return " ".join(e.alert.body for e in self.run(widgets) if e.WhichOneof("type") == "alert")

    def clear_cache(self) -> None:
        message = BackMsg()
        message.clear_cache = True
        self.ws.send(message.SerializeToString())


def test_clear_cache_messages_do_not_reset_the_lockout(proxy):
    with raw_session(proxy) as ws:
        attacker = RawSession(ws)
        form = attacker.run()
        assert sum(e.WhichOneof("type") == "text_input" for e in form) == 2
        for guess in ("guess one", "guess two", "guess three"):
            assert "Unknown user name or wrong password." in attacker.sign_in(form, "li_na", guess)
            attacker.clear_cache()
            form = attacker.run()
        assert "Too many failed attempts" in attacker.sign_in(form, "li_na", PASSWORD)
    with raw_session(proxy) as ws:  # a new session (a new browser tab) is locked out as well
        fresh = RawSession(ws)
        assert "Too many failed attempts" in fresh.sign_in(fresh.run(), "li_na", PASSWORD)


# --- a person in a browser, through the proxy -----------------------------------------------------------------

def test_a_person_signs_in_through_the_proxy_and_is_signed_out_once_removed(streamlit_server, proxy):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(proxy["https"] + "/")
            page.get_by_role("textbox", name="User name").fill("wang_lei")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Key account service scorecard").wait_for(timeout=90_000)
            page.get_by_text("Signed in as").wait_for(timeout=60_000)
            users = streamlit_server["users"]
            users.write_text(users.read_text(encoding="utf-8").replace("[users.wang_lei]", "[users.someone_else]"),
                             encoding="utf-8")
            page.get_by_role("link", name="Tiers").click()  # the next interaction
            page.get_by_text("You were signed out: your account is no longer in the users file.").wait_for(timeout=60_000)
            assert page.get_by_role("textbox", name="Password").count() == 1 and page.get_by_text("Customer tiers").count() == 0
        finally:
            browser.close()


def test_emptying_the_users_file_of_a_running_server_closes_it(streamlit_server, proxy):
    streamlit_server["users"].write_text("", encoding="utf-8")
    with raw_session(proxy) as ws:
        shown = RawSession(ws).run()
    alerts = " ".join(e.alert.body for e in shown if e.WhichOneof("type") == "alert")
    assert "The scorecard is closed until its administrator fixes the sign-in set-up." in alerts
    assert not any(e.WhichOneof("type") in ("text_input", "metric") for e in shown)
