"""The IMAP proxy against a real private Dovecot upstream.

Dovecot listens on 127.0.0.2 (imap with STARTTLS and imaps, ssl=required, a
certificate from the test CA); mailgate serves IMAP on 127.0.0.1 and logs in
upstream with the account's credentials. Clients are Python's imaplib (or a raw
TLS socket where imaplib hides the bytes)."""
import imaplib
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from conftest import UPSTREAM_PASSWORD, basic_config, free_ports, write_secret

GATEWAY_PASSWORD = "gateway-pass-1"


def password_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", "-salt", "mailgatetest", password],
                          check=True, capture_output=True, text=True).stdout.strip()


class Proxy:
    """mailgate serve with two gateway users: alice -> sales (imaps upstream),
    bob -> support (imap upstream with STARTTLS)."""

    def __init__(self, factory, tmp_path, pki, dovecot, database_url, sales_ca=None,
                 sales_password=UPSTREAM_PASSWORD):
        self.ports = free_ports(4)
        self.imap_port, self.imaps_port = self.ports[2], self.ports[3]
        secret = tmp_path / "upstream.secret"
        write_secret(secret, sales_password + "\n")
        good_secret = tmp_path / "upstream-good.secret"
        write_secret(good_secret, UPSTREAM_PASSWORD + "\n")
        gateway_hash = password_hash(GATEWAY_PASSWORD)
        extra = f"""
[[account]]
name = "sales"
address = "sales@example.test"
smtp = "smtp+plain://127.0.0.1:2525"
imap = "imaps://127.0.0.2:{dovecot.imaps_port}"
password_file = "{secret}"
ca_file = "{sales_ca or pki / 'ca.crt'}"
sync_folders = []

[[account]]
name = "support"
address = "support@example.test"
smtp = "smtp+plain://127.0.0.1:2525"
imap = "imap://127.0.0.2:{dovecot.imap_port}"
password_file = "{good_secret}"
ca_file = "{pki / 'ca.crt'}"
sync_folders = []

[[user]]
name = "alice"
password_hash = "{gateway_hash}"
send_as = ["sales@example.test"]
accounts = ["sales"]
imap_account = "sales"

[[user]]
name = "bob"
password_hash = "{gateway_hash}"
send_as = ["support@example.test"]
accounts = ["support"]
imap_account = "support"
"""
        self.server = factory(basic_config(self.ports, extra=extra, tls_dir=pki),
                              env={"MAILGATE_DATABASE_URL": database_url}).start(wait_ports=self.ports[2:])
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.check_hostname = False  # the client dials 127.0.0.1 by IP; the chain is still verified

    def starttls_client(self):
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        client.starttls(ssl_context=self.context)
        return client

    def tls_client(self):
        return imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=self.context, timeout=30)

    def raw_tls(self):
        raw = socket.create_connection(("127.0.0.1", self.imaps_port), timeout=30)
        return self.context.wrap_socket(raw)

    def pid(self):
        return self.server.proc.pid

    def log(self):
        return self.server.log.read_text()


@pytest.fixture
def proxy(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database):
    return Proxy(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database)


def read_until(sock, pattern, limit=1 << 20):
    """Reads until `pattern` (a line-sized regex) matches; only the tail is rescanned."""
    data = bytearray()
    scanned = 0
    while not re.search(pattern, data[scanned:]):
        scanned = max(0, len(data) - 4096)
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        assert len(data) < limit
    return bytes(data)


def message_of(size, marker):
    """A message of about `size` bytes with CRLF lines; its body is numbered lines."""
    head = (f"From: sales@example.test\r\nTo: someone@example.test\r\nSubject: {marker}\r\n"
            f"Message-ID: <{marker}@example.test>\r\n\r\n").encode()
    lines = []
    total = len(head)
    n = 0
    while total < size:
        line = f"{marker} line {n:09d} " + "x" * 60 + "\r\n"
        lines.append(line)
        total += len(line)
        n += 1
    return head + "".join(lines).encode()


def fetch_by_message_id(client, marker):
    status, data = client.search(None, "HEADER", "Message-ID", f"<{marker}@example.test>")
    assert status == "OK"
    numbers = data[0].split()
    assert len(numbers) == 1
    status, data = client.fetch(numbers[0], "(BODY.PEEK[])")
    assert status == "OK"
    return data[0][1]


