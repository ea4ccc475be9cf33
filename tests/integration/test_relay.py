"""The relay through the built binary: messages submitted over SMTP leave
through upstream accounts (Postfix's smtp-sink, and an aiosmtpd server that
answers per recipient), within each account's limits even with two nodes on
one database, and every recipient's outcome is a row in email_sends and
email_events."""
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (PSQL, basic_config, free_port, free_ports, pki_dir, psql, psql_bytes, run, start_aiosmtpd,
                      stop_process, wait_for_port, wait_until, write_secret)

PASSWORD = "secret"
HASH = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."


@pytest.fixture
def sink(smtp_sink_factory):
    """Postfix's smtp-sink on a free port, dumping each message to a file."""
    return smtp_sink_factory()


def relay_config(ports, upstream_port, limits="", extra=""):
    account_and_user = f"""
[[account]]
name = "relay"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{upstream_port}"
max_connections = 2
{limits}

[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = ["relay"]
{extra}
"""
    return basic_config(ports, extra=account_and_user)


def start_gateway(mailgate_factory, database, config_text):
    ports = free_ports(4)
    server = mailgate_factory(config_text(ports), env={"MAILGATE_DATABASE_URL": database})
    server.start(wait_ports=ports[:2])
    return server, ports


def submit(port, recipients, count=1, subject="relay test"):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=60) as client:
        client.login("app", PASSWORD)
        for n in range(count):
            client.sendmail("app@example.test", recipients,
                            f"From: app@example.test\r\nSubject: {subject} {n}\r\n\r\nbody {n}\r\n")


def statuses(url):
    return dict((row[0], int(row[1])) for row in psql(url, "SELECT status, count(*) FROM email_sends GROUP BY status"))


def test_messages_reach_smtp_sink_and_every_outcome_is_recorded(mailgate_factory, migrated_database, sink):
    sink_port, dumps = sink
    server, ports = start_gateway(mailgate_factory, migrated_database,
                                  lambda ports: relay_config(ports, sink_port))
    submit(ports[1], ["one@example.org", "two@example.org"], count=5)
    wait_until(lambda: statuses(migrated_database).get("sent") == 10, what="10 recipients sent")
    assert psql(migrated_database, "SELECT count(*) FROM email_events WHERE event = 'sent' AND account = 'relay'") \
        == [["10"]]
    assert psql(migrated_database, "SELECT count(DISTINCT last_reply) > 0, bool_and(attempts = 1) FROM email_sends") \
        == [["t", "t"]]
    files = lambda: sorted(p for p in dumps.rglob("*") if p.is_file())
    dumped = wait_until(lambda: files() if len(files()) >= 5 else None, timeout=10, what=f"5 dumps in {dumps}")
    assert len(dumped) == 5, [p.name for p in dumped]
    text = dumped[0].read_text(errors="replace")
    assert "Received: from " in text and "by mail.example.test (mailgate)" in text
    assert "msg=sent" in server.log.read_text()


def test_per_recipient_outcomes_permanent_temporary_and_sent(mailgate_factory, migrated_database, picky_upstream):
    server, ports = start_gateway(mailgate_factory, migrated_database,
                                  lambda ports: relay_config(ports, picky_upstream))
    submit(ports[1], ["ok@example.org", "reject@example.org", "later@example.org"])
    rows = wait_until(lambda: (lambda r: r if len(r) == 3 and all(s != "sending" and s != "queued" for _, s, *_ in r)
                               else None)(psql(migrated_database,
                                               "SELECT recipient, status, attempts, "
                                               "next_attempt_at > now() + interval '90 seconds', upstream_queue_id "
                                               "FROM email_sends WHERE recipient LIKE '%@example.org' "
                                               "ORDER BY recipient")),
                      what="three outcomes")
    assert rows[0][:3] == ["later@example.org", "deferred", "1"] and rows[0][3] == "t"  # retried after ~2 minutes
    assert rows[1][:2] == ["ok@example.org", "sent"] and rows[1][4] == "UP123"
    assert rows[2][:3] == ["reject@example.org", "failed", "1"]
    events = psql(migrated_database, "SELECT recipient, event FROM email_events WHERE event <> 'queued' "
                                     "AND recipient LIKE '%@example.org' ORDER BY recipient")
    assert events == [["later@example.org", "deferred"], ["ok@example.org", "sent"], ["reject@example.org", "failed"]]
    # The permanent failure sends the sender an RFC 3464 notice from <>, through the same account.
    notice = wait_until(lambda: psql(migrated_database,
                                     "SELECT q.id, s.status FROM email_queue q JOIN email_sends s ON s.queue_id = q.id "
                                     "WHERE q.mail_from = '' AND s.recipient = 'app@example.test' AND s.status = 'sent'"),
                        what="failure notice relayed")
    text = psql_bytes(migrated_database, f"SELECT message FROM email_queue WHERE id = '{notice[0][0]}'").decode()
    assert "report-type=delivery-status" in text and "Final-Recipient: rfc822; reject@example.org" in text
    assert "Status: 5.1.1" in text and "later@example.org" not in text.split("\r\n\r\n", 1)[0]
    # Both are stored in one thread: our message (outbound) and the notice, mail for the sender (inbound);
    # the notice is not read as a bounce of the recipient.
    stored = wait_until(lambda: (lambda rows: rows if len(rows) == 2 else None)(psql(
        migrated_database, "SELECT direction, thread_id FROM email_messages ORDER BY direction")),
        what="message and notice in the threads")
    assert [row[0] for row in stored] == ["inbound", "outbound"] and stored[0][1] == stored[1][1]
    assert psql(migrated_database, "SELECT count(*) FROM email_events WHERE event LIKE 'bounced%'") == [["0"]]


