"""The IMAP sync against a real private Dovecot upstream (a fresh one per test).

mailgate logs in to the account "sales" over imaps (certificate verified with
the test CA), keeps INBOX and Archive ingested into email_messages (IDLE on
INBOX), and hands each message to the ingestion stage. Mail is put upstream
with imaplib straight into Dovecot."""
import imaplib
import os
import random
import signal
import ssl
import time
import urllib.request

import pytest

from conftest import UPSTREAM_PASSWORD, Dovecot, basic_config, free_ports, psql, wait_until, write_secret

ACCOUNT_ADDRESS = "sales@example.test"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@pytest.fixture
def upstream(imap_pki):
    server = Dovecot(imap_pki, users=(ACCOUNT_ADDRESS,))
    yield server
    server.stop()


def direct(upstream, pki):
    """imaplib logged in to Dovecot itself as the account."""
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    client = imaplib.IMAP4_SSL("127.0.0.2", upstream.imaps_port, ssl_context=context, timeout=30)
    client.login(ACCOUNT_ADDRESS, UPSTREAM_PASSWORD)
    return client


def append(client, folder, raw):
    status, _ = client.append(folder, None, None, raw.encode() if isinstance(raw, str) else raw)
    assert status == "OK"


def message(marker, subject=None):
    return (f"From: Customer <customer@example.net>\r\nTo: {ACCOUNT_ADDRESS}\r\n"
            f"Subject: {subject or marker}\r\nMessage-ID: <{marker}@example.net>\r\n"
            f"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nHello from {marker}.\r\n")


def start_node(factory, pki, upstream, database, tmp_path, password=UPSTREAM_PASSWORD, poll="300s"):
    ports = free_ports(5)
    secret = tmp_path / f"sales-{os.urandom(3).hex()}.secret"
    write_secret(secret, password + "\n")
    extra = f"""
[[account]]
name = "sales"
address = "{ACCOUNT_ADDRESS}"
smtp = "smtp+plain://127.0.0.1:2525"
imap = "imaps://127.0.0.2:{upstream.imaps_port}"
password_file = "{secret}"
ca_file = "{pki / 'ca.crt'}"
sync_folders = ["INBOX", "Archive"]
sync_poll_interval = "{poll}"

[metrics]
listen = "127.0.0.1:{ports[4]}"
"""
    node = factory(basic_config(ports, extra=extra, tls_dir=pki),
                   env={"MAILGATE_DATABASE_URL": database}).start(wait_ports=ports[:1])
    node.metrics_port = ports[4]
    return node


def metrics(node):
    with urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=10) as response:
        return response.read().decode()


def stored(db):
    return psql(db, "SELECT folder, coalesce(uid::text, '-'), message_id FROM email_messages "
                    "WHERE account = 'sales' ORDER BY folder, message_id")


def folder_state(db):
    return psql(db, "SELECT name, uidvalidity, last_uid FROM email_folders WHERE account = 'sales' ORDER BY name")


def count(db):
    return int(psql(db, "SELECT count(*) FROM email_messages WHERE account = 'sales'")[0][0])