def idle_briefly(client):
    """IDLE, then DONE (imaplib on Python 3.11 has no idle())."""
    tag = client._new_tag()
    client.send(tag + b" IDLE\r\n")
    assert client.readline().startswith(b"+")
    time.sleep(0.5)
    client.send(b"DONE\r\n")
    while True:
        line = client.readline()
        assert line, "connection closed during IDLE"
        if line.startswith(tag):
            assert line.split()[1] == b"OK", line
            return


@pytest.mark.parametrize("listener,user", [("starttls", "alice"), ("implicit", "bob")])
def test_session_through_the_proxy(proxy, listener, user):
    client = proxy.starttls_client() if listener == "starttls" else proxy.tls_client()
    status, _ = client.login(user, GATEWAY_PASSWORD)
    assert status == "OK"
    assert client.select("INBOX")[0] == "OK"

    marker = f"big-{listener}-{os.urandom(4).hex()}"
    message = message_of(10 * 1024 * 1024, marker)
    status, _ = client.append("INBOX", None, None, message)
    assert status == "OK"
    assert fetch_by_message_id(client, marker) == message

    idle_briefly(client)
    assert client.noop()[0] == "OK"
    assert client.logout()[0] == "BYE"

    log = proxy.server.wait_log("msg=\"session ended\"")
    account = "sales" if user == "alice" else "support"
    login = [line for line in log.splitlines() if "msg=login" in line and "result=ok" in line]
    assert len(login) == 1
    assert f"user={user}" in login[0] and f"account={account}" in login[0] and "client=127.0.0.1" in login[0]
    ended = next(line for line in log.splitlines() if "session ended" in line)
    from_client = int(re.search(r"bytes_from_client=(\d+)", ended).group(1))
    to_client = int(re.search(r"bytes_to_client=(\d+)", ended).group(1))
    assert from_client > len(message) and to_client > len(message)


def test_wrong_gateway_password_is_refused(proxy):
    client = proxy.tls_client()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("alice", "not-the-password")
    log = proxy.server.wait_log("result=failed")
    assert "reason=\"bad credentials\"" in log and "user=alice" in log
    client.logout()


def test_unknown_user_is_refused_like_a_wrong_password(proxy):
    client = proxy.tls_client()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("mallory", GATEWAY_PASSWORD)
    client.logout()


def test_login_before_starttls_is_refused(proxy):
    client = imaplib.IMAP4("127.0.0.1", proxy.imap_port, timeout=30)
    assert "LOGINDISABLED" in client.capabilities and "STARTTLS" in client.capabilities
    client._cmd_log_len = 0
    # imaplib refuses to send LOGIN when LOGINDISABLED is advertised: send it raw.
    tag = client._new_tag()
    client.send(tag + b" LOGIN alice " + GATEWAY_PASSWORD.encode() + b"\r\n")
    reply = client.readline()
    assert reply.startswith(tag + b" NO [PRIVACYREQUIRED]"), reply
    assert client.logout()[0] == "BYE"


def test_client_never_sees_upstream_credentials_or_mechanisms(proxy):
    sock = proxy.raw_tls()
    greeting = read_until(sock, rb"\* OK .*\r\n")
    sock.sendall(b"a LOGIN alice " + GATEWAY_PASSWORD.encode() + b"\r\n")
    seen = read_until(sock, rb"a (OK|NO|BAD).*\r\n")
    assert re.search(rb"a OK \[CAPABILITY [^\]]*IMAP4rev1", seen, re.I), seen
    sock.sendall(b"b CAPABILITY\r\nc ID NIL\r\nd LOGOUT\r\n")
    seen += read_until(sock, rb"d OK.*\r\n")
    sock.close()
    # After login the client sees the upstream's capabilities, never how mailgate logged in there.
    capabilities = re.findall(rb"CAPABILITY ([^\]\r\n]*)", seen)
    assert len(capabilities) == 2
    for line in capabilities:
        assert b"AUTH=" not in line.upper() and b"STARTTLS" not in line.upper()
    assert UPSTREAM_PASSWORD.encode() not in greeting + seen
    assert b"sales@example.test" not in seen
    assert UPSTREAM_PASSWORD not in proxy.log()