def test_every_relayed_message_is_stored_in_its_thread(mailgate_factory, migrated_database, sink):
    sink_port, _ = sink
    psql(migrated_database, "INSERT INTO email_suppressions (address, reason, source) "
                            "VALUES ('gone@example.org', 'hard bounce', 'bounce')")
    server, ports = start_gateway(mailgate_factory, migrated_database, lambda ports: relay_config(ports, sink_port))
    submit(ports[1], ["one@example.org", "two@example.org"], subject="archived")
    submit(ports[1], ["gone@example.org"], subject="never sent")
    wait_until(lambda: psql(migrated_database, "SELECT count(*) FROM email_queue WHERE archived") == [["2"]],
               what="both queue rows archived")
    stored = psql(migrated_database, "SELECT m.direction, m.account, m.subject, m.thread_id IS NOT NULL, q.mail_from "
                                     "FROM email_messages m JOIN email_queue q ON q.id = m.queue_id")
    # Sent once for two recipients: stored once; the suppressed one was never sent: not stored.
    assert stored == [["outbound", "relay", "archived 0", "t", "app@example.test"]]
    assert psql(migrated_database, "SELECT count(*) FROM email_events WHERE event LIKE 'bounced%'") == [["0"]]


def test_suppressed_recipients_are_not_relayed(mailgate_factory, migrated_database, sink):
    sink_port, _ = sink
    psql(migrated_database, "INSERT INTO email_suppressions (address, reason, source) "
                            "VALUES ('gone@example.org', 'hard bounce', 'bounce')")
    server, ports = start_gateway(mailgate_factory, migrated_database,
                                  lambda ports: relay_config(ports, sink_port))
    submit(ports[1], ["gone@example.org", "here@example.org"])
    wait_until(lambda: statuses(migrated_database) == {"sent": 1, "suppressed": 1}, what="sent and suppressed")
    assert psql(migrated_database, "SELECT recipient FROM email_events WHERE event = 'suppressed'") \
        == [["gone@example.org"]]


def test_unreachable_upstream_pauses_the_account_and_costs_no_attempt(mailgate_factory, migrated_database):
    dead_port = free_port()  # nothing listens there
    server, ports = start_gateway(mailgate_factory, migrated_database,
                                  lambda ports: relay_config(ports, dead_port))
    submit(ports[1], ["waiting@example.org"])
    account = wait_until(lambda: psql(migrated_database,
                                      "SELECT status, pause_reason FROM email_accounts WHERE name = 'relay' "
                                      "AND status = 'paused'"), what="account paused")
    assert "unreachable" in account[0][1] or "connect" in account[0][1]
    row = wait_until(lambda: psql(migrated_database, "SELECT status, attempts, wait_reason FROM email_sends "
                                                     "WHERE status <> 'sending' AND wait_reason IS NOT NULL"),
                     what="recipient waiting")
    assert row[0][1] == "0"
    assert "msg=\"account paused\"" in server.log.read_text()


def test_rate_limit_holds_the_rest_until_the_window_opens(mailgate_factory, migrated_database, sink):
    sink_port, _ = sink
    server, ports = start_gateway(mailgate_factory, migrated_database,
                                  lambda ports: relay_config(ports, sink_port, limits="limits = { per_day = 3 }"))
    submit(ports[1], ["r@example.org"], count=6)
    wait_until(lambda: statuses(migrated_database).get("sent") == 3, what="3 sent")
    waiting = wait_until(lambda: (lambda r: r if len(r) == 3 else None)(
        psql(migrated_database, "SELECT attempts, wait_reason FROM email_sends WHERE status IN ('queued', 'deferred') "
                                "AND next_attempt_at > now() + interval '1 minute'")), what="3 held by the limit")
    assert all(attempts == "0" and "per_day limit 3 reached until" in reason for attempts, reason in waiting)
    time.sleep(2)
    assert statuses(migrated_database).get("sent") == 3
    assert psql(migrated_database, "SELECT sum(sent) FROM email_rate_counters WHERE window_kind = 'day'") == [["3"]]


