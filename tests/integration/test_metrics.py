"""Prometheus metrics and health through the built binary: /metrics parsed with
prometheus_client's own text parser agrees with what happened (messages
accepted and refused, sessions, relays to an aiosmtpd upstream, per-account
windows against `mailgate accounts status`, suppressions, the queue against
PostgreSQL); /health says 200 only with a reachable database and every
configured listener open; the HTTP listener answers curl and refuses malformed,
oversized and body-carrying requests."""
import datetime
import http.client
import imaplib
import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import basic_config, free_ports, pki_dir, psql, run, wait_until

PASSWORD = "secret"  # the [[user]] "dev" hash in basic_config


def metered_config(ports, metrics_port, upstream_port):
    started = datetime.date.today() - datetime.timedelta(days=8)
    return basic_config(ports, extra=f'\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n').replace(
        'smtp = "smtp+plain://127.0.0.1:2525"',
        f'smtp = "smtp+plain://127.0.0.1:{upstream_port}"\n'
        f'limits = {{ per_minute = 50, per_hour = 400, per_day = 3000 }}\n'
        f'warmup = {{ started = {started.isoformat()}, daily = [100, 200, 300] }}')


@pytest.fixture
def metered(mailgate_factory, migrated_database, picky_upstream):
    """A serving mailgate with [metrics]; yields (server, ports, metrics_port, url)."""
    *ports, metrics_port = free_ports(5)
    server = mailgate_factory(metered_config(ports, metrics_port, picky_upstream),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=[ports[0], metrics_port])
    wait_until(lambda: get(metrics_port, "/health")[0] == 200, what="/health 200")
    yield server, ports, metrics_port, migrated_database


