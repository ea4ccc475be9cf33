"""serve's lifecycle and housekeeping with the built binary: SIGTERM during a
submission load (every session completed or refused cleanly, every 250 in the
queue, exit 0 within the drain deadline, no relay lease left behind); SIGHUP
logging what changed; the retention purge on back-dated rows (CLI and serve);
[server] user (run as root: the process ends up as that user)."""
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import basic_config, free_port, free_ports, pki_dir, psql, run, wait_for_port, wait_until

HASH = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."


def config(ports, upstream_port, extra="", account_extra=""):
    return basic_config(ports, extra=f"""
[[account]]
name = "relay"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{upstream_port}"
max_connections = 4
{account_extra}

[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = ["relay"]
{extra}
""")


@pytest.fixture
def slow_sink():
    """smtp-sink answering DATA after one second, so relay leases are held at any moment."""
    port = free_port()
    dumps = Path(tempfile.mkdtemp(prefix="mailgate-sink-"))
    dumps.chmod(0o755)
    shutil.chown(dumps, "postfix")
    proc = subprocess.Popen(["smtp-sink", "-u", "postfix", "-w", "1", "-d", f"{dumps}/%H%M%S.", f"127.0.0.1:{port}",
                             "64"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(dumps, ignore_errors=True)


def sender(port, stop, accepted, problems):
    """Sends messages in a loop on one session (reconnecting after a clean end) until refused."""
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    while not stop.is_set():
        try:
            client = smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=30)
        except (ConnectionRefusedError, ConnectionResetError):
            return  # the listener is closed: refused cleanly
        try:
            client.login("app", "secret")
            for n in range(5):
                client.mail("app@example.test")
                client.rcpt("load@example.org")
                code, reply = client.data(f"From: app@example.test\r\nSubject: load {n}\r\n\r\nbody\r\n")
                if code == 250:
                    accepted.append(reply.decode().rsplit(" ", 1)[-1])
                elif code != 421:
                    problems.append(f"DATA answered {code} {reply!r}")
            client.quit()
        except smtplib.SMTPServerDisconnected:
            return
        except smtplib.SMTPResponseException as refusal:
            if refusal.smtp_code != 421:
                problems.append(f"refused with {refusal.smtp_code} {refusal.smtp_error!r}")
            return
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as error:
            problems.append(f"session broken: {error!r}")
            return


def test_sigterm_under_load_loses_nothing_and_releases_leases(mailgate_factory, migrated_database, slow_sink):
    ports = free_ports(4)
    server = mailgate_factory(config(ports, slow_sink).replace('drain_timeout = "5s"', 'drain_timeout = "4s"'),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    stop, accepted, problems = threading.Event(), [], []
    threads = [threading.Thread(target=sender, args=(ports[1], stop, accepted, problems)) for _ in range(6)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(accepted) >= 20, what="load under way")
    wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_sends WHERE status = 'sending'"),
               what="relay leases held")
    signalled = time.monotonic()
    server.signal(15)
    code = server.proc.wait(timeout=15)
    took = time.monotonic() - signalled
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    print(f"accepted={len(accepted)} exit={code} after {took:.2f}s")
    assert code == 0
    assert took < 4 + 5 + 1  # drain deadline, lease release allowance, slack
    assert problems == []
    queued = {row[0] for row in psql(migrated_database, "SELECT id FROM email_queue")}
    assert set(accepted) <= queued and len(accepted) == len(set(accepted))
    assert psql(migrated_database, "SELECT count(*) FROM email_sends WHERE status = 'sending'") == [["0"]]
    log = server.log.read_text()
    assert "msg=draining" in log and "msg=\"leases released\"" in log


def test_sighup_logs_what_changed(mailgate_factory, migrated_database):
    ports = free_ports(4)
    upstream = free_port()
    server = mailgate_factory(config(ports, upstream, account_extra="limits = { per_hour = 300 }"),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    server.config.write_text(config(ports, upstream, account_extra="limits = { per_hour = 500, per_day = 9000 }") + f"""
[[account]]
name = "extra"
address = "extra@example.test"
smtp = "smtp+plain://127.0.0.1:{upstream}"
""")
    server.signal(1)
    log = server.wait_log("msg=reloaded")
    assert "account relay changed: per_hour 300 -> 500, per_day none -> 9000" in log
    assert "account extra added" in log
    server.signal(1)
    assert "msg=\"config unchanged\"" in server.wait_log("config unchanged")


def backdate(url):
    """Rows older than a day (and fresh ones beside them): events, a finished and an unfinished
    message, a thread with one message and an attachment only it links. Every event type is
    subscribed by a webhook, so the outbox has old rows too."""
    psql(url, """
        INSERT INTO webhook_subscriptions (event)
        SELECT unnest(ARRAY['queued', 'sent', 'deferred', 'failed', 'bounced_hard', 'bounced_soft', 'delayed',
                            'delivered', 'complained', 'unsubscribed', 'suppressed', 'received']);
        INSERT INTO email_queue (id, submitted_by, client_address, mail_from, size, message, priority, created_at)
        VALUES ('OLDDONE0000000001', 'app', '127.0.0.1', 'a@example.test', 1, '\\x41', 2, now() - interval '3 days'),
               ('OLDWAIT0000000001', 'app', '127.0.0.1', 'a@example.test', 1, '\\x41', 2, now() - interval '3 days'),
               ('NEWDONE0000000001', 'app', '127.0.0.1', 'a@example.test', 1, '\\x41', 2, now());
        INSERT INTO email_sends (queue_id, recipient, priority, status) VALUES
            ('OLDDONE0000000001', 'x@example.org', 2, 'sent'), ('OLDDONE0000000001', 'y@example.org', 2, 'failed'),
            ('OLDWAIT0000000001', 'x@example.org', 2, 'deferred'), ('NEWDONE0000000001', 'x@example.org', 2, 'sent');
        INSERT INTO email_events (event, recipient, created_at)
        SELECT 'sent', 'e' || n || '@example.org', now() - interval '2 days' FROM generate_series(1, 7) AS n;
        INSERT INTO email_events (event, recipient) VALUES ('sent', 'fresh@example.org');
        INSERT INTO email_threads (id, subject_normalised, first_message_at, last_message_at, message_count)
        VALUES (900, 'old', now() - interval '5 days', now() - interval '5 days', 1),
               (901, 'new', now(), now(), 1);
        INSERT INTO email_messages (thread_id, account, direction, raw, headers, body_sha256, size, received_at,
                                    message_id)
        VALUES (900, 'relay', 'inbound', '\\x4142', '[]', 'x', 2, now() - interval '5 days', 'old@x'),
               (901, 'relay', 'inbound', '\\x4142', '[]', 'x', 2, now() - interval '5 days', 'rawold@x'),
               (901, 'relay', 'inbound', '\\x4142', '[]', 'x', 2, now(), 'new@x');
        INSERT INTO email_attachments (sha256, content, size, content_type, created_at)
        VALUES (repeat('a', 64), '\\x00', 1, 'text/plain', now() - interval '5 days');
        INSERT INTO email_message_attachments (message_id, position, sha256, content_type)
        SELECT id, 0, repeat('a', 64), 'text/plain' FROM email_messages WHERE message_id = 'old@x';
    """)


RETENTION = '\n[retention]\nraw_messages = "1d"\nevents = "1d"\nthreads = "1d"\nsent_queue = "1d"\nbatch_size = 2\n'


def survivors(url):
    return {
        "old events": psql(url, "SELECT count(*) FROM email_events WHERE created_at < now() - interval '1 day'")[0][0],
        "old webhook events": psql(url, "SELECT count(*) FROM webhook_events WHERE created_at < now() - interval '1 day'")[0][0],
        "queue": sorted(row[0] for row in psql(url, "SELECT id FROM email_queue")),
        "threads": sorted(row[0] for row in psql(url, "SELECT id FROM email_threads")),
        "raw": sorted(row[0] for row in psql(url, "SELECT message_id || ':' || octet_length(raw) FROM email_messages")),
        "attachments": psql(url, "SELECT count(*) FROM email_attachments")[0][0],
    }


EXPECTED = {"old events": "0", "old webhook events": "0", "queue": ["NEWDONE0000000001", "OLDWAIT0000000001"], "threads": ["901"],
            "raw": ["new@x:2", "rawold@x:0"], "attachments": "0"}


def test_purge_dry_run_counts_and_purge_deletes_in_batches(tmp_path, migrated_database):
    backdate(migrated_database)
    path = tmp_path / "mailgate.toml"
    path.write_text(config(free_ports(4), free_port(), extra=RETENTION))
    env = dict(os.environ, MAILGATE_DATABASE_URL=migrated_database)
    dry = run("purge", "--dry-run", "--config", str(path), env=env)
    assert dry.returncode == 0, dry.stderr
    due = {line.split()[0]: int(line.split()[1]) for line in dry.stdout.splitlines()}
    # webhook_events: the outbox rows of the 7 old events and of 2 old inbound messages.
    assert due == {"events": 7, "webhook_events": 9, "sent_queue": 1, "raw_messages": 2, "thread_messages": 1, "threads": 1,
                   "attachments": 0}
    assert survivors(migrated_database)["old events"] == "7"  # nothing deleted by a dry run
    purged = run("purge", "--config", str(path), env=env)
    assert purged.returncode == 0, purged.stderr
    counts = {line.split()[0]: int(line.split()[1]) for line in purged.stdout.splitlines()}
    assert counts == {"events": 7, "webhook_events": 9, "sent_queue": 1, "raw_messages": 2, "thread_messages": 1, "threads": 1,
                      "attachments": 1}
    assert survivors(migrated_database) == EXPECTED


def test_serve_purges_on_its_interval(mailgate_factory, migrated_database):
    backdate(migrated_database)
    ports = free_ports(4)
    server = mailgate_factory(config(ports, free_port(), extra=RETENTION + 'interval = "1s"\n'),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    server.wait_log("msg=purged", timeout=20)
    assert survivors(migrated_database) == EXPECTED


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_server_user_binds_then_runs_as_that_user(mailgate_factory, migrated_database):
    ports = free_ports(4)
    text = config(ports, free_port()).replace('drain_timeout = "5s"', 'drain_timeout = "5s"\nuser = "nobody"')
    server = mailgate_factory(text, env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    server.wait_log("running as nobody")
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    ids = {line.split(":")[0]: line.split()[1:] for line in status.splitlines() if line.startswith(("Uid", "Gid"))}
    assert ids["Uid"] == ["65534"] * 4 and ids["Gid"] == ["65534"] * 4
    # Still serving after the drop.
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=5) as conn:
        assert conn.recv(100).startswith(b"220 ")
    assert server.stop() == 0