def test_two_nodes_together_never_pass_the_limit(mailgate_factory, migrated_database, sink):
    sink_port, _ = sink
    limit = 7
    config = lambda ports: relay_config(ports, sink_port, limits=f"limits = {{ per_day = {limit} }}")
    first, first_ports = start_gateway(mailgate_factory, migrated_database, config)
    second, second_ports = start_gateway(mailgate_factory, migrated_database, config)
    for n in range(10):
        submit((first_ports if n % 2 else second_ports)[1], [f"n{n}@example.org"], count=2)
    wait_until(lambda: statuses(migrated_database).get("sent") == limit, what=f"{limit} sent")
    time.sleep(3)
    assert statuses(migrated_database).get("sent") == limit
    assert psql(migrated_database, "SELECT sum(sent) FROM email_rate_counters WHERE window_kind = 'day'") \
        == [[str(limit)]]
    assert first.stop() == 0 and second.stop() == 0
    assert (first.log.read_text() + second.log.read_text()).count("msg=sent") == limit


@pytest.fixture
def tls_auth_upstream(tmp_path):
    """aiosmtpd with STARTTLS required (the test CA's certificate) and AUTH after TLS:
    user relay / password upstream-secret. Accepted messages are written to tmp_path/received."""
    received = tmp_path / "received"
    proc, port = start_aiosmtpd(received, queue_prefix="TLS", tls_dir=pki_dir(), login="relay",
                                password="upstream-secret")
    yield port, received
    stop_process(proc)


def tls_account_config(ports, upstream_port, secret):
    return basic_config(ports, extra=f"""
[[account]]
name = "tls"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp://127.0.0.1:{upstream_port}"
username = "relay"
password_file = "{secret}"
ca_file = "{pki_dir() / 'ca.crt'}"

[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = ["tls"]
""")


def test_starttls_with_verified_certificate_and_auth_upstream(mailgate_factory, migrated_database, tls_auth_upstream,
                                                              tmp_path):
    upstream_port, received = tls_auth_upstream
    secret = tmp_path / "relay.secret"
    write_secret(secret, "upstream-secret\n")
    server, ports = start_gateway(mailgate_factory, migrated_database,
                                  lambda ports: tls_account_config(ports, upstream_port, secret))
    submit(ports[1], ["far@example.org"])
    row = wait_until(lambda: psql(migrated_database, "SELECT upstream_queue_id FROM email_sends WHERE status = 'sent'"),
                     what="sent over STARTTLS with AUTH")
    assert row == [["TLS1"]]
    assert b"Subject: relay test 0" in (received / "1.eml").read_bytes()


def test_refused_login_pauses_the_account_and_another_carries_the_mail(mailgate_factory, migrated_database,
                                                                      tls_auth_upstream, sink, tmp_path):
    upstream_port, received = tls_auth_upstream
    sink_port, _ = sink
    secret = tmp_path / "relay.secret"
    write_secret(secret, "wrong-secret\n")
    config = lambda ports: tls_account_config(ports, upstream_port, secret).replace(
        'ca_file = ', 'weight = 100\nca_file = ').replace('accounts = ["tls"]', 'accounts = ["tls", "good"]') + f"""
[[account]]
name = "good"
address = "good@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{sink_port}"
limits = {{ per_day = 1000 }}
"""  # "tls", unlimited, has the most room left today: it is tried first
    server, ports = start_gateway(mailgate_factory, migrated_database, config)
    submit(ports[1], ["far@example.org"])
    row = wait_until(lambda: psql(migrated_database, "SELECT account, attempts FROM email_sends WHERE status = 'sent'"),
                     what="sent through the other account")
    assert row == [["good", "0"]] or row == [["good", "1"]]
    paused = psql(migrated_database, "SELECT status, pause_reason FROM email_accounts WHERE name = 'tls'")
    assert paused[0][0] == "paused" and paused[0][1].startswith("paused (login failed) until a health check passes")
    assert not list(received.iterdir())


def test_upstream_certificate_not_trusted_pauses_the_account(mailgate_factory, migrated_database, tls_auth_upstream,
                                                             tmp_path):
    upstream_port, received = tls_auth_upstream
    secret = tmp_path / "relay.secret"
    write_secret(secret, "upstream-secret\n")
    config = lambda ports: tls_account_config(ports, upstream_port, secret).replace(
        str(pki_dir() / "ca.crt"), str(pki_dir() / "other-ca.crt"))
    server, ports = start_gateway(mailgate_factory, migrated_database, config)
    submit(ports[1], ["far@example.org"])
    wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_accounts WHERE name = 'tls' AND status = 'paused'"),
               what="account paused: certificate not trusted")
    assert psql(migrated_database, "SELECT status, attempts FROM email_sends") in ([["queued", "0"]], [["sending", "0"]])
    assert not list(received.iterdir())
    assert "certificate" in server.log.read_text().lower()


