"""The IMAP proxy's and the IMAP sync's OAuth2 login (AUTHENTICATE XOAUTH2) against a real Dovecot.

Dovecot's passdb driver oauth2 validates each bearer token by RFC 7662 introspection
(introspection_mode = post) at an OAuth2Provider run by the test on 127.0.0.1, which also
issues the short-lived tokens (RFC 6749 refresh_token grant) mailgate obtains for the account
"sales". The provider can revoke a token at the introspection side (Dovecot then refuses it)
and refuse further refreshes. A fresh Dovecot and provider per test: Dovecot delays an
address after failed logins (its auth penalty), so logins that must not slow each other
dial from addresses of their own (Dovecot trusts 127.0.0.0/8 and takes mailgate's ID)."""
import imaplib
import shutil
import socket
import ssl
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import (UPSTREAM_PASSWORD, Dovecot, OAuth2Provider, basic_config, free_ports, psql,
                      wait_until, write_secret)
from test_imap_proxy import GATEWAY_PASSWORD, password_hash

ACCOUNT = "sales@example.test"


class OAuth2Dovecot(Dovecot):
    """Dovecot taking XOAUTH2 and OAUTHBEARER for ACCOUNT, checked at `provider`'s introspection
    endpoint; PLAIN still works with UPSTREAM_PASSWORD (for putting mail in directly)."""

    def __init__(self, pki, provider):
        # Read by Dovecot's auth process (which need not run as root): a directory of its own, world-readable.
        self.oauth2_dir = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-oauth2-"))
        self.oauth2_dir.chmod(0o755)
        settings = self.oauth2_dir / "dovecot-oauth2.conf.ext"
        settings.write_text(f"""
introspection_url = {provider.url}/introspect
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
max_parallel_connections = 4
""")
        settings.chmod(0o644)
        super().__init__(pki, users=(ACCOUNT,), extra=f"""
auth_mechanisms = plain login xoauth2 oauthbearer
# The address mailgate sends with ID becomes the client's: its failed logins delay only its own.
login_trusted_networks = 127.0.0.0/8
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {settings}
}}
""")

    def stop(self):
        super().stop()
        shutil.rmtree(self.oauth2_dir, ignore_errors=True)


@pytest.fixture
def provider():
    server = OAuth2Provider(username=ACCOUNT)
    yield server
    server.stop()


@pytest.fixture
def upstream(imap_pki, provider):
    server = OAuth2Dovecot(imap_pki, provider)
    yield server
    server.stop()


def direct(upstream, pki):
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    return imaplib.IMAP4_SSL("127.0.0.2", upstream.imaps_port, ssl_context=context, timeout=30)


def append(upstream, pki, marker):
    client = direct(upstream, pki)
    client.login(ACCOUNT, UPSTREAM_PASSWORD)
    raw = (f"From: Customer <customer@example.net>\r\nTo: {ACCOUNT}\r\nSubject: {marker}\r\n"
           f"Message-ID: <{marker}@example.net>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
           f"Hello from {marker}.\r\n")
    assert client.append("INBOX", None, None, raw.encode())[0] == "OK"
    client.logout()


def xoauth2(user, token):
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer(user, token):
    return f"n,a={user},\x01auth=Bearer {token}\x01\x01".encode()


