"""OAuth2 token refresh through the built binary: the test's OAuth2Provider (conftest:
RFC 6749 refresh_token grant with HTTP Basic client authentication, short-lived tokens,
RFC 7662 introspection) and an aiosmtpd upstream (STARTTLS, then AUTH XOAUTH2 accepted
only for a token the provider's introspection calls active). Mail relayed across several
token lifetimes all arrives, the endpoint saw the refreshes, a refused token is refreshed
at once, and no token reaches the log."""
import smtplib
import ssl
import subprocess
import time

import pytest

from conftest import OAuth2Provider, basic_config, free_port, free_ports, pki_dir, psql, wait_for_port, wait_until, write_secret

PASSWORD = "secret"
HASH = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."

UPSTREAM = r'''
import base64, json, ssl, sys, threading, urllib.request
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

smtp_port, state_dir, introspection_url, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

def active(token):
    # RFC 7662 introspection at the test's OAuth2Provider, as a real provider's mail server would.
    request = urllib.request.Request(introspection_url, data=("token=" + token).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer).get("active") is True

class Handler:
    count = 0
    async def auth_XOAUTH2(self, server, args):
        # args: ["XOAUTH2", initial response]; mailgate always sends the response at once.
        if len(args) < 2:
            return AuthResult(success=False, message="501 5.5.2 initial response required")
        fields = base64.b64decode(args[1]).split(b"\x01")
        user = fields[0].decode()
        token = fields[1].decode().removeprefix("auth=Bearer ") if len(fields) > 1 else ""
        if user != "user=relay@example.test" or not active(token):
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
threading.Event().wait()
'''


@pytest.fixture
def provider_factory(tmp_path):
    """make(lifetime, refuse_first) starts an OAuth2Provider (conftest) and the aiosmtpd upstream that
    asks it about each token; returns (provider, smtp_port, state directory)."""
    started = []

    def make(lifetime=3, refuse_first=False):
        provider = OAuth2Provider(lifetime=lifetime)
        provider.refuse_first = refuse_first
        smtp_port = free_port()
        state = tmp_path / "provider"
        state.mkdir()
        script = tmp_path / "upstream.py"
        script.write_text(UPSTREAM)
        proc = subprocess.Popen(["/usr/bin/python3", str(script), str(smtp_port), str(state),
                                 provider.url + "/introspect", str(pki_dir() / "server.crt"),
                                 str(pki_dir() / "server.key")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((provider, proc))
        wait_for_port(smtp_port)
        return provider, smtp_port, state

    yield make
    for provider, proc in started:
        proc.terminate()
        proc.wait(timeout=10)
        provider.stop()


def received(state):
    return sorted(state.glob("received-*.eml"))


def oauth2_config(ports, tmp_path, token_url, smtp_port):
    client_secret = tmp_path / "client.secret"
    write_secret(client_secret, OAuth2Provider.CLIENT_SECRET + "\n")
    refresh = tmp_path / "refresh.token"
    write_secret(refresh, OAuth2Provider.REFRESH_TOKEN + "\n")
    return basic_config(ports, extra=f"""
[[account]]
name = "oauth"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp://127.0.0.1:{smtp_port}"
ca_file = "{pki_dir() / 'ca.crt'}"
max_connections = 1
oauth2 = {{ token_url = "{token_url}", client_id = "{OAuth2Provider.CLIENT_ID}", client_secret_file = "{client_secret}", refresh_token_file = "{refresh}" }}

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
    provider, smtp_port, state = provider_factory(lifetime=3)
    ports = free_ports(4)
    server = mailgate_factory(oauth2_config(ports, tmp_path, provider.url + "/token", smtp_port),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    batches = 4
    for batch in range(batches):
        submit(ports[1], 3, f"batch {batch}")
        wait_until(lambda: len(received(state)) == 3 * (batch + 1), timeout=30,
                   what=f"batch {batch} relayed with XOAUTH2")
        time.sleep(3.5)  # past the lifetime of the token in use
    # Tokens live 3 s and are refreshed ahead of expiry: about one refresh per 1.5 s over the run.
    assert len(provider.issued) >= batches
    assert psql(migrated_database, "SELECT count(*) FROM email_sends WHERE status = 'sent'") == [[str(3 * batches)]]
    assert psql(migrated_database, "SELECT count(*) FROM email_accounts WHERE name = 'oauth' AND status <> 'active'") \
        == [["0"]]
    log = server.log.read_text()
    assert "oauth2 token refreshed" in log and "outcome=ok" in log and "expires_in=3" in log
    for token in provider.issued:
        assert token not in log
    assert "1//refresh-token" not in log and "client/secret" not in log
    shared = psql(migrated_database, "SELECT count(*) FROM email_secrets WHERE name = 'oauth2:oauth'")
    assert shared == [["1"]]


def test_a_refused_token_is_refreshed_at_once_and_the_account_stays_active(mailgate_factory, migrated_database,
                                                                           provider_factory, tmp_path):
    # Tokens live an hour, so only the refusal explains a second refresh.
    provider, smtp_port, state = provider_factory(lifetime=3600, refuse_first=True)
    ports = free_ports(4)
    server = mailgate_factory(oauth2_config(ports, tmp_path, provider.url + "/token", smtp_port),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    submit(ports[1], 1, "refused first")
    wait_until(lambda: len(received(state)) == 1, timeout=30, what="relayed with the second token")
    assert len(provider.issued) == 2
    assert psql(migrated_database, "SELECT status FROM email_accounts WHERE name = 'oauth'") == [["active"]]
    assert psql(migrated_database, "SELECT attempts FROM email_sends WHERE status = 'sent'") == [["1"]]
    log = server.log.read_text()
    assert "upstream refused the access token: refreshing" in log
    for token in provider.issued:
        assert token not in log


def test_a_refused_refresh_pauses_the_account_as_a_login_failure(mailgate_factory, migrated_database,
                                                                  provider_factory, tmp_path):
    provider, smtp_port, state = provider_factory(lifetime=3600)
    ports = free_ports(4)
    config = oauth2_config(ports, tmp_path, provider.url + "/token", smtp_port)
    (tmp_path / "refresh.token").write_text("1//revoked\n")
    server = mailgate_factory(config, env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    submit(ports[1], 1, "revoked")
    wait_until(lambda: psql(migrated_database, "SELECT status FROM email_accounts WHERE name = 'oauth'") == [["paused"]],
               what="account paused")
    log = server.wait_log("outcome=failed")
    assert "invalid_grant" in log and "1//revoked" not in log
    assert provider.issued == [] and provider.refused_grants >= 1 and received(state) == []
    assert psql(migrated_database, "SELECT attempts FROM email_sends") == [["0"]]