def test_commands_pipelined_behind_login_reach_the_upstream(proxy):
    sock = proxy.raw_tls()
    read_until(sock, rb"\* OK .*\r\n")
    sock.sendall(b"a LOGIN alice " + GATEWAY_PASSWORD.encode() + b"\r\nb SELECT INBOX\r\nc LOGOUT\r\n")
    seen = read_until(sock, rb"c OK.*\r\n")
    sock.close()
    assert re.search(rb"^a OK ", seen, re.M)
    assert re.search(rb"^b OK \[READ-WRITE\]", seen, re.M)
    assert re.search(rb"^c OK", seen, re.M)


def test_upstream_refusing_the_account_gives_unavailable(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database):
    proxy = Proxy(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database, sales_password="wrong-upstream-password")
    client = proxy.tls_client()
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login("alice", GATEWAY_PASSWORD)
    log = proxy.server.wait_log("result=unavailable")
    assert "account credentials rejected" in log and "account=sales" in log
    assert "wrong-upstream-password" not in log
    client.logout()


def test_upstream_certificate_is_verified(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database):
    proxy = Proxy(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database, sales_ca=imap_pki / "other-ca.crt")
    client = proxy.tls_client()
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login("alice", GATEWAY_PASSWORD)
    log = proxy.server.wait_log("result=unavailable")
    assert "TLS failed" in log
    client.logout()


def test_drain_says_bye_before_login(proxy):
    sock = proxy.raw_tls()
    read_until(sock, rb"\* OK .*\r\n")
    proxy.server.signal(signal.SIGTERM)
    assert b"* BYE" in read_until(sock, rb"\* BYE.*\r\n")
    sock.close()
    assert proxy.server.proc.wait(timeout=15) == 0


def vm_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_slow_reader_keeps_memory_bounded(proxy, imap_pki, dovecot):
    # The big message goes straight into Dovecot; only the FETCH crosses the proxy.
    marker = f"huge-{os.urandom(4).hex()}"
    message = message_of(32 * 1024 * 1024, marker)
    direct = imaplib.IMAP4_SSL("127.0.0.2", dovecot.imaps_port,
                               ssl_context=ssl.create_default_context(cafile=str(imap_pki / "ca.crt")))
    direct.login("sales@example.test", UPSTREAM_PASSWORD)
    assert direct.append("INBOX", None, None, message)[0] == "OK"
    direct.logout()

    sock = proxy.raw_tls()
    read_until(sock, rb"\* OK .*\r\n")
    sock.sendall(b"a LOGIN alice " + GATEWAY_PASSWORD.encode() + b"\r\nb SELECT INBOX\r\n")
    read_until(sock, rb"b OK.*\r\n")
    sock.sendall(f'c SEARCH HEADER Message-ID "<{marker}@example.test>"\r\n'.encode())
    number = re.search(rb"\* SEARCH (\d+)", read_until(sock, rb"c OK.*\r\n")).group(1)
    before = vm_rss_kib(proxy.pid())
    sock.sendall(b"d FETCH " + number + b" BODY.PEEK[]\r\n")
    # Read nothing for a while: without backpressure mailgate would take the whole message in.
    time.sleep(3)
    held = vm_rss_kib(proxy.pid())
    data = read_until(sock, rb"d OK.*\r\n", limit=64 << 20)
    sock.close()
    assert message in data
    growth_mib = (held - before) / 1024
    print(f"RSS before {before} KiB, while the client stalls {held} KiB, growth {growth_mib:.1f} MiB")
    assert growth_mib < 16


def direct_client(imap_pki, dovecot):
    client = imaplib.IMAP4_SSL("127.0.0.2", dovecot.imaps_port,
                               ssl_context=ssl.create_default_context(cafile=str(imap_pki / "ca.crt")))
    client.login("sales@example.test", UPSTREAM_PASSWORD)
    client.select("INBOX")
    return client