class SourceClient(imaplib.IMAP4_SSL):
    """imaplib over implicit TLS, dialling from `source` (a loopback address)."""

    def __init__(self, source, *args, **kwargs):
        self.source = source
        super().__init__(*args, **kwargs)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Gateway:
    """mailgate serve with the OAuth2 account "sales" (imaps to Dovecot) and the gateway user
    alice whose imap_account it is."""

    def __init__(self, factory, tmp_path, pki, upstream, provider, database_url, sync_folders="[]"):
        self.ports = free_ports(4)
        self.provider = provider
        client_secret = tmp_path / "client.secret"
        write_secret(client_secret, OAuth2Provider.CLIENT_SECRET + "\n")
        refresh = tmp_path / "refresh.token"
        write_secret(refresh, OAuth2Provider.REFRESH_TOKEN + "\n")
        sync = "" if sync_folders is None else f"sync_folders = {sync_folders}\n"
        extra = f"""
[[account]]
name = "sales"
address = "{ACCOUNT}"
smtp = "smtp+plain://127.0.0.1:2525"
imap = "imaps://127.0.0.2:{upstream.imaps_port}"
ca_file = "{pki / 'ca.crt'}"
oauth2 = {{ token_url = "{provider.url}/token", client_id = "{OAuth2Provider.CLIENT_ID}", client_secret_file = "{client_secret}", refresh_token_file = "{refresh}" }}
{sync}
[[user]]
name = "alice"
password_hash = "{password_hash(GATEWAY_PASSWORD)}"
send_as = ["{ACCOUNT}"]
accounts = ["sales"]
imap_account = "sales"
"""
        self.server = factory(basic_config(self.ports, extra=extra, tls_dir=pki),
                              env={"MAILGATE_DATABASE_URL": database_url}).start(wait_ports=self.ports[3:])
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.check_hostname = False  # dialled by IP; the chain is still verified

    def client(self, source="127.0.0.1"):
        return SourceClient(source, "127.0.0.1", self.ports[3], ssl_context=self.context, timeout=30)

    def login_and_fetch(self, marker, source="127.0.0.1"):
        """Logs alice in from `source`, finds the message `marker` in INBOX and returns its body."""
        client = self.client(source)
        assert client.login("alice", GATEWAY_PASSWORD)[0] == "OK"
        assert client.select("INBOX")[0] == "OK"
        status, data = client.uid("SEARCH", None, "HEADER", "Message-ID", f"<{marker}@example.net>")
        assert status == "OK" and data[0], data
        uid = data[0].split()[-1]
        status, data = client.uid("FETCH", uid, "(BODY.PEEK[TEXT])")
        assert status == "OK", data
        client.logout()
        return data[0][1]

    def login_lines(self):
        return [line for line in self.log().splitlines() if "msg=login" in line]

    def log(self):
        return self.server.log.read_text()

    def assert_no_secret_logged(self):
        log = self.log()
        for token in self.provider.issued:
            assert token not in log
        assert OAuth2Provider.REFRESH_TOKEN not in log and OAuth2Provider.CLIENT_SECRET not in log


def dovecot_oauth2_logins(upstream):
    return [line for line in upstream.log.read_text().splitlines()
            if f"Login: user=<{ACCOUNT}>" in line and "method=XOAUTH2" in line]


def test_dovecot_takes_only_tokens_the_provider_vouches_for(imap_pki, provider, upstream):
    token = provider.mint()
    for mechanism, response in (("XOAUTH2", xoauth2), ("OAUTHBEARER", oauthbearer)):
        client = direct(upstream, imap_pki)
        assert client.authenticate(mechanism, lambda _: response(ACCOUNT, token))[0] == "OK"
        client.logout()
    provider.revoke(token)
    client = direct(upstream, imap_pki)
    with pytest.raises(imaplib.IMAP4.error):
        # Dovecot answers a refused XOAUTH2 with a JSON challenge first: imaplib answers it empty.
        client.authenticate("XOAUTH2", lambda _: xoauth2(ACCOUNT, token))
    client.shutdown()


def test_a_gateway_user_reads_mail_through_an_oauth2_account(mailgate_factory, tmp_path, imap_pki, provider,
                                                              upstream, migrated_database):
    append(upstream, imap_pki, "first")
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, upstream, provider, migrated_database)
    assert b"Hello from first." in gateway.login_and_fetch("first")
    assert gateway.login_lines() and "result=ok" in gateway.login_lines()[0], gateway.login_lines()
    assert len(provider.issued) == 1
    assert len(dovecot_oauth2_logins(upstream)) == 1
    assert any(token == provider.issued[0] for token in provider.introspected)
    gateway.assert_no_secret_logged()


def test_a_login_after_the_token_expired_uses_a_refreshed_token(mailgate_factory, tmp_path, imap_pki, provider,
                                                                upstream, migrated_database):
    provider.lifetime = 3
    append(upstream, imap_pki, "later")
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, upstream, provider, migrated_database)
    gateway.login_and_fetch("later")
    first = provider.issued[0]
    wait_until(lambda: provider.expired(first), timeout=10, what="the first token to expire")
    assert b"Hello from later." in gateway.login_and_fetch("later")
    assert len(provider.issued) >= 2
    # The refresh came ahead of the expiry, not after Dovecot refused the old token.
    assert "upstream refused the access token" not in gateway.log()
    assert all("result=ok" in line for line in gateway.login_lines()), gateway.login_lines()
    assert len(dovecot_oauth2_logins(upstream)) == 2
    gateway.assert_no_secret_logged()


def test_a_token_revoked_upstream_is_refreshed_at_once_and_the_login_succeeds(
        mailgate_factory, tmp_path, imap_pki, provider, upstream, migrated_database):
    append(upstream, imap_pki, "revoked")
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, upstream, provider, migrated_database)
    gateway.login_and_fetch("revoked")
    assert len(provider.issued) == 1
    provider.revoke(provider.issued[0])
    assert b"Hello from revoked." in gateway.login_and_fetch("revoked")
    # Tokens live an hour: only Dovecot's refusal explains the second refresh.
    assert len(provider.issued) == 2
    assert "upstream refused the access token: refreshing" in gateway.log()
    assert all("result=ok" in line for line in gateway.login_lines()), gateway.login_lines()
    gateway.assert_no_secret_logged()


