"""SMTP submission through the built binary with real clients (swaks, msmtp,
openssl s_client, Python's smtplib) and a real PostgreSQL: every 250 after DATA
is a committed row, every refusal a clear reply."""
import concurrent.futures
import os
import re
import socket
import ssl
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from conftest import basic_config, free_ports, pki_dir, psql, psql_bytes, run

PASSWORD = "secret"  # the [[user]] "dev" hash in basic_config


def tls_context():
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    return context


@pytest.fixture
def gateway(mailgate_factory, database):
    """A migrated database and a serving mailgate; yields (server, ports, url)."""
    ports = free_ports(4)
    extra = """
[[user]]
name = "app"
password_hash = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."
send_as = ["app@example.test"]
accounts = ["sink"]
priority = "low"
max_priority = "high"
"""
    env = {"MAILGATE_DATABASE_URL": database}
    server = mailgate_factory(basic_config(ports, extra=extra), env=env)
    migrated = run("migrate", "--config", str(server.config), env=dict(os.environ, **env))
    assert migrated.returncode == 0, migrated.stderr
    server.start(wait_ports=ports[:2])
    yield server, ports, database


def queued_id(reply_text):
    match = re.search(r"queued as ([0-9A-Z]{17})", reply_text)
    assert match, reply_text
    return match.group(1)


def test_swaks_starttls_auth_plain_commits_before_250(gateway):
    server, ports, url = gateway
    result = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{ports[0]}", "--tls", "--tls-ca-path", str(pki_dir() / "ca.crt"),
         "--auth", "PLAIN", "--auth-user", "dev", "--auth-password", PASSWORD,
         "--from", "alice@example.test", "--to", "bob@example.org,carol@example.org",
         "--add-header", "X-Mailgate-Priority: bulk", "--body", "hello from swaks"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    queue_id = queued_id(result.stdout)
    rows = psql(url, f"SELECT mail_from, submitted_by, priority FROM email_queue WHERE id = '{queue_id}'")
    assert rows == [["alice@example.test", "dev", "4"]]  # bulk ranks last
    message = psql_bytes(url, f"SELECT message FROM email_queue WHERE id = '{queue_id}'").decode()
    assert message.startswith("Received: from ")
    assert "with ESMTPSA" in message and f"id {queue_id}" in message
    assert "X-Mailgate-Priority" not in message and "hello from swaks" in message
    # The relay may already be at work on them: the rows exist, whatever their status now.
    recipients = psql(url, f"SELECT recipient FROM email_sends WHERE queue_id = '{queue_id}' ORDER BY recipient")
    assert recipients == [["bob@example.org"], ["carol@example.org"]]
    events = psql(url, f"SELECT count(*) FROM email_events WHERE queue_id = '{queue_id}' AND event = 'queued'")
    assert events == [["2"]]
    log = server.wait_log(f"queue_id={queue_id}")
    assert "msg=\"message accepted\"" in log and "recipients=2" in log


def test_implicit_tls_smtplib_auth_login_with_dsn_and_priority_cap(gateway):
    server, ports, url = gateway
    with smtplib.SMTP_SSL("127.0.0.1", ports[1], context=tls_context(), timeout=30) as client:
        client.ehlo("client.example.test")
        client.login("app", PASSWORD)  # smtplib picks a mechanism; both are offered
        code, _ = client.docmd("MAIL FROM:<app@example.test> RET=HDRS ENVID=order+2D42 MT-PRIORITY=6")
        assert code == 250
        code, _ = client.docmd("RCPT TO:<x@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;x+40example.org")
        assert code == 250
        code, _ = client.docmd("DATA")
        assert code == 354
        client.send(b"From: app@example.test\r\nSubject: dsn\r\n\r\nbody\r\n.\r\n")
        code, reply = client.getreply()
        assert code == 250, reply
    queue_id = queued_id(reply.decode())
    rows = psql(url, f"SELECT q.ret, q.envid, q.priority, s.notify, s.orcpt FROM email_queue q "
                     f"JOIN email_sends s ON s.queue_id = q.id WHERE q.id = '{queue_id}'")
    # MT-PRIORITY 6 asks for critical; the user's max_priority caps it at high (rank 1).
    assert rows == [["HDRS", "order-42", "1", "FAILURE,DELAY", "rfc822;x@example.org"]]


