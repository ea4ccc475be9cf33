"""Account health and pauses with the built binary: `mailgate accounts test`
against real upstreams (aiosmtpd with STARTTLS and AUTH, a private Dovecot),
passing and failing; serve's periodic check resuming a paused account; the
bounce-rate pause from injected bounce events, lifted only by `accounts resume`;
`accounts pause`. The upstream account logs in as sales@example.test on both
servers, whose certificates come from one test CA (imap_pki)."""
import os
import re
import smtplib
import socket
import ssl
import threading
import time

import pytest

from conftest import (UPSTREAM_PASSWORD, basic_config, free_ports, pki_dir, psql, run, start_aiosmtpd, stop_process,
                      wait_until, write_secret)


HASH = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."
LOGIN = "sales@example.test"


@pytest.fixture(scope="module")
def smtp_upstream(imap_pki, tmp_path_factory):
    """aiosmtpd on 127.0.0.1: STARTTLS required (imap_pki's server certificate), then AUTH
    as sales@example.test; a wrong password gets 535. Messages land in `received`."""
    received = tmp_path_factory.mktemp("smtp-upstream") / "received"
    proc, port = start_aiosmtpd(received, queue_prefix="HC", tls_dir=imap_pki, login=LOGIN,
                                password=UPSTREAM_PASSWORD)
    yield port, received
    stop_process(proc)


def account_config(ports, smtp_port, imaps_port, secret, ca, extra=""):
    return basic_config(ports, extra=f"""
[[account]]
name = "up"
address = "{LOGIN}"
send_as = ["*@example.test"]
smtp = "smtp://127.0.0.1:{smtp_port}"
imap = "imaps://127.0.0.2:{imaps_port}"
username = "{LOGIN}"
password_file = "{secret}"
ca_file = "{ca}"
# The health checks are what these tests watch: no sync logging in beside them.
sync_folders = []

[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = ["up"]
{extra}
""")


@pytest.fixture
def setup(tmp_path, imap_pki, dovecot, smtp_upstream, migrated_database):
    """Writes a config for account `up`; returns a helper to run commands against it."""
    smtp_port, received = smtp_upstream

    class Setup:
        url = migrated_database
        inbox = received

        def __init__(self):
            self.ports = free_ports(4)
            self.write(UPSTREAM_PASSWORD)

        def write(self, password, extra=""):
            secret = tmp_path / "up.secret"
            write_secret(secret, password + "\n")
            self.text = account_config(self.ports, smtp_port, dovecot.imaps_port, secret, imap_pki / "ca.crt", extra)
            self.config = tmp_path / "mailgate.toml"
            self.config.write_text(self.text)

        def mailgate(self, *args):
            return run(*args, "--config", str(self.config), env=dict(os.environ, MAILGATE_DATABASE_URL=self.url),
                       timeout=90)

        def account(self):
            rows = psql(self.url, "SELECT status, health, coalesce(resume_on, '-'), coalesce(pause_reason, '-'), "
                                  "last_health_check_at IS NOT NULL FROM email_accounts WHERE name = 'up'")
            return rows[0] if rows else None

    return Setup()


def step_line(output, step):
    return next(line for line in output.splitlines() if line.strip().startswith(step + " "))


def test_check_passes_on_both_protocols_sends_a_test_message_and_resumes_a_health_pause(setup):
    psql(setup.url, "INSERT INTO email_accounts (name, address, status, pause_reason, resume_on, health) "
                    "VALUES ('up', 'sales@example.test', 'paused', 'paused (unreachable) until a health check passes', "
                    "'health_check', 'unhealthy')")
    result = setup.mailgate("accounts", "test", "up", "--send-test", "someone@example.org")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " ok " in step_line(result.stdout, "smtp") and "smtp://127.0.0.1:" in step_line(result.stdout, "smtp")
    assert " ok " in step_line(result.stdout, "imap") and "imaps://127.0.0.2:" in step_line(result.stdout, "imap")
    assert "queued as HC" in step_line(result.stdout, "send-test")
    assert "account up resumed" in result.stdout
    assert setup.account() == ["active", "healthy", "-", "-", "t"]
    messages = [p.read_bytes() for p in setup.inbox.glob("*.eml")]
    assert any(b"mailgate test message through account up" in m and b"To: <someone@example.org>" in m
               for m in messages)


