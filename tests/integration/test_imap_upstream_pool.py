"""The IMAP proxy's ready upstream connections ([imap] upstream_pool) against a real Dovecot.

This Dovecot trusts 127.0.0.0/8 (login_trusted_networks), so it takes the client address
that mailgate sends with ID and logs it as rip=: that shows the ID still reaches it when
the login runs on a connection made before the client came. Where a test must see or
break the upstream connections themselves, a forwarder sits between mailgate and
Dovecot (the TLS inside it is end to end): it counts connections and can cut them
silently, so a ready connection is dead by the time a login uses it."""
import imaplib
import re
import signal
import socket
import ssl
import threading
import time
import urllib.request

import pytest

from conftest import UPSTREAM_PASSWORD, Dovecot, basic_config, free_ports, wait_until, write_secret
from test_imap_proxy import GATEWAY_PASSWORD, password_hash

CLIENT_SOURCE = "127.0.0.3"


class Forwarder:
    """TCP forwarder on 127.0.0.2 to `target`, one thread per direction and connection."""

    class Pair:
        def __init__(self, client, upstream):
            self.client, self.upstream = client, upstream
            self.cut = False
            self.bytes_after_cut = 0
            self.client_closed = False
            self.client_sends = 0
            # The server sent something after the client's second flight (its TLS Finished):
            # the greeting, so the connection is ready as soon as mailgate reads it.
            self.greeted = False

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.2", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.pairs = []
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=30)
            pair = Forwarder.Pair(client, upstream)
            with self.lock:
                self.pairs.append(pair)
            threading.Thread(target=self._from_client, args=(pair,), daemon=True).start()
            threading.Thread(target=self._from_upstream, args=(pair,), daemon=True).start()

    def _from_client(self, pair):
        try:
            while True:
                data = pair.client.recv(65536)
                if not data:
                    break
                if pair.cut:
                    pair.bytes_after_cut += len(data)
                    break
                pair.client_sends += 1
                pair.upstream.sendall(data)
        except OSError:
            pass  # a reset ends it as well as a close
        pair.client_closed = True
        for sock in (pair.client, pair.upstream):
            sock.close()

    def _from_upstream(self, pair):
        try:
            while True:
                data = pair.upstream.recv(65536)
                if not data or pair.cut:
                    break
                if pair.client_sends >= 2:
                    pair.greeted = True
                pair.client.sendall(data)
        except OSError:
            pass
        if not pair.cut:  # a cut leaves mailgate's side open and silent
            try:
                pair.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def connections(self):
        with self.lock:
            return list(self.pairs)

    def open_connections(self):
        """Connections mailgate has not closed: after each login's LOGOUT, the ready ones."""
        return [pair for pair in self.connections() if not pair.client_closed]

    def cut(self):
        """Every connection so far goes silent: the upstream side is closed, mailgate's side
        stays open until mailgate sends something, which closes it."""
        for pair in self.connections():
            pair.cut = True
            try:
                pair.upstream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.running = False
        self.listener.close()
        for pair in self.connections():
            for sock in (pair.client, pair.upstream):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.fixture(scope="module")
def trusting_dovecot(imap_pki):
    server = Dovecot(imap_pki, users=("sales@example.test",), extra="login_trusted_networks = 127.0.0.0/8")
    yield server
    server.stop()


@pytest.fixture
def forwarder(trusting_dovecot):
    forward = Forwarder(("127.0.0.2", trusting_dovecot.imaps_port))
    yield forward
    forward.stop()