def test_openssl_s_client_implicit_tls_and_starttls(gateway):
    server, ports, _ = gateway
    ca = str(pki_dir() / "ca.crt")
    implicit = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{ports[1]}", "-CAfile", ca,
                               "-verify_return_error", "-servername", "localhost", "-quiet"],
                              input="EHLO s-client.test\r\nQUIT\r\n", capture_output=True, text=True, timeout=30)
    assert "220 mail.example.test ESMTP" in implicit.stdout, implicit.stderr
    assert "250-AUTH PLAIN LOGIN" in implicit.stdout or "250 AUTH PLAIN LOGIN" in implicit.stdout
    starttls = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{ports[0]}",
                               "-CAfile", ca, "-verify_return_error", "-quiet"],
                              input="EHLO s-client.test\r\nQUIT\r\n", capture_output=True, text=True, timeout=30)
    assert "250-AUTH PLAIN LOGIN" in starttls.stdout or "250 AUTH PLAIN LOGIN" in starttls.stdout, starttls.stderr
    # TLS 1.1 is below the floor. The client is made willing (SECLEVEL=0), so the refusal is ours.
    old = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{ports[1]}", "-tls1_1",
                          "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", ca],
                         input="", capture_output=True, text=True, timeout=30)
    assert "220 mail.example.test" not in old.stdout
    assert "protocol version" in (old.stdout + old.stderr)


def test_msmtp_submits(gateway, tmp_path):
    server, ports, url = gateway
    config = tmp_path / "msmtprc"
    config.write_text(f"""account default
host 127.0.0.1
port {ports[0]}
tls on
tls_starttls on
tls_trust_file {pki_dir() / "ca.crt"}
tls_host_override localhost
auth plain
user dev
password {PASSWORD}
from dev@example.test
""")
    os.chmod(config, 0o600)
    result = subprocess.run(["msmtp", "-C", str(config), "-t"],
                            input="From: dev@example.test\nTo: someone@example.org\nSubject: msmtp\n\nbare LF lines\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert psql(url, "SELECT count(*) FROM email_sends WHERE recipient = 'someone@example.org'") == [["1"]]


def test_refusals_before_and_after_auth(gateway):
    server, ports, url = gateway
    with smtplib.SMTP("127.0.0.1", ports[0], timeout=30) as client:
        client.ehlo("client.example.test")
        assert "auth" not in client.esmtp_features  # AUTH only after TLS
        code, reply = client.docmd("AUTH PLAIN AGRldgBzZWNyZXQ=")
        assert code == 538, reply
        code, reply = client.docmd("MAIL FROM:<dev@example.test>")
        assert (code, reply[:5]) == (530, b"5.7.0")
        client.starttls(context=tls_context())
        client.ehlo("client.example.test")
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("dev", "wrong password")
        assert refused.value.smtp_code == 535 and refused.value.smtp_error.startswith(b"5.7.8")
        client.login("dev", PASSWORD)
        code, reply = client.docmd("MAIL FROM:<mallory@elsewhere.test>")
        assert (code, reply[:5]) == (553, b"5.7.1")
        assert client.docmd("MAIL FROM:<dev@example.test>")[0] == 250
        assert client.docmd("RCPT TO:<a@example.org>")[0] == 250
        assert client.docmd("DATA")[0] == 354
        client.send(b"From: mallory@elsewhere.test\r\n\r\nforged\r\n.\r\n")
        code, reply = client.getreply()
        assert (code, reply[:5]) == (553, b"5.7.1")
    assert psql(url, "SELECT count(*) FROM email_queue") == [["0"]]
    log = server.log.read_text()
    assert "msg=refused" in log and "reply=\"553 5.7.1\"" in log


def test_commands_pipelined_after_starttls_are_discarded(gateway):
    server, ports, _ = gateway
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=10) as raw:
        stream = raw.makefile("rb")
        assert stream.readline().startswith(b"220")
        raw.sendall(b"EHLO x\r\n")
        while not stream.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<dev@example.test>\r\n")
        assert stream.readline().startswith(b"220")
        secured = tls_context().wrap_socket(raw, server_hostname="localhost")
        secured.sendall(b"NOOP\r\n")
        # The injected MAIL must not be answered: the first reply is NOOP's.
        assert secured.recv(512).startswith(b"250 2.0.0")
        secured.close()
    assert "discarded input pipelined after STARTTLS" in server.log.read_text()