def test_a_late_refusal_of_a_replaced_token_leaves_the_next_refresh_an_ordinary_one(
        mailgate_factory, tmp_path, imap_pki, provider, upstream, migrated_database):
    # Two logins sent the same token; Dovecot refused the second well after mailgate had already
    # refreshed for the first. That late refusal used to mark the next scheduled refresh as a
    # forced one, so a refusal of its token became a login failure without a refresh.
    provider.lifetime = 30
    append(upstream, imap_pki, "pair")
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, upstream, provider, migrated_database)
    gateway.login_and_fetch("pair")
    first = provider.issued[0]
    provider.revoke(first)
    provider.introspection_delays[first] = [0, 1.5]
    asked = provider.introspected.count(first)
    failures = []

    def login(source):
        try:
            gateway.login_and_fetch("pair", source)
        except Exception as error:  # reported below, from the test's own thread
            failures.append(error)

    pair = [threading.Thread(target=login, args=(source,)) for source in ("127.0.0.11", "127.0.0.12")]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join(timeout=60)
    assert not failures and not any(thread.is_alive() for thread in pair), failures
    assert provider.introspected.count(first) == asked + 2
    # One refresh for both refusals: the late one found the token already replaced.
    assert gateway.log().count("upstream refused the access token: refreshing") == 1
    # The third token comes from the refresh ahead of the second's expiry (half-way through
    # 30 s); it serves until the fourth is due 15 s later, which is when this test is done.
    third = wait_until(lambda: len(provider.issued) >= 3 and provider.issued[2], timeout=40,
                       what="the scheduled refresh")
    provider.revoke(third)
    assert b"Hello from pair." in gateway.login_and_fetch("pair", "127.0.0.13")
    assert len(provider.issued) == 4
    assert gateway.log().count("upstream refused the access token: refreshing") == 2
    assert all("result=ok" in line for line in gateway.login_lines()), gateway.login_lines()
    gateway.assert_no_secret_logged()


def test_a_refused_refresh_answers_the_client_unavailable(mailgate_factory, tmp_path, imap_pki, provider,
                                                          upstream, migrated_database):
    append(upstream, imap_pki, "refused")
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, upstream, provider, migrated_database)
    gateway.login_and_fetch("refused")
    provider.revoke(provider.issued[0])
    provider.refuse_refresh = True
    for attempt in range(2):
        client = gateway.client()
        with pytest.raises(imaplib.IMAP4.error) as refused:
            client.login("alice", GATEWAY_PASSWORD)
        assert "[UNAVAILABLE]" in str(refused.value), refused.value
        client.logout()
    lines = gateway.login_lines()
    assert len(lines) == 3 and all("result=unavailable" in line for line in lines[1:]), lines
    assert "invalid_grant" in lines[1], lines[1]
    assert provider.refused_grants >= 1 and len(provider.issued) == 1
    gateway.assert_no_secret_logged()


def test_the_sync_ingests_mail_through_an_oauth2_account_after_a_refused_token(
        mailgate_factory, tmp_path, imap_pki, provider, upstream, migrated_database):
    db = migrated_database
    append(upstream, imap_pki, "synced1")
    # The first token Dovecot sees is refused: the sync refreshes at once and logs in with the next.
    provider.refuse_first = True
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, upstream, provider, db, sync_folders=None)
    query = "SELECT folder, uid, message_id FROM email_messages WHERE account = 'sales' ORDER BY uid"
    wait_until(lambda: len(psql(db, query)) == 1, timeout=30, what="the first message ingested")
    assert psql(db, query) == [["INBOX", "1", "synced1@example.net"]]
    assert len(provider.issued) == 2
    assert "OAuth2 token refused, refreshing" in gateway.log()
    # A folder never synced before is not a UIDVALIDITY change.
    assert "folder synced for the first time" in gateway.log() and "UIDVALIDITY changed" not in gateway.log()
    # IDLE brings a later message in on the same logged-in session.
    gateway.server.wait_log("sync session started", timeout=10)
    append(upstream, imap_pki, "synced2")
    wait_until(lambda: len(psql(db, query)) == 2, timeout=30, what="the second message ingested")
    assert psql(db, query)[1] == ["INBOX", "2", "synced2@example.net"]
    gateway.assert_no_secret_logged()