def test_operator_pause_outlives_a_passing_check_until_resume(setup):
    paused = setup.mailgate("accounts", "pause", "up", "--reason", "provider review")
    assert paused.returncode == 0, paused.stderr
    result = setup.mailgate("accounts", "test", "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is paused: paused (provider review) until an operator resumes it" in result.stdout
    assert setup.account()[:3] == ["paused", "healthy", "operator"]
    resumed = setup.mailgate("accounts", "resume", "up")
    assert resumed.returncode == 0, resumed.stderr
    assert setup.account()[:3] == ["active", "healthy", "-"]


def test_unknown_account_and_bad_address_exit_2(setup):
    assert setup.mailgate("accounts", "test", "nope").returncode == 2
    assert setup.mailgate("accounts", "test", "up", "--send-test", "not an address").returncode == 2


def test_wrong_password_fails_both_protocols_and_pauses_the_account(setup):
    setup.write("wrong-password")
    result = setup.mailgate("accounts", "test", "up")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in step_line(result.stdout, "smtp") and "535" in step_line(result.stdout, "smtp")
    assert "FAILED" in step_line(result.stdout, "imap") and "login refused" in step_line(result.stdout, "imap")
    status, health, resume_on, reason, checked = setup.account()
    assert (status, health, resume_on, checked) == ("paused", "unhealthy", "health_check", "t")
    assert "health check failed: smtp: " in reason and "imap: login refused" in reason


def submit(port, recipient):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=60) as client:
        client.login("app", "secret")
        client.sendmail("app@example.test", [recipient], "From: app@example.test\r\nSubject: held\r\n\r\nbody\r\n")


def test_serve_checks_a_paused_account_and_mail_flows_after_it_passes(setup, mailgate_factory):
    psql(setup.url, "INSERT INTO email_accounts (name, address, status, pause_reason, resume_on, health_check_after) "
                    "VALUES ('up', 'sales@example.test', 'paused', 'paused (login failed) until a health check passes', "
                    "'health_check', now() + interval '4 seconds')")
    setup.write(UPSTREAM_PASSWORD, extra='\n[relay]\nhealth_check_interval = "1s"\n')
    server = mailgate_factory(setup.text, env={"MAILGATE_DATABASE_URL": setup.url})
    server.start(wait_ports=setup.ports[:2])
    submit(setup.ports[1], "waits@example.org")
    held = wait_until(lambda: psql(setup.url, "SELECT wait_reason FROM email_sends WHERE wait_reason IS NOT NULL"),
                      what="the message waits for the paused account")
    assert "until a health check passes" in held[0][0]
    server.wait_log("account resumed: health check passed", timeout=20)
    wait_until(lambda: psql(setup.url, "SELECT 1 FROM email_sends WHERE status = 'sent'"), what="sent after resume")
    assert setup.account()[:3] == ["active", "healthy", "-"]
    assert "smtp_ms=" in server.log.read_text()


def inject_sends(url, account, sends, bounces):
    psql(url, f"""
        INSERT INTO email_queue (id, submitted_by, client_address, mail_from, size, message, priority)
        VALUES ('INJECTED0000000{sends:02d}', 'app', '127.0.0.1', 'app@example.test', 1, '\\x41', 2);
        INSERT INTO email_sends (queue_id, recipient, priority, status, attempts, account, sent_at)
        SELECT 'INJECTED0000000{sends:02d}', 'r' || n || '@example.org', 2, 'sent', 1, '{account}',
               now() - (n || ' seconds')::interval FROM generate_series(1, {sends}) AS n;
        INSERT INTO email_events (queue_id, send_id, recipient, event, account, reason)
        SELECT queue_id, id, recipient, 'bounced_hard', account, 'user_unknown' FROM email_sends
        WHERE queue_id = 'INJECTED0000000{sends:02d}' ORDER BY id LIMIT {bounces};
    """)


