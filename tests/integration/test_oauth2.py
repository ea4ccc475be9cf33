"""OAuth2 token refresh through the built binary: a small token endpoint
(http.server on 127.0.0.1, RFC 6749 refresh_token grant with HTTP Basic client
authentication, short-lived tokens) and an aiosmtpd upstream (STARTTLS, then
AUTH XOAUTH2 accepted only with a currently valid token) in one process. Mail
relayed across several token lifetimes all arrives, the endpoint saw the
refreshes, a refused token is refreshed at once, and no token reaches the log."""
import json
import smtplib
import ssl
import subprocess
import time

import pytest

from conftest import basic_config, free_ports, pki_dir, psql, wait_for_port, wait_until

PASSWORD = "secret"
HASH = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."

PROVIDER = r'''
import base64, json, ssl, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

token_port, smtp_port, state_dir, lifetime, refuse_first = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
cert, key = sys.argv[6], sys.argv[7]
lock = threading.Lock()
tokens = {}          # token -> expiry (monotonic)
issued = []

def record():
    with open(state_dir + "/issued.json.tmp", "w") as out:
        json.dump(issued, out)
    import os
    os.replace(state_dir + "/issued.json.tmp", state_dir + "/issued.json")

class TokenEndpoint(BaseHTTPRequestHandler):
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
        expected = "Basic " + base64.b64encode(b"mailgate-client:client%2Fsecret").decode()
        if self.path != "/token" or self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.answer(400, {"error": "invalid_request"})
        if self.headers.get("Authorization") != expected:
            return self.answer(401, {"error": "invalid_client"})
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != ["1//refresh-token"]:
            return self.answer(400, {"error": "invalid_grant"})
        with lock:
            token = "ya29.tok-%d-%d" % (len(issued) + 1, int(time.time() * 1000))
            issued.append(token)
            tokens[token] = time.monotonic() + lifetime
            record()
        self.answer(200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})

class Handler:
    count = 0
    async def auth_XOAUTH2(self, server, args):
        # args: ["XOAUTH2", initial response]; mailgate always sends the response at once.
        if len(args) < 2:
            return AuthResult(success=False, message="501 5.5.2 initial response required")
        fields = base64.b64decode(args[1]).split(b"\x01")
        user = fields[0].decode()
        token = fields[1].decode().removeprefix("auth=Bearer ") if len(fields) > 1 else ""
        with lock:
            expiry = tokens.get(token)
            first = bool(issued) and token == issued[0]
        ok = user == "user=relay@example.test" and expiry is not None and time.monotonic() < expiry
        if refuse_first and first:
            ok = False
        if not ok:
            # aiosmtpd 1.4 sends nothing for a refusal it deems handled: answer ourselves.
            await server.push("535 5.7.8 Username and Password not accepted")
            return AuthResult(success=False, handled=True)
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        with open(state_dir + "/received-%d.eml" % Handler.count, "wb") as out:
            out.write(envelope.original_content or envelope.content)
        return "250 2.0.0 Ok: queued as OA%d" % Handler.count

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Handler(), hostname="127.0.0.1", port=smtp_port, tls_context=context, require_starttls=True,
                        auth_require_tls=True)
controller.start()
server = ThreadingHTTPServer(("127.0.0.1", token_port), TokenEndpoint)
threading.Thread(target=server.serve_forever, daemon=True).start()
threading.Event().wait()
'''