def test_repeated_login_failures_are_delayed_then_disconnected(gateway):
    server, ports, _ = gateway
    with smtplib.SMTP_SSL("127.0.0.1", ports[1], context=tls_context(), timeout=60) as client:
        client.ehlo("client.example.test")
        closed = False
        for attempt in range(10):
            try:
                code, _ = client.docmd("AUTH PLAIN AGRldgB3cm9uZw==")  # dev / wrong
            except smtplib.SMTPServerDisconnected:
                closed = True
                break
            assert code in (535, 421)
            if code == 421:
                closed = True
                break
        assert closed and attempt <= 6
    assert "too many failed logins" in server.log.read_text()


def test_concurrent_sessions_all_commit(gateway):
    server, ports, url = gateway
    sessions, per_session = 12, 8

    def submit(index):
        ids = []
        with smtplib.SMTP_SSL("127.0.0.1", ports[1], context=tls_context(), timeout=60) as client:
            client.login("dev", PASSWORD)
            for n in range(per_session):
                refused = client.sendmail("dev@example.test", [f"r{index}-{n}@example.org"],
                                          f"From: dev@example.test\r\nSubject: {index}/{n}\r\n\r\nbody\r\n")
                assert refused == {}
                ids.append(n)
        return len(ids)

    with concurrent.futures.ThreadPoolExecutor(max_workers=sessions) as pool:
        sent = sum(pool.map(submit, range(sessions)))
    assert sent == sessions * per_session
    assert psql(url, "SELECT count(*) FROM email_queue") == [[str(sent)]]
    assert psql(url, "SELECT count(*) FROM email_sends") == [[str(sent)]]
    assert psql(url, "SELECT count(*) FROM email_events WHERE event = 'queued'") == [[str(sent)]]


def test_database_down_means_451_and_nothing_half_stored(gateway):
    server, ports, url = gateway
    pgdata = os.environ["MAILGATE_TEST_PGDATA"]
    script = str(Path(__file__).resolve().parents[2] / "scripts/pg.sh")
    subprocess.run(["bash", script, "stop", pgdata], check=True, capture_output=True, timeout=60)
    try:
        with smtplib.SMTP_SSL("127.0.0.1", ports[1], context=tls_context(), timeout=60) as client:
            client.login("dev", PASSWORD)
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("dev@example.test", ["down@example.org"], "From: dev@example.test\r\nSubject: down\r\n\r\nbody\r\n")
            assert refused.value.smtp_code == 451 and refused.value.smtp_error.startswith(b"4.3.0")
    finally:
        subprocess.run(["bash", script, "start", pgdata], check=True, capture_output=True, timeout=60)
    # The pool reconnects: a later message is committed (a connection that died with
    # the server may fail one more attempt first, with the same clean 451).
    accepted = None
    for _ in range(5):
        with smtplib.SMTP_SSL("127.0.0.1", ports[1], context=tls_context(), timeout=60) as client:
            client.login("dev", PASSWORD)
            try:
                client.sendmail("dev@example.test", ["up@example.org"], "From: dev@example.test\r\nSubject: up\r\n\r\nbody\r\n")
                accepted = True
                break
            except smtplib.SMTPDataError as error:
                assert error.smtp_code == 451
        time.sleep(0.5)
    assert accepted
    assert psql(url, "SELECT recipient FROM email_sends ORDER BY id") == [["up@example.org"]]
    assert "commit failed" in server.log.read_text()