def test_client_end_of_input_still_delivers_what_it_sent(proxy, imap_pki, dovecot):
    marker = f"halfclose-{os.urandom(4).hex()}"
    message = message_of(256 * 1024, marker)
    sock = proxy.raw_tls()
    read_until(sock, rb"\* OK .*\r\n")
    sock.sendall(b"a LOGIN alice " + GATEWAY_PASSWORD.encode() + b"\r\n")
    read_until(sock, rb"a OK.*\r\n")
    # A LITERAL+ append, then end of input at once: the proxy must still hand it all upstream.
    sock.sendall(b"b APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
    sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + 15
    stored = None
    while time.monotonic() < deadline:
        direct = direct_client(imap_pki, dovecot)
        status, data = direct.search(None, "HEADER", "Message-ID", f"<{marker}@example.test>")
        if data[0]:
            stored = direct.fetch(data[0].split()[0], "(BODY.PEEK[])")[1][0][1]
        direct.logout()
        if stored:
            break
        time.sleep(0.2)
    sock.close()
    assert stored == message
    proxy.server.wait_log("reason=\"client closed\"")


def test_drain_lets_a_relayed_session_run_until_the_deadline(proxy):
    client = proxy.tls_client()
    client.login("alice", GATEWAY_PASSWORD)
    client.select("INBOX")
    proxy.server.signal(signal.SIGTERM)
    proxy.server.wait_log("msg=draining")
    # The relay keeps working while the drain waits (a BYE could cut an upstream literal in two).
    assert client.noop()[0] == "OK"
    assert proxy.server.proc.wait(timeout=20) == 0
    log = proxy.log()
    assert "drain deadline passed" in log
    assert "reason=\"server shutting down\"" in log and "session ended" in log


def test_connections_per_address_are_capped(proxy):
    held = []
    try:
        for _ in range(64):
            sock = socket.create_connection(("127.0.0.1", proxy.imap_port), timeout=10)
            held.append(sock)
            assert read_until(sock, rb"\r\n").startswith(b"* OK")
        with socket.create_connection(("127.0.0.1", proxy.imap_port), timeout=10) as extra:
            assert read_until(extra, rb"\r\n").startswith(b"* BYE Too many connections")
        # Once one closes, its slot is free again (as soon as mailgate has seen the close).
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:
            with socket.create_connection(("127.0.0.1", proxy.imap_port), timeout=10) as again:
                if read_until(again, rb"\r\n").startswith(b"* OK"):
                    break
            assert time.monotonic() < deadline, "the closed connection's slot was never freed"
            time.sleep(0.05)
    finally:
        for sock in held:
            sock.close()


def test_authenticate_plain_with_initial_response(proxy):
    client = proxy.tls_client()
    assert "SASL-IR" in client.capabilities and "AUTH=PLAIN" in client.capabilities
    status, _ = client.authenticate("PLAIN", lambda _: f"\0bob\0{GATEWAY_PASSWORD}".encode())
    assert status == "OK"
    assert client.select("INBOX")[0] == "OK"
    client.logout()
    log = proxy.server.wait_log("result=ok")
    assert "mechanism=\"AUTHENTICATE PLAIN\"" in log and "account=support" in log


def test_reload_moves_a_user_to_another_account(proxy):
    config = proxy.server.config.read_text()
    moved = config.replace('imap_account = "sales"', 'imap_account = "support"')
    assert moved != config
    proxy.server.config.write_text(moved)
    proxy.server.signal(signal.SIGHUP)
    proxy.server.wait_log("msg=reloaded")
    client = proxy.tls_client()
    assert client.login("alice", GATEWAY_PASSWORD)[0] == "OK"
    client.logout()
    log = proxy.server.wait_log("result=ok")
    login = next(line for line in log.splitlines() if "msg=login" in line and "result=ok" in line)
    assert "user=alice" in login and "account=support" in login


def test_commands_pipelined_behind_starttls_are_discarded(proxy):
    raw = socket.create_connection(("127.0.0.1", proxy.imap_port), timeout=30)
    read_until(raw, rb"\* OK .*\r\n")
    # CVE-2011-0411: the LOGIN rides in plaintext behind STARTTLS and must never run.
    raw.sendall(b"a STARTTLS\r\nb LOGIN alice " + GATEWAY_PASSWORD.encode() + b"\r\n")
    assert read_until(raw, rb"a OK.*\r\n").startswith(b"a OK")
    sock = proxy.context.wrap_socket(raw)
    sock.sendall(b"c NOOP\r\n")
    seen = read_until(sock, rb"c OK.*\r\n")
    sock.close()
    assert not re.search(rb"^b ", seen, re.M)
    assert "result=ok" not in proxy.log()


class Transcript:
    """A raw IMAP session over implicit TLS that returns each command's whole response
    as bytes: every untagged line and literal, then the tagged line."""

    def __init__(self, sock, user, password):
        self.sock = sock
        self.buffer = b""
        self.line()  # the greeting
        self.command(b"L", b"LOGIN " + user.encode() + b" " + password.encode())

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line + b"\r\n"

    def exactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def command(self, tag, text):
        self.sock.sendall(tag + b" " + text + b"\r\n")
        response = b""
        while True:
            line = self.line()
            response += line
            literal = re.search(rb"\{(\d+)\}\r\n$", line)
            if literal:
                response += self.exactly(int(literal.group(1)))
            elif line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                return response


def without_timings(response):
    """Dovecot ends tagged replies with how long the command took: '(0.001 + 0.000 secs).'"""
    return re.sub(rb" \(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)\.", b".", response)


def test_responses_through_the_proxy_are_byte_identical_to_direct(proxy, imap_pki, dovecot):
    # A folder of its own, filled and selected once beforehand, so that neither transcript
    # is the first to see its messages (\Recent) and nothing changes between the two.
    folder = f"Transcript{os.urandom(4).hex()}"
    direct = direct_client(imap_pki, dovecot)
    assert direct.create(folder)[0] == "OK"
    messages = [message_of(size, f"{folder}-{n}") for n, size in enumerate((3_000, 70_000, 400_000))]
    for message in messages:
        assert direct.append(folder, None, None, message)[0] == "OK"
    assert direct.select(folder)[0] == "OK"
    direct.logout()

    script = [
        (b"a", b'LIST "" "*"'),
        (b"b", b"SELECT " + folder.encode()),
        (b"c", b"UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])"),
        (b"d", b"UID FETCH 1:* (BODY.PEEK[])"),
        (b"e", b"UID FETCH 2 (BODY.PEEK[TEXT]<1000.5000>)"),
    ]
    context = ssl.create_default_context(cafile=str(imap_pki / "ca.crt"))
    upstream = Transcript(context.wrap_socket(socket.create_connection(("127.0.0.2", dovecot.imaps_port), timeout=30),
                                              server_hostname="127.0.0.2"),
                          "sales@example.test", UPSTREAM_PASSWORD)
    proxied = Transcript(proxy.raw_tls(), "alice", GATEWAY_PASSWORD)
    responses = {}
    for tag, text in script:
        expected = without_timings(upstream.command(tag, text))
        seen = without_timings(proxied.command(tag, text))
        assert seen == expected, f"{text!r}: {len(seen)} bytes through the proxy, {len(expected)} direct"
        responses[tag] = seen
    assert f'"." {folder}\r\n'.encode() in responses[b"a"] and b"* 3 EXISTS\r\n" in responses[b"b"]
    assert all(message in responses[b"d"] for message in messages)


def wait_for_line(client, pattern, timeout):
    """Lines from an imaplib connection until one matches `pattern` (bytes regex) or `timeout` passes."""
    client.sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = client.readline()
        assert line, "connection closed"
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} within {timeout} s")