def start_provider(tmp_path, lifetime, refuse_first):
    token_port, smtp_port = free_ports(2)
    state = tmp_path / "provider"
    state.mkdir()
    script = tmp_path / "provider.py"
    script.write_text(PROVIDER)
    proc = subprocess.Popen(["/usr/bin/python3", str(script), str(token_port), str(smtp_port), str(state),
                             str(lifetime), "1" if refuse_first else "0", str(pki_dir() / "server.crt"),
                             str(pki_dir() / "server.key")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(token_port)
    wait_for_port(smtp_port)
    return proc, token_port, smtp_port, state


@pytest.fixture
def provider_factory(tmp_path):
    started = []

    def make(lifetime=3, refuse_first=False):
        proc, token_port, smtp_port, state = start_provider(tmp_path, lifetime, refuse_first)
        started.append(proc)
        return token_port, smtp_port, state

    yield make
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def issued(state):
    path = state / "issued.json"
    return json.loads(path.read_text()) if path.exists() else []


def received(state):
    return sorted(state.glob("received-*.eml"))


def oauth2_config(ports, tmp_path, token_port, smtp_port):
    client_secret = tmp_path / "client.secret"
    client_secret.write_text("client/secret\n")
    client_secret.chmod(0o600)
    refresh = tmp_path / "refresh.token"
    refresh.write_text("1//refresh-token\n")
    refresh.chmod(0o600)
    return basic_config(ports, extra=f"""
[[account]]
name = "oauth"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp://127.0.0.1:{smtp_port}"
ca_file = "{pki_dir() / 'ca.crt'}"
max_connections = 1
oauth2 = {{ token_url = "http://127.0.0.1:{token_port}/token", client_id = "mailgate-client", client_secret_file = "{client_secret}", refresh_token_file = "{refresh}" }}

[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = ["oauth"]
""")


def submit(port, count, subject):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=60) as client:
        client.login("app", PASSWORD)
        for n in range(count):
            client.sendmail("app@example.test", ["far@example.org"],
                            f"From: app@example.test\r\nSubject: {subject} {n}\r\n\r\nbody {n}\r\n")


def test_mail_flows_across_several_token_lifetimes(mailgate_factory, migrated_database, provider_factory, tmp_path):
    token_port, smtp_port, state = provider_factory(lifetime=3)
    ports = free_ports(4)
    server = mailgate_factory(oauth2_config(ports, tmp_path, token_port, smtp_port),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    batches = 4
    for batch in range(batches):
        submit(ports[1], 3, f"batch {batch}")
        wait_until(lambda: len(received(state)) == 3 * (batch + 1), timeout=30,
                   what=f"batch {batch} relayed with XOAUTH2")
        time.sleep(3.5)  # past the lifetime of the token in use
    # Tokens live 3 s and are refreshed ahead of expiry: about one refresh per 1.5 s over the run.
    assert len(issued(state)) >= batches
    assert psql(migrated_database, "SELECT count(*) FROM email_sends WHERE status = 'sent'") == [[str(3 * batches)]]
    assert psql(migrated_database, "SELECT count(*) FROM email_accounts WHERE name = 'oauth' AND status <> 'active'") \
        == [["0"]]
    log = server.log.read_text()
    assert "oauth2 token refreshed" in log and "outcome=ok" in log and "expires_in=3" in log
    for token in issued(state):
        assert token not in log
    assert "1//refresh-token" not in log and "client/secret" not in log
    shared = psql(migrated_database, "SELECT count(*) FROM email_secrets WHERE name = 'oauth2:oauth'")
    assert shared == [["1"]]


def test_a_refused_token_is_refreshed_at_once_and_the_account_stays_active(mailgate_factory, migrated_database,
                                                                           provider_factory, tmp_path):
    # Tokens live an hour, so only the refusal explains a second refresh.
    token_port, smtp_port, state = provider_factory(lifetime=3600, refuse_first=True)
    ports = free_ports(4)
    server = mailgate_factory(oauth2_config(ports, tmp_path, token_port, smtp_port),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    submit(ports[1], 1, "refused first")
    wait_until(lambda: len(received(state)) == 1, timeout=30, what="relayed with the second token")
    assert len(issued(state)) == 2
    assert psql(migrated_database, "SELECT status FROM email_accounts WHERE name = 'oauth'") == [["active"]]
    assert psql(migrated_database, "SELECT attempts FROM email_sends WHERE status = 'sent'") == [["1"]]
    log = server.log.read_text()
    assert "upstream refused the access token: refreshing" in log
    for token in issued(state):
        assert token not in log


def test_a_refused_refresh_pauses_the_account_as_a_login_failure(mailgate_factory, migrated_database,
                                                                  provider_factory, tmp_path):
    token_port, smtp_port, state = provider_factory(lifetime=3600)
    ports = free_ports(4)
    config = oauth2_config(ports, tmp_path, token_port, smtp_port)
    (tmp_path / "refresh.token").write_text("1//revoked\n")
    server = mailgate_factory(config, env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    submit(ports[1], 1, "revoked")
    wait_until(lambda: psql(migrated_database, "SELECT status FROM email_accounts WHERE name = 'oauth'") == [["paused"]],
               what="account paused")
    log = server.wait_log("outcome=failed")
    assert "invalid_grant" in log and "1//revoked" not in log
    assert issued(state) == [] and received(state) == []
    assert psql(migrated_database, "SELECT attempts FROM email_sends") == [["0"]]