def test_bounce_rate_pauses_until_an_operator_resumes(setup, mailgate_factory):
    setup.write(UPSTREAM_PASSWORD, extra='\n[relay]\nhealth_check_interval = "1s"\nbounce_rate_threshold = "5%"\n'
                                         'bounce_rate_window = 20\nbounce_rate_minimum_sends = 10\n')
    inject_sends(setup.url, "up", 20, 2)  # 10% of the last 20
    server = mailgate_factory(setup.text, env={"MAILGATE_DATABASE_URL": setup.url})
    server.start(wait_ports=setup.ports[:2])
    wait_until(lambda: setup.account() and setup.account()[0] == "paused", what="bounce-rate pause")
    status, _, resume_on, reason, _ = setup.account()
    assert resume_on == "operator"
    assert reason == "paused (bounce rate 10.0% over the last 20 sends) until an operator resumes it"
    server.wait_log("bounce rate 10.0%")
    submit(setup.ports[1], "held@example.org")
    held = wait_until(lambda: psql(setup.url, "SELECT wait_reason FROM email_sends WHERE recipient = 'held@example.org' "
                                              "AND wait_reason IS NOT NULL"), what="held by the pause")
    assert "bounce rate" in held[0][0]
    # Health checks pass all along, and do not lift it.
    assert setup.mailgate("accounts", "test", "up").returncode == 0
    assert setup.account()[0] == "paused"
    assert setup.mailgate("accounts", "resume", "up").returncode == 0
    wait_until(lambda: psql(setup.url, "SELECT 1 FROM email_sends WHERE recipient = 'held@example.org' "
                                       "AND status = 'sent'"), what="relayed after resume")
    # The old bounces no longer count: the account stays active.
    time.sleep(2.5)
    assert setup.account()[0] == "active"


def test_a_low_bounce_rate_keeps_the_account(setup, mailgate_factory):
    setup.write(UPSTREAM_PASSWORD, extra='\n[relay]\nhealth_check_interval = "1s"\nbounce_rate_window = 20\n'
                                         'bounce_rate_minimum_sends = 10\n')
    inject_sends(setup.url, "up", 20, 1)  # 5%: not above the threshold
    server = mailgate_factory(setup.text, env={"MAILGATE_DATABASE_URL": setup.url})
    server.start(wait_ports=setup.ports[:2])
    submit(setup.ports[1], "fine@example.org")
    wait_until(lambda: psql(setup.url, "SELECT 1 FROM email_sends WHERE recipient = 'fine@example.org' "
                                       "AND status = 'sent'"), what="relayed")
    assert setup.account()[0] == "active"


def test_an_imap_server_that_never_answers_the_login_fails_within_the_timeouts(setup, tmp_path):
    """It greets, then reads and says nothing more: the check must end by its own deadline."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30)
    held = []

    def greet_then_stall():
        try:
            conn, _ = server.accept()
        except OSError:
            return
        held.append(conn)
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] silent server ready\r\n")

    threading.Thread(target=greet_then_stall, daemon=True).start()
    setup.write(UPSTREAM_PASSWORD, extra='[relay]\nconnect_timeout = "2s"\ncommand_timeout = "2s"\n')
    stalling = re.sub(r'imap = "imaps://[^"]*"', f'imap = "imap+plain://127.0.0.1:{server.getsockname()[1]}"', setup.text)
    setup.config.write_text(stalling)
    try:
        result = setup.mailgate("accounts", "test", "up")
    finally:
        for conn in held:
            conn.close()
        server.close()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in step_line(result.stdout, "imap") and "timeout" in step_line(result.stdout, "imap")