def test_messages_are_ingested_with_folder_and_uid_and_a_restart_fetches_nothing_again(
        mailgate_factory, tmp_path, imap_pki, upstream, migrated_database):
    db = migrated_database
    client = direct(upstream, imap_pki)
    client.create("Archive")
    append(client, "INBOX", message("m1"))
    append(client, "INBOX", message("m2"))
    append(client, "Archive", message("a1"))
    node = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path)
    wait_until(lambda: count(db) == 3, timeout=30, what="the first pass")
    assert stored(db) == [["Archive", "1", "a1@example.net"], ["INBOX", "1", "m1@example.net"],
                          ["INBOX", "2", "m2@example.net"]]
    node.wait_log("idle=true", timeout=10)
    node.wait_log("batch fetched", timeout=10)

    # IDLE: a new message arrives without waiting for the (5 minute) poll.
    time.sleep(0.5)  # let IDLE start: the session must be idling for this to show it
    appended = time.monotonic()
    append(client, "INBOX", message("m3"))
    wait_until(lambda: count(db) == 4, timeout=10, what="the message appended during IDLE")
    print(f"\nAPPEND to ingested during IDLE: {time.monotonic() - appended:.3f} s")
    assert ["INBOX", "3", "m3@example.net"] in stored(db)
    assert 'mailgate_imap_sync_messages_total{account="sales"} 4' in metrics(node)
    validity = folder_state(db)[1][1]
    assert [row[0::2] for row in folder_state(db)] == [["Archive", "1"], ["INBOX", "3"]]

    # A restart resumes after last_uid: only the message that came meanwhile is fetched.
    assert node.stop() == 0
    assert "sync session stopped" in node.log.read_text()
    append(client, "INBOX", message("m4"))
    again = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path)
    wait_until(lambda: count(db) == 5, timeout=30, what="the message appended while mailgate was down")
    again.wait_log("sync session started", timeout=10)
    log = again.wait_log("folder=INBOX", timeout=10)
    batches = [line for line in log.splitlines() if "batch fetched" in line]
    assert len(batches) == 1 and "count=1" in batches[0] and "last_uid=4" in batches[0], batches
    assert psql(db, "SELECT count(*), count(DISTINCT message_id) FROM email_messages") == [["5", "5"]]
    assert folder_state(db)[1] == ["INBOX", validity, "4"]
    client.logout()


def test_a_uidvalidity_change_resyncs_without_duplicates(mailgate_factory, tmp_path, imap_pki, upstream, migrated_database):
    db = migrated_database
    client = direct(upstream, imap_pki)
    client.create("Archive")
    append(client, "Archive", message("old1"))
    append(client, "Archive", message("old2"))
    node = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path, poll="1s")
    wait_until(lambda: count(db) == 2, timeout=30, what="the first pass")
    before = folder_state(db)[0]
    assert before[0::2] == ["Archive", "2"]

    # Delete and recreate the folder: Dovecot gives it a new UIDVALIDITY and UIDs from 1.
    client.delete("Archive")
    time.sleep(1.1)  # Dovecot's UIDVALIDITY is a time in seconds
    client.create("Archive")
    append(client, "Archive", message("new1"))
    append(client, "Archive", message("old1"))
    append(client, "Archive", message("old2"))
    wait_until(lambda: count(db) == 3 and folder_state(db)[0][2] == "3", timeout=30, what="the resync")
    after = folder_state(db)[0]
    assert after[1] != before[1]
    node.wait_log("UIDVALIDITY changed", timeout=10)
    # The two known messages are stored once; their old UIDs are forgotten, the new one has its own.
    assert stored(db) == [["Archive", "1", "new1@example.net"], ["Archive", "-", "old1@example.net"],
                          ["Archive", "-", "old2@example.net"]]
    # Nothing further: another few passes fetch nothing new.
    time.sleep(2.5)
    assert count(db) == 3
    client.logout()


def queue_id():
    return "01J" + "".join(random.choice(ALPHABET) for _ in range(14))


def relayed(db, recipient, message_id):
    """A message mailgate relayed through "sales": an email_queue row and a sent email_sends row."""
    qid = queue_id()
    raw = (f"From: Sales <{ACCOUNT_ADDRESS}>\r\nTo: {recipient}\r\nSubject: Offer\r\nMessage-ID: {message_id}\r\n"
           f"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\nOur offer.\r\n")
    psql(db, f"""INSERT INTO email_queue (id, submitted_by, client_address, mail_from, message_id, size, message, priority)
                 VALUES ('{qid}', 'crm', '127.0.0.1', '{ACCOUNT_ADDRESS}', '{message_id}', {len(raw)},
                         decode('{raw.encode().hex()}', 'hex'), 2)""")
    send = psql(db, f"""INSERT INTO email_sends (queue_id, recipient, priority, status, attempts, account, sent_at)
                        VALUES ('{qid}', '{recipient}', 2, 'sent', 1, 'sales', now() - interval '10 minutes')
                        RETURNING id""")[0][0]
    return qid, send, raw