def get(port, path, method="GET", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def scrape(port):
    """Every sample of /metrics, keyed by (sample name, sorted labels)."""
    status, headers, body = get(port, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape_until(port, predicate, what):
    """Scrapes until `predicate(samples)` holds (the database part is cached for a few seconds)."""
    def attempt():
        samples = scrape(port)
        return samples if predicate(samples) else None
    return wait_until(attempt, what=what)


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def raw(port, payload):
    """Sends bytes, returns everything the server says until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(payload)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data.decode(errors="replace")


def submit(port, sender="alice@example.test", recipient="bob@example.org", recipients=None):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=context)
        client.login("dev", PASSWORD)
        client.sendmail(sender, recipients or [recipient], f"From: {sender}\r\nSubject: metrics\r\n\r\nbody\r\n")


def refused_sender(port):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=context)
        client.login("dev", PASSWORD)
        code, _ = client.docmd("MAIL FROM:<mallory@elsewhere.test>")
        return code


def test_counters_agree_with_what_happened(metered):
    server, ports, metrics_port, url = metered
    before = scrape(metrics_port)
    sessions_before = value(before, "mailgate_sessions_total", protocol="submission")
    imap_before = value(before, "mailgate_sessions_total", protocol="imap")
    for number in range(3):
        submit(ports[0], recipient=f"rcpt{number}@example.org")
    assert refused_sender(ports[0]) == 553
    with imaplib.IMAP4("127.0.0.1", ports[2], timeout=30) as imap:
        imap.starttls(ssl.create_default_context(cafile=str(pki_dir() / "ca.crt")))
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("dev", "wrong password")
    wait_until(lambda: psql(url, "SELECT count(*) FROM email_sends WHERE status = 'sent'") == [["3"]],
               what="three recipients sent")
    psql(url, "INSERT INTO email_suppressions (address, reason, source) VALUES ('gone@example.org', 'x', 'bounce')")

    samples = scrape_until(metrics_port, lambda s: value(s, "mailgate_account_sent", account="sink", window="day") == 3
                           and value(s, "mailgate_sessions_open", protocol="submission") == 0
                           and value(s, "mailgate_sessions_open", protocol="imap") == 0, "a scrape after the sends")

    accepted = sum(v for (name, _), v in samples.items() if name == "mailgate_submission_messages_accepted_total")
    assert accepted == 3
    assert value(samples, "mailgate_submission_messages_accepted_total", priority="normal") == 3
    assert value(samples, "mailgate_submission_refused_total", reason="sender_not_allowed", code="553") == 1
    assert value(samples, "mailgate_sessions_total", protocol="submission") == sessions_before + 4
    assert value(samples, "mailgate_sessions_total", protocol="imap") == imap_before + 1
    assert value(samples, "mailgate_relay_recipients_total", account="sink", outcome="sent") == 3
    assert value(samples, "mailgate_relay_duration_seconds_count") == 3
    assert value(samples, "mailgate_relay_duration_seconds_bucket", le="+Inf") == 3
    assert value(samples, "mailgate_imap_proxy_bytes_total", direction="from_client") == 0
    assert value(samples, "mailgate_imap_proxy_logins_total", result="failed", upstream="none") == 1

    # Queue gauges agree with PostgreSQL at rest: nothing waits.
    waiting = int(psql(url, "SELECT count(*) FROM email_sends WHERE status IN "
                            "('queued', 'deferred', 'sending', 'held')")[0][0])
    queue_total = sum(v for (name, _), v in samples.items() if name == "mailgate_queue_recipients")
    assert (queue_total, waiting) == (0, 0)
    assert value(samples, "mailgate_queue_oldest_age_seconds") == 0
    assert len([1 for (name, _) in samples if name == "mailgate_queue_recipients"]) == 5 * 4

    # Per-account windows, limits and warm-up ceiling, as `mailgate accounts status` computes them.
    status = run("accounts", "status", "--json", "--config", str(server.config),
                 env=dict(os.environ, MAILGATE_DATABASE_URL=url))
    assert status.returncode == 0, status.stderr
    account = json.loads(status.stdout.splitlines()[0])
    for window in ("minute", "hour", "day"):
        assert value(samples, "mailgate_account_sent", account="sink", window=window) == account[f"sent_{window}"]
        assert value(samples, "mailgate_account_limit", account="sink", window=window) == account[f"limit_{window}"]
    assert value(samples, "mailgate_account_warmup_ceiling", account="sink") == account["warmup_cap"] == 200
    assert value(samples, "mailgate_account_paused", account="sink") == 0
    assert sum(value(samples, "mailgate_account_health", account="sink", health=h)
               for h in ("unknown", "healthy", "unhealthy")) == 1

    # Suppressions by source, once the cached database sample has been refreshed.
    later = scrape_until(metrics_port, lambda s: value(s, "mailgate_suppressions", source="bounce") == 1,
                         "the suppression counted")
    assert value(later, "mailgate_suppressions", source="admin") == 0

    # The pool: its size from the config's default, and no more connections lent than it has.
    size = value(later, "mailgate_db_pool_size")
    assert size > 0 and value(later, "mailgate_db_pool_connections", state="in_use") <= size


def test_relay_outcomes_by_account_and_the_queue_they_leave(metered):
    server, ports, metrics_port, url = metered
    psql(url, "INSERT INTO email_suppressions (address, reason, source) VALUES ('quiet@example.org', 'x', 'admin')")
    submit(ports[0], recipients=["ok@example.org", "reject@example.org", "later@example.org", "quiet@example.org"])
    # The failure's delivery notice is queued with it, so once reject@ has failed and nothing is
    # queued or in flight, every outcome (the notice's too) has been recorded.
    wait_until(lambda: psql(url, "SELECT status FROM email_sends WHERE recipient = 'reject@example.org'") == [["failed"]]
               and psql(url, "SELECT count(*) FROM email_sends WHERE status IN ('queued', 'sending')") == [["0"]],
               what="every recipient's first outcome")
    statuses = dict(psql(url, "SELECT recipient, status FROM email_sends WHERE recipient LIKE '%@example.org'"))
    assert statuses == {"ok@example.org": "sent", "reject@example.org": "failed", "later@example.org": "deferred",
                        "quiet@example.org": "suppressed"}
    samples = scrape_until(metrics_port, lambda s: value(s, "mailgate_queue_recipients", priority="normal",
                                                          state="deferred") == 1, "the deferred recipient counted")
    in_database = dict(psql(url, "SELECT status, count(*) FROM email_sends GROUP BY status"))
    for outcome in ("sent", "failed"):
        assert value(samples, "mailgate_relay_recipients_total", account="sink", outcome=outcome) == \
            int(in_database[outcome])
    deferrals = psql(url, "SELECT count(*) FROM email_events WHERE event = 'deferred' AND account = 'sink'")
    assert value(samples, "mailgate_relay_recipients_total", account="sink", outcome="deferred") == \
        int(deferrals[0][0]) == 1
    assert value(samples, "mailgate_relay_recipients_total", account="none", outcome="suppressed") == 1
    waiting = sum(v for (name, _), v in samples.items() if name == "mailgate_queue_recipients")
    assert waiting == 1
    age = float(psql(url, "SELECT extract(epoch FROM now() - created_at) FROM email_sends "
                          "WHERE status = 'deferred'")[0][0])
    assert 0 < value(samples, "mailgate_queue_oldest_age_seconds") <= age


def test_a_paused_account_shows_its_pause_and_fixed_reason(mailgate_factory, migrated_database):
    *ports, metrics_port, dead_port = free_ports(6)  # nothing listens on dead_port
    server = mailgate_factory(metered_config(ports, metrics_port, dead_port),
                              env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=[ports[0], metrics_port])
    submit(ports[0], recipient="waiting@example.org")
    wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_accounts WHERE name = 'sink' AND status = 'paused'"),
               what="account paused")
    reason = psql(migrated_database, "SELECT pause_reason FROM email_accounts WHERE name = 'sink'")[0][0]
    samples = scrape_until(metrics_port, lambda s: value(s, "mailgate_account_paused", account="sink") == 1,
                           "the pause seen")
    reasons = {dict(labels)["reason"]: v for (name, labels), v in samples.items()
               if name == "mailgate_account_pause_reason"}
    assert reasons == {"unreachable": 1} and "unreachable" in reason
    # Sent back for another account at once, then waiting for the pause: each a deferral with no account.
    assert value(samples, "mailgate_relay_recipients_total", account="none", outcome="deferred") >= 1
    assert value(samples, "mailgate_relay_recipients_total", account="sink", outcome="sent") is None


def test_no_label_carries_an_address(metered):
    server, ports, metrics_port, url = metered
    submit(ports[0], recipient="secret-person@example.org")
    assert refused_sender(ports[0]) == 553
    wait_until(lambda: psql(url, "SELECT count(*) FROM email_sends WHERE status = 'sent'") == [["1"]],
               what="the recipient sent")
    _, _, body = get(metrics_port, "/metrics")
    assert "@" not in body


def test_curl_reads_metrics_and_head_has_no_body(metered):
    server, ports, metrics_port, url = metered
    result = subprocess.run(["curl", "-sf", "-D", "-", f"http://127.0.0.1:{metrics_port}/metrics"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "content-type: text/plain; version=0.0.4" in result.stdout.lower()
    assert "# TYPE mailgate_sessions_total counter" in result.stdout
    head = subprocess.run(["curl", "-sfI", f"http://127.0.0.1:{metrics_port}/health"],
                          capture_output=True, text=True, timeout=30)
    assert head.stdout.startswith("HTTP/1.1 200") and head.stdout.rstrip().endswith("GMT")


def test_keep_alive_serves_several_requests_on_one_connection(metered):
    server, ports, metrics_port, url = metered
    connection = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=15)
    answers = []
    for path in ("/health", "/metrics", "/nowhere"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        answers.append(response.status)
    connection.close()
    assert answers == [200, 200, 404]


@pytest.mark.parametrize("payload, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET /metrics HTTP/1.1\nHost: x\n\n", 400),  # bare LF
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400),
    (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 413),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"h" * 20000 + b"\r\n\r\n", 431),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(80)) + b"\r\n", 431),
    (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
])
def test_refused_requests_get_their_status_and_close(metered, payload, status):
    server, ports, metrics_port, url = metered
    answer = raw(metrics_port, payload)
    assert answer.startswith(f"HTTP/1.1 {status} ") and "Connection: close\r\n" in answer


def test_health_is_503_when_the_database_is_unreachable(mailgate_factory):
    closed, *ports, metrics_port = free_ports(6)
    config = basic_config(ports, extra=f'\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')
    server = mailgate_factory(config, env={"MAILGATE_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/x"})
    server.start(wait_ports=[metrics_port])
    status, _, body = get(metrics_port, "/health")
    assert status == 503 and "database" in body
    # /metrics still answers, from what it has.
    assert get(metrics_port, "/metrics")[0] == 200


def test_health_is_503_while_a_configured_listener_cannot_open(metered):
    server, ports, metrics_port, url = metered
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        text = server.config.read_text().replace(f'listen = ["127.0.0.1:{ports[2]}"]',
                                                 f'listen = ["127.0.0.1:{ports[2]}", "127.0.0.1:{taken}"]')
        server.config.write_text(text)
        server.signal(signal.SIGHUP)
        server.wait_log("reloaded")
        status, _, body = get(metrics_port, "/health")
        assert status == 503 and f"imap 127.0.0.1:{taken}" in body
