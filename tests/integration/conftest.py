"""Fixtures for driving the built mailgate binary over 127.0.0.1.

Every process a test starts is stopped by the fixture that started it; every
wait is bounded. MAILGATE_BIN names the binary (scripts/test.sh sets it)."""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAILGATE_BIN", str(REPO / ".build/debug/mailgate"))


def free_ports(count):
    """`count` distinct free ports: the sockets stay bound until all are chosen, so the
    kernel cannot hand out the same port twice."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port():
    return free_ports(1)[0]


def wait_for_port(port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def run(*args, input=None, env=None, cwd=None, timeout=60):
    return subprocess.run([BIN, *args], input=input, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


class Mailgate:
    """A `mailgate serve` process with its own config in a temp dir."""

    def __init__(self, workdir, config_text, env=None):
        self.workdir = Path(workdir)
        self.config = self.workdir / "mailgate.toml"
        self.config.write_text(config_text)
        self.log = self.workdir / "serve.log"
        self.env = dict(os.environ, **(env or {}))
        self.proc = None

    def start(self, wait_ports=()):
        self._log_file = open(self.log, "w")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], cwd=self.workdir,
                                     stdout=self._log_file, stderr=subprocess.STDOUT, env=self.env)
        for port in wait_ports:
            wait_for_port(port)
        return self

    def signal(self, signo):
        self.proc.send_signal(signo)

    def wait_log(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if needle in text:
                return text
            time.sleep(0.05)
        raise TimeoutError(f"{needle!r} not in log:\n{self.log.read_text()}")

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log_file.close()
        return self.proc.returncode if self.proc else None


@pytest.fixture
def mailgate_factory(tmp_path):
    started = []

    def make(config_text, env=None):
        # Each further instance gets a directory of its own (config, log).
        workdir = tmp_path / f"node{len(started) + 1}" if started else tmp_path
        workdir.mkdir(exist_ok=True)
        instance = Mailgate(workdir, config_text, env)
        started.append(instance)
        return instance

    yield make
    for instance in started:
        instance.stop()


@lru_cache(maxsize=None)
def pki_dir():
    """A throwaway CA and server certificate (scripts/test-ca.sh), made once per test run."""
    directory = Path(tempfile.mkdtemp(prefix="mailgate-pki-"))
    atexit.register(shutil.rmtree, directory, True)
    subprocess.run(["sh", str(REPO / "scripts/test-ca.sh"), str(directory)], check=True, capture_output=True)
    return directory


def basic_config(ports, extra="", tls_dir=None):
    tls_dir = tls_dir or pki_dir()
    return f"""
[server]
hostname = "mail.example.test"
drain_timeout = "5s"

[tls]
certificate = "{tls_dir}/server.crt"
private_key = "{tls_dir}/server.key"

[submission]
listen = ["127.0.0.1:{ports[0]}"]
listen_tls = ["127.0.0.1:{ports[1]}"]

[imap]
listen = ["127.0.0.1:{ports[2]}"]
listen_tls = ["127.0.0.1:{ports[3]}"]

[[account]]
name = "sink"
address = "sink@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:2525"

[[user]]
name = "dev"
password_hash = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."
send_as = ["*@example.test"]
accounts = ["sink"]
{extra}
"""


PSQL = "/usr/lib/postgresql/15/bin/psql"


def psql(url, sql):
    """Runs SQL with psql and returns its rows as lists of strings (unaligned, tab-separated)."""
    result = subprocess.run([PSQL, url, "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr}")
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def psql_bytes(url, sql):
    """One bytea value, fetched base64-encoded so line breaks survive psql's row format."""
    import base64
    rows = psql(url, f"SELECT translate(encode(({sql}), 'base64'), E'\\n', '')")
    return base64.b64decode(rows[0][0]) if rows else None