def dsn(recipient, returned_headers):
    """A hand-written RFC 3464 report: a permanent failure, user unknown."""
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: sales@example.test\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.net>\r\n"
            "Date: Mon, 2 Mar 2026 09:05:00 +0000\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n{returned_headers}\r\n--B--\r\n")


def test_a_bounce_in_the_inbox_is_recorded_against_the_send_and_suppresses(
        mailgate_factory, tmp_path, imap_pki, upstream, migrated_database):
    db = migrated_database
    qid, send, raw = relayed(db, "gone@example.org", "<offer-7@mail.example.test>")
    node = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path)
    node.wait_log("sync session started", timeout=30)
    client = direct(upstream, imap_pki)
    append(client, "INBOX", dsn("gone@example.org", raw.split("\r\n\r\n", 1)[0]))
    wait_until(lambda: psql(db, "SELECT event FROM email_events WHERE event = 'bounced_hard'"), timeout=15,
               what="the bounce event")
    assert psql(db, "SELECT event, recipient, queue_id, send_id::text, reason FROM email_events") == [
        ["bounced_hard", "gone@example.org", qid, send, "userunknown"]]
    assert psql(db, "SELECT address, source FROM email_suppressions") == [["gone@example.org", "bounce"]]
    assert psql(db, "SELECT folder, uid, report_type FROM email_messages WHERE message_id = 'dsn-1@mx.example.net'") == [
        ["INBOX", "1", "bounce"]]
    client.logout()


def test_a_wrong_upstream_password_marks_the_account_unhealthy(
        mailgate_factory, tmp_path, imap_pki, upstream, migrated_database):
    db = migrated_database
    node = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path, password="not-the-password")
    wait_until(lambda: psql(db, "SELECT health FROM email_accounts WHERE name = 'sales'") == [["unhealthy"]],
               timeout=30, what="the account marked unhealthy")
    log = node.wait_log("account marked unhealthy", timeout=10)
    assert "not-the-password" not in log
    assert "sync will reconnect" in log
    assert count(db) == 0

    # The password is put right: a later attempt (backoff 1 s doubling) logs in and syncs.
    secret = next(tmp_path.glob("sales-*.secret"))
    secret.write_text(UPSTREAM_PASSWORD + "\n")
    client = direct(upstream, imap_pki)
    append(client, "INBOX", message("after-fix"))
    wait_until(lambda: count(db) == 1, timeout=60, what="the sync after the password was fixed")
    assert psql(db, "SELECT health FROM email_accounts WHERE name = 'sales'") == [["healthy"]]
    client.logout()


def test_two_nodes_sync_an_account_once_and_the_other_takes_over(
        mailgate_factory, tmp_path, imap_pki, upstream, migrated_database):
    db = migrated_database
    client = direct(upstream, imap_pki)
    first = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path)
    second = start_node(mailgate_factory, imap_pki, upstream, db, tmp_path)
    for n in range(5):
        append(client, "INBOX", message(f"two-{n}"))
    wait_until(lambda: count(db) == 5, timeout=30, what="five messages")
    time.sleep(6)  # more than one lock retry: the other node must still keep out
    logs = [first.log.read_text(), second.log.read_text()]
    holders = [i for i, log in enumerate(logs) if "sync session started" in log]
    assert len(holders) == 1, logs
    assert psql(db, "SELECT count(*), count(DISTINCT message_id) FROM email_messages") == [["5", "5"]]

    # The holder dies; its lock goes with its connection and the other node takes over.
    holder, other = (first, second) if holders == [0] else (second, first)
    holder.proc.send_signal(signal.SIGKILL)
    holder.proc.wait(timeout=10)
    append(client, "INBOX", message("after-takeover"))
    wait_until(lambda: count(db) == 6, timeout=30, what="the message after the takeover")
    other.wait_log("sync lock acquired", timeout=5)
    assert psql(db, "SELECT count(*), count(DISTINCT message_id) FROM email_messages") == [["6", "6"]]
    client.logout()