def test_idle_through_the_proxy_sees_a_message_another_connection_appends(proxy, imap_pki, dovecot):
    client = proxy.tls_client()
    assert client.login("alice", GATEWAY_PASSWORD)[0] == "OK"
    status, data = client.select("INBOX")
    assert status == "OK"
    count = int(data[0])
    tag = client._new_tag()
    client.send(tag + b" IDLE\r\n")
    wait_for_line(client, rb"^\+ ", 10)

    other = direct_client(imap_pki, dovecot)
    assert other.append("INBOX", None, None, message_of(2000, f"idle-{os.urandom(4).hex()}"))[0] == "OK"
    other.logout()

    exists = wait_for_line(client, rb"^\* \d+ EXISTS", 10)
    assert int(exists.split()[1]) > count
    client.send(b"DONE\r\n")
    wait_for_line(client, rb"^" + tag + rb" OK", 10)
    assert client.logout()[0] == "BYE"


def test_two_gateway_users_see_only_their_own_accounts_mail(proxy):
    markers = {}
    clients = {}
    for user in ("alice", "bob"):
        clients[user] = proxy.tls_client()
        assert clients[user].login(user, GATEWAY_PASSWORD)[0] == "OK"
        markers[user] = f"own-{user}-{os.urandom(4).hex()}"
        assert clients[user].append("INBOX", None, None, message_of(1000, markers[user]))[0] == "OK"
    for user, other in (("alice", "bob"), ("bob", "alice")):
        client = clients[user]
        assert client.select("INBOX")[0] == "OK"
        for marker, found in ((markers[user], True), (markers[other], False)):
            status, data = client.search(None, "HEADER", "Message-ID", f"<{marker}@example.test>")
            assert status == "OK"
            assert bool(data[0]) == found, f"{user} searching for {marker}"
        client.logout()