@pytest.fixture
def database():
    """A fresh database on the suite's PostgreSQL, dropped afterwards. Not yet migrated."""
    base = os.environ.get("MAILGATE_TEST_DATABASE_URL")
    if not base:
        pytest.fail("MAILGATE_TEST_DATABASE_URL is not set: run the suite with `make test`")
    name = "t_" + os.urandom(6).hex()
    psql(base, f"CREATE DATABASE {name}")
    yield base.rsplit("/", 1)[0] + "/" + name
    psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def migrated_database(database):
    """A fresh database with every migration applied."""
    result = run("migrate", "--directory", str(REPO / "migrations"),
                 env=dict(os.environ, MAILGATE_DATABASE_URL=database))
    assert result.returncode == 0, result.stderr
    return database


def write_secret(path, text):
    """A secret file as mailgate wants it: written, then readable by its owner only."""
    path.write_text(text)
    path.chmod(0o600)
    return path


def wait_until(predicate, timeout=30.0, what="condition"):
    """Polls `predicate` until it returns something truthy (returned) or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


UPSTREAM_PASSWORD = "upstream-Secret-42"


def free_port_on(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(host, port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port}")


@pytest.fixture(scope="module")
def imap_pki():
    """The test CA (scripts/test-ca.sh) plus a leaf for 127.0.0.2, Dovecot's address."""
    directory = Path(tempfile.mkdtemp(prefix="mailgate-imap-pki-"))
    subprocess.run(["sh", str(REPO / "scripts/test-ca.sh"), str(directory)], check=True, capture_output=True)
    key, csr, ext, crt = (directory / n for n in ("upstream.key", "upstream.csr", "upstream.ext", "upstream.crt"))
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", "/CN=127.0.0.2", "-out", str(csr)],
                   check=True, capture_output=True)
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.2\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(directory / "ca.crt"),
                    "-CAkey", str(directory / "ca.key"), "-set_serial", "0x5eed", "-days", "30", "-sha256",
                    "-extfile", str(ext), "-out", str(crt)], check=True, capture_output=True)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