def test_a_failing_account_hands_its_mail_to_another(mailgate_factory, migrated_database, sink):
    sink_port, _ = sink
    dead_port = free_port()
    config = lambda ports: basic_config(ports, extra=f"""
[[account]]
name = "broken"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{dead_port}"
weight = 100

[[account]]
name = "good"
address = "relay@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{sink_port}"

[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = ["broken", "good"]
""")
    server, ports = start_gateway(mailgate_factory, migrated_database, config)
    submit(ports[1], ["x@example.org"], count=4)
    wait_until(lambda: statuses(migrated_database).get("sent") == 4, what="4 sent through the good account")
    assert psql(migrated_database, "SELECT account, attempts FROM email_sends GROUP BY 1, 2") == [["good", "1"]]
    assert psql(migrated_database, "SELECT status FROM email_accounts WHERE name = 'broken'") == [["paused"]]


def test_temporary_failures_retry_on_schedule_then_expire_with_a_notice(mailgate_factory, migrated_database,
                                                                        picky_upstream):
    config = lambda ports: relay_config(ports, picky_upstream) + '\n[relay]\nretry_after = ["1s", "2s"]\n'
    server, ports = start_gateway(mailgate_factory, migrated_database, config)
    submit(ports[1], ["later@example.org"])
    row = wait_until(lambda: psql(migrated_database, "SELECT status, attempts FROM email_sends "
                                                     "WHERE recipient = 'later@example.org' AND status = 'failed'"),
                     what="expired after the last retry")
    assert row == [["failed", "3"]]  # the first attempt and two retries
    deferrals = psql(migrated_database, "SELECT count(*) FROM email_events WHERE recipient = 'later@example.org' "
                                        "AND event = 'deferred'")
    assert deferrals == [["2"]]
    wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_queue WHERE mail_from = ''"), what="the notice")


def test_sigkill_in_the_middle_of_relaying_loses_nothing(mailgate_factory, migrated_database, tmp_path):
    port = free_port()
    dumps = Path(tempfile.mkdtemp(prefix="mailgate-sink-"))
    dumps.chmod(0o755)
    shutil.chown(dumps, "postfix")
    # -w 1: the sink waits a second before answering DATA, so the kill lands mid-relay.
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", "-w", "1", "-d", f"{dumps}/%H%M%S.",
                             f"127.0.0.1:{port}", "64"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        config = lambda ports: relay_config(ports, port) + '\n[relay]\nlease = "3s"\n'
        first, ports = start_gateway(mailgate_factory, migrated_database, config)
        total = 12
        submit(ports[1], ["k@example.org"], count=total)
        wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_sends WHERE status = 'sending'"),
                   what="relaying under way")
        first.proc.kill()
        first.proc.wait()
        second, _ = start_gateway(mailgate_factory, migrated_database, config)
        wait_until(lambda: statuses(migrated_database).get("sent") == total, timeout=90,
                   what="every acknowledged message relayed after the restart")
        delivered = [p for p in dumps.rglob("*") if p.is_file()]
        assert len(delivered) >= total  # at least once: one in flight at the kill may arrive twice
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        shutil.rmtree(dumps, ignore_errors=True)


def test_claim_probe_claims_what_a_pass_would_and_leaves_the_queue_as_it_was(migrated_database):
    # bench/relay's seed: 30 due normal-class recipients, then 100 the claim must skip or share
    # (FUTURERELEASE, retries, held, due bulk-class).
    seed = Path(__file__).resolve().parents[2] / "bench/relay/seed-claim.sql"
    for first, count, mode in ((1, 30, "due"), (31, 100, "background")):
        subprocess.run([PSQL, migrated_database, "-Xq", "-v", f"first={first}", "-v", f"count={count}",
                        "-v", f"mode={mode}", "-f", str(seed)], check=True, capture_output=True, timeout=60)
    before = psql(migrated_database, "SELECT status, count(*) FROM email_sends GROUP BY 1 ORDER BY 1")
    result = run("queue", "claim-probe", "--slots", "20", "--rounds", "3",
                 env=dict(os.environ, MAILGATE_DATABASE_URL=migrated_database))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"claim_probe slots=20 rounds=3 claimed=20 median_us=\d+ p90_us=\d+ min_us=\d+\n",
                        result.stdout), result.stdout
    assert psql(migrated_database, "SELECT status, count(*) FROM email_sends GROUP BY 1 ORDER BY 1") == before
    assert psql(migrated_database, "SELECT count(*) FROM email_sends WHERE lease_owner IS NOT NULL") == [["0"]]