class SourceClient(imaplib.IMAP4_SSL):
    """imaplib over implicit TLS, dialling from CLIENT_SOURCE."""

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(CLIENT_SOURCE, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Gateway:
    """mailgate serve with one gateway user, alice -> account sales (imaps to `upstream_port`)."""

    def __init__(self, factory, tmp_path, pki, upstream_port, database_url, pool=None):
        self.ports = free_ports(5)
        secret = tmp_path / "upstream.secret"
        write_secret(secret, UPSTREAM_PASSWORD + "\n")
        extra = f"""
[[account]]
name = "sales"
address = "sales@example.test"
smtp = "smtp+plain://127.0.0.1:2525"
imap = "imaps://127.0.0.2:{upstream_port}"
password_file = "{secret}"
ca_file = "{pki / 'ca.crt'}"
sync_folders = []

[[user]]
name = "alice"
password_hash = "{password_hash(GATEWAY_PASSWORD)}"
send_as = ["sales@example.test"]
accounts = ["sales"]
imap_account = "sales"

[metrics]
listen = "127.0.0.1:{self.ports[4]}"
"""
        config = basic_config(self.ports, extra=extra, tls_dir=pki)
        if pool is not None:
            config = config.replace("[imap]\n", f"[imap]\nupstream_pool = {pool}\n", 1)
        self.server = factory(config, env={"MAILGATE_DATABASE_URL": database_url}).start(wait_ports=self.ports[3:])
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.check_hostname = False  # dialled by IP; the chain is still verified

    def login(self):
        """Logs alice in and out; returns how mailgate reached the upstream ("ready" or "new")."""
        before = self.logins()
        client = SourceClient("127.0.0.1", self.ports[3], ssl_context=self.context, timeout=30)
        assert client.login("alice", GATEWAY_PASSWORD)[0] == "OK"
        assert client.select("INBOX")[0] == "OK"
        client.logout()
        lines = wait_until(lambda: self.logins()[len(before):], timeout=10, what="the login's audit line")
        assert "result=ok" in lines[0], lines[0]
        return re.search(r"upstream=(\w+)", lines[0]).group(1)

    def logins(self):
        return [line for line in self.server.log.read_text().splitlines() if "msg=login" in line]

    def counted_logins(self):
        """mailgate_imap_proxy_logins_total by (result, upstream), from /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[4]}/metrics", timeout=10) as response:
            text = response.read().decode()
        return {(result, upstream): float(count) for result, upstream, count in re.findall(
            r'^mailgate_imap_proxy_logins_total\{result="(\w+)",upstream="(\w+)"\} (\S+)$', text, re.M)}


def test_later_logins_use_ready_connections_and_still_name_the_client(mailgate_factory, tmp_path, imap_pki,
                                                                       trusting_dovecot, migrated_database):
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, trusting_dovecot.imaps_port, migrated_database)
    assert gateway.login() == "new"
    # The pool fills in the background after the first login through the server.
    wait_until(lambda: gateway.login() == "ready", timeout=20, what="a login on a ready connection")
    assert gateway.login() == "ready"
    # The counter tells the two kinds apart as the audit lines do.
    audited = [re.search(r"upstream=(\w+)", line).group(1) for line in gateway.logins()]
    assert gateway.counted_logins() == {("ok", kind): audited.count(kind) for kind in set(audited)}
    logins = [line for line in trusting_dovecot.log.read_text().splitlines()
              if " Login: user=<sales@example.test>" in line]
    assert len(logins) >= 3, trusting_dovecot.log.read_text()[-3000:]
    # Each login named the client (sent with ID, pipelined with the login), ready or new.
    assert all(f"rip={CLIENT_SOURCE}," in line for line in logins), logins


def test_a_ready_connection_cut_by_the_network_falls_back_to_a_new_one(mailgate_factory, tmp_path, imap_pki,
                                                                        forwarder, migrated_database):
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, forwarder.port, migrated_database, pool=1)
    wait_until(lambda: gateway.login() == "ready", timeout=20, what="a login on a ready connection")
    wait_until(lambda: any(pair.greeted for pair in forwarder.open_connections()), timeout=10,
               what="a ready connection")
    time.sleep(0.2)  # for mailgate to read the greeting
    forwarder.cut()
    assert gateway.login() == "new"
    assert any(pair.bytes_after_cut > 0 for pair in forwarder.connections()), "no login tried the cut connection"
    assert not [line for line in gateway.logins() if "result=ok" not in line]


def test_upstream_pool_zero_dials_for_every_login(mailgate_factory, tmp_path, imap_pki, forwarder, migrated_database):
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, forwarder.port, migrated_database, pool=0)
    assert [gateway.login() for _ in range(3)] == ["new", "new", "new"]
    time.sleep(0.5)
    assert len(forwarder.connections()) == 3


def test_reload_and_drain_close_ready_connections(mailgate_factory, tmp_path, imap_pki, forwarder, migrated_database):
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, forwarder.port, migrated_database, pool=2)
    wait_until(lambda: gateway.login() == "ready", timeout=20, what="a login on a ready connection")
    ready = wait_until(lambda: len(forwarder.open_connections()) >= 2 and forwarder.open_connections(),
                       timeout=10, what="two ready connections")
    gateway.server.signal(signal.SIGHUP)
    gateway.server.wait_log("msg=reloaded")
    wait_until(lambda: all(pair.client_closed for pair in ready), timeout=10, what="mailgate to close them")
    # The pool refills at the next login.
    assert gateway.login() == "new"
    wait_until(lambda: len(forwarder.open_connections()) >= 2, timeout=10, what="the pool to refill")
    gateway.server.signal(signal.SIGTERM)
    assert gateway.server.proc.wait(timeout=15) == 0
    wait_until(lambda: all(pair.client_closed for pair in forwarder.connections()), timeout=10,
               what="every upstream connection closed")


def test_a_wrong_gateway_password_never_reaches_the_upstream(mailgate_factory, tmp_path, imap_pki, forwarder,
                                                              migrated_database):
    gateway = Gateway(mailgate_factory, tmp_path, imap_pki, forwarder.port, migrated_database)
    for _ in range(2):
        client = SourceClient("127.0.0.1", gateway.ports[3], ssl_context=gateway.context, timeout=30)
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login("alice", "not-the-gateway-password")
        client.logout()
    refused = wait_until(lambda: len(gateway.logins()) >= 2 and gateway.logins(), timeout=10, what="two audit lines")
    assert all("result=failed" in line and "bad credentials" in line for line in refused), refused
    time.sleep(0.5)
    assert forwarder.connections() == [], "a refused gateway login opened an upstream connection"
    # The forwarder is on the upstream's path: the right password goes through it.
    assert gateway.login() == "new"
    assert len(forwarder.connections()) >= 1