class Dovecot:
    """A private Dovecot on 127.0.0.2 (imap with STARTTLS and imaps, ssl=required) with passwd-file
    users (all with UPSTREAM_PASSWORD) and maildirs owned by nobody; `extra` is added to its config."""

    def __init__(self, pki, users=("sales@example.test", "support@example.test"), extra=""):
        names = users
        # Dovecot's auth and mail processes run unprivileged: the directory must be traversable.
        self.dir = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-"))
        self.dir.chmod(0o755)
        self.imap_port = free_port_on("127.0.0.2")
        self.imaps_port = free_port_on("127.0.0.2")
        for name in ("run", "state"):
            (self.dir / name).mkdir()
        mail = self.dir / "mail"
        mail.mkdir()
        # Mail cannot be owned by root (first_valid_uid): it belongs to nobody.
        os.chown(mail, 65534, 65534)
        users = self.dir / "users"
        users.write_text("".join(f"{name}:{{PLAIN}}{UPSTREAM_PASSWORD}:65534:65534::{mail}/{name}\n"
                                 for name in names))
        users.chmod(0o644)
        self.log = self.dir / "dovecot.log"
        self.config = self.dir / "dovecot.conf"
        self.config.write_text(f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = mailgate-test-{self.imaps_port}
protocols = imap
listen = 127.0.0.2
log_path = {self.log}
ssl = required
ssl_cert = <{pki}/upstream.crt
ssl_key = <{pki}/upstream.key
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
mail_location = maildir:~/Maildir
first_valid_uid = 500
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
{extra}
""")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for("127.0.0.2", self.imaps_port)
        wait_for("127.0.0.2", self.imap_port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot(imap_pki):
    server = Dovecot(imap_pki)
    yield server
    server.stop()


@pytest.fixture
def picky_upstream(tmp_path):
    """An aiosmtpd server: 550 for reject@, 451 for later@, 250 for the rest."""
    port = free_port()
    script = tmp_path / "upstream.py"
    script.write_text(f"""
import asyncio
from aiosmtpd.controller import Controller

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("reject@"):
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        if address.startswith("later@"):
            return "451 4.3.0 <" + address + ">: Temporary lookup failure"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: queued as UP123"

controller = Controller(Handler(), hostname="127.0.0.1", port={port})
controller.start()
import threading
threading.Event().wait()
""")
    proc = subprocess.Popen(["/usr/bin/python3", str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    yield port
    proc.terminate()
    proc.wait(timeout=10)




def start_aiosmtpd(directory, queue_prefix="UP", tls_dir=None, login=None, password=None):
    """Starts a Python aiosmtpd upstream on 127.0.0.1 (/usr/bin/python3: Debian's aiosmtpd).
    Plain by default; with `tls_dir` STARTTLS is required (its server.crt/key), and with `login`
    AUTH is required after TLS, a wrong password answered 535. Each message is written to
    directory/N.eml (renamed into place when complete) with its envelope recipients in N.rcpt,
    and answered "250 2.0.0 Ok: queued as <queue_prefix>N". Returns (process, port)."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    options = ""
    if tls_dir:
        options += ", tls_context=context, require_starttls=True"
    if login:
        options += ", authenticator=authenticator, auth_require_tls=True"
    script = directory.parent / f"aiosmtpd-{port}.py"
    script.write_text(f"""
import os, ssl, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

if {bool(tls_dir)}:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain("{tls_dir}/server.crt", "{tls_dir}/server.key")

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == {str(login).encode()!r}
          and auth_data.password == {str(password).encode()!r})
    # handled=False: aiosmtpd answers a refusal with 535 itself (with True it answers nothing).
    return AuthResult(success=ok, handled=False)

class Handler:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        base = "{directory}/%d" % Handler.count
        with open(base + ".eml.tmp", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        with open(base + ".rcpt", "w") as out:
            out.write("\\n".join(envelope.rcpt_tos))
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as {queue_prefix}%d" % Handler.count

controller = Controller(Handler(), hostname="127.0.0.1", port={port}{options})
controller.start()
threading.Event().wait()
""")
    proc = subprocess.Popen(["/usr/bin/python3", str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return proc, port


def stop_process(proc):
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def saving_upstream(tmp_path):
    """A plain aiosmtpd upstream (no TLS, no AUTH: an smtp+plain:// account) that accepts
    everything and writes each message to tmp_path/upstream/N.eml, with its envelope recipients
    in N.rcpt. Yields (port, directory)."""
    received = tmp_path / "upstream"
    proc, port = start_aiosmtpd(received)
    yield port, received
    stop_process(proc)


def inbound_config(ports, upstream_port, extra=""):
    """basic_config plus an account relaying to `upstream_port` (plain), a user "app" (password
    "secret") sending through it, and an inbound listener on ports[4] for example.test."""
    return basic_config(ports, extra=f"""
[[account]]
name = "relay"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{upstream_port}"

[[user]]
name = "app"
password_hash = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."
send_as = ["*@example.test"]
accounts = ["relay"]

[inbound]
listen = ["127.0.0.1:{ports[4]}"]
domains = ["example.test"]
{extra}
""")


def swaks(port, *args, timeout=60):
    """swaks against 127.0.0.1:port; returns the CompletedProcess (output in stdout)."""
    return subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--timeout", "20", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def smtp_sink_factory():
    """Starts Postfix's smtp-sink on free ports: make(*options) returns (port, dumps), each
    message dumped to a file of its own under `dumps` (-d). All are stopped afterwards."""
    started = []

    def make(*options):
        port = free_port()
        # smtp-sink writes as the postfix user, who cannot enter pytest's private tmp_path.
        dumps = Path(tempfile.mkdtemp(prefix="mailgate-sink-"))
        dumps.chmod(0o755)
        shutil.chown(dumps, "postfix")
        proc = subprocess.Popen(["smtp-sink", "-u", "postfix", *options, "-d", f"{dumps}/%H%M%S.",
                                 f"127.0.0.1:{port}", "64"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((proc, dumps))
        wait_for_port(port)
        return port, dumps

    yield make
    for proc, dumps in started:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(dumps, ignore_errors=True)


def sink_messages(dumps):
    """The messages an smtp-sink dumped so far, as file paths."""
    return [p for p in dumps.rglob("*") if p.is_file()]


class OAuth2Provider:
    """An OAuth2 authorisation server on 127.0.0.1, in a thread of the test process: RFC 6749
    refresh_token grant at /token (HTTP Basic client authentication, tokens living `lifetime`
    seconds) and RFC 7662 introspection at /introspect (POST token=...; active only for a token
    it issued that is unexpired and not revoked). `refuse_refresh` answers invalid_grant;
    `refuse_first` reports the first token issued inactive; `introspection_delays` holds answers
    about a token back, to order two upstream refusals. Upstream servers in tests validate
    tokens here: `valid(token)` in-process, or Dovecot over HTTP."""

    CLIENT_ID = "mailgate-client"
    CLIENT_SECRET = "client/secret"
    REFRESH_TOKEN = "1//refresh-token"

    def __init__(self, lifetime=3600, username=None):
        import threading
        from http.server import ThreadingHTTPServer
        self.lifetime = lifetime
        self.username = username
        self.refuse_refresh = False
        self.refuse_first = False
        self.issued = []          # every access token handed out, in order
        self.refused_grants = 0
        self.introspected = []    # every token asked about
        self.introspection_delays = {}  # token -> seconds to wait before each answer about it, in turn
        self._expiry = {}         # token -> time.monotonic() deadline
        self._revoked = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def mint(self):
        """Issues a token as a refresh would (for a client other than mailgate)."""
        with self._lock:
            token = "ya29.tok-%d-%s" % (len(self.issued) + 1, os.urandom(4).hex())
            self.issued.append(token)
            self._expiry[token] = time.monotonic() + self.lifetime
            return token

    def revoke(self, token):
        with self._lock:
            self._revoked.add(token)

    def expired(self, token):
        with self._lock:
            return time.monotonic() >= self._expiry.get(token, 0)

    def valid(self, token):
        with self._lock:
            expiry = self._expiry.get(token)
            if expiry is None or time.monotonic() >= expiry or token in self._revoked:
                return False
            return not (self.refuse_first and token == self.issued[0])

    def _handler(self):
        import base64
        import json
        import urllib.parse
        from http.server import BaseHTTPRequestHandler
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                    return self.answer(400, {"error": "invalid_request"})
                if self.path == "/introspect":
                    token = form.get("token", [""])[0]
                    with provider._lock:
                        provider.introspected.append(token)
                        delays = provider.introspection_delays.get(token, [])
                        delay = delays.pop(0) if delays else 0
                    time.sleep(delay)
                    if not provider.valid(token):
                        return self.answer(200, {"active": False})
                    return self.answer(200, {"active": True, "username": provider.username,
                                             "client_id": provider.CLIENT_ID, "token_type": "Bearer"})
                if self.path != "/token":
                    return self.answer(404, {"error": "not_found"})
                credentials = f"{provider.CLIENT_ID}:{urllib.parse.quote(provider.CLIENT_SECRET, safe='')}"
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(credentials.encode()).decode():
                    return self.answer(401, {"error": "invalid_client"})
                if (form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [provider.REFRESH_TOKEN]
                        or provider.refuse_refresh):
                    with provider._lock:
                        provider.refused_grants += 1
                    return self.answer(400, {"error": "invalid_grant"})
                token = provider.mint()
                self.answer(200, {"access_token": token, "expires_in": provider.lifetime, "token_type": "Bearer"})

        return Handler

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
