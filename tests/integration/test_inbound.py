"""The inbound SMTP listener ([inbound]) through the built binary: swaks
delivers a reply that lands in the thread of the message mailgate relayed; a
bounce from <> is classified and suppresses; other domains get 550 5.7.1 (no
relay); AUTH is not offered; an SMTP smuggling attempt is refused and nothing
smuggled is stored; 451 while the database is down."""
import smtplib
import socket
import ssl
import time

from conftest import free_ports, inbound_config, pki_dir, psql, psql_bytes, swaks, wait_until


def start(mailgate_factory, database, upstream_port, extra=""):
    ports = free_ports(5)
    server = mailgate_factory(inbound_config(ports, upstream_port, extra), env={"MAILGATE_DATABASE_URL": database})
    server.start(wait_ports=[ports[1], ports[4]])
    return server, ports


def submit(port, recipient, message):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=60) as client:
        client.login("app", "secret")
        client.sendmail("app@example.test", [recipient], message)


def test_reply_lands_in_the_thread_of_the_relayed_message(mailgate_factory, migrated_database, saving_upstream, tmp_path):
    upstream_port, received = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port)
    submit(ports[1], "bob@example.org", "From: app@example.test\r\nTo: bob@example.org\r\nSubject: Quote 42\r\n"
                                        "Message-ID: <quote42@example.test>\r\n\r\nOur quote.\r\n")
    wait_until(lambda: (received / "1.eml").exists(), what="relayed upstream")
    reply = tmp_path / "reply.eml"
    reply.write_text("From: Bob <bob@example.org>\r\nTo: app@example.test\r\nSubject: Re: Quote 42\r\n"
                     "Message-ID: <reply1@example.org>\r\nIn-Reply-To: <quote42@example.test>\r\n\r\nAccepted.\r\n")
    result = swaks(ports[4], "--from", "bob@example.org", "--to", "app@example.test", "--data", str(reply))
    assert result.returncode == 0, result.stdout
    assert "250 2.0.0 Ok: queued as" in result.stdout
    rows = psql(migrated_database, "SELECT message_id, direction, thread_id FROM email_messages ORDER BY id")
    by_id = {row[0]: row for row in rows}
    assert by_id["reply1@example.org"][1] == "inbound"
    assert by_id["quote42@example.test"][1] == "outbound"
    assert by_id["reply1@example.org"][2] == by_id["quote42@example.test"][2]
    raw = psql_bytes(migrated_database, "SELECT raw FROM email_messages WHERE message_id = 'reply1@example.org'").decode()
    assert raw.startswith("Received: from ") and "by mail.example.test (mailgate) with ESMTP id" in raw
    log = server.wait_log("msg=\"message accepted\"")
    assert "to=app@example.test" in log


def test_bounce_from_the_null_sender_is_recorded_and_suppresses(mailgate_factory, migrated_database, saving_upstream,
                                                              tmp_path):
    upstream_port, received = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port)
    submit(ports[1], "gone@example.org", "From: app@example.test\r\nTo: gone@example.org\r\nSubject: Hello\r\n"
                                         "Message-ID: <hello1@example.test>\r\n\r\nHi.\r\n")
    wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_sends WHERE status = 'sent'"), what="sent")
    bounce = tmp_path / "bounce.eml"
    bounce.write_text(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: app@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: app@example.test\r\nTo: gone@example.org\r\n"
        "Message-ID: <hello1@example.test>\r\nSubject: Hello\r\n--B--\r\n")
    result = swaks(ports[4], "--from", "<>", "--to", "app@example.test", "--data", str(bounce))
    assert result.returncode == 0, result.stdout
    assert psql(migrated_database, "SELECT event FROM email_events WHERE recipient = 'gone@example.org' "
                                   "AND event = 'bounced_hard'") == [["bounced_hard"]]
    assert psql(migrated_database, "SELECT scope, source FROM email_suppressions WHERE address = 'gone@example.org'") \
        == [["", "bounce"]]


def test_other_domains_are_refused_and_auth_is_not_offered(mailgate_factory, migrated_database, saving_upstream):
    upstream_port, _ = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port)
    result = swaks(ports[4], "--from", "spammer@example.org", "--to", "victim@example.org", "--quit-after", "RCPT")
    assert "550 5.7.1" in result.stdout and result.returncode != 0
    with smtplib.SMTP("127.0.0.1", ports[4], timeout=30) as client:
        client.ehlo("probe.example.org")
        assert not client.has_extn("auth")
        assert client.has_extn("starttls")
        assert client.docmd("AUTH", "PLAIN AGFwcABzZWNyZXQ=")[0] == 503
    assert psql(migrated_database, "SELECT count(*) FROM email_messages") == [["0"]]
    log = server.wait_log("not at an inbound domain")
    assert 'reply="550 5.7.1"' in log


def talk(port, chunks):
    """Sends each chunk in turn on one connection and returns everything the server said."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.settimeout(5)
        said = conn.recv(4096)
        for chunk in chunks:
            conn.sendall(chunk)
            time.sleep(0.3)
        conn.sendall(b"QUIT\r\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                break
            if not data:
                break
            said += data
    return said.decode(errors="replace")


def test_smuggling_attempt_is_refused(mailgate_factory, migrated_database, saving_upstream):
    upstream_port, _ = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port)
    said = talk(ports[4], [
        b"EHLO evil.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<app@example.test>\r\nDATA\r\n",
        b"From: a@example.org\r\nSubject: first\r\n\r\nhello\n.\n"
        b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<app@example.test>\r\nDATA\r\n"
        b"From: ceo@example.test\r\nSubject: smuggled\r\n\r\nwire the money\r\n.\r\n",
    ])
    assert "550 5.6.0" in said
    assert "Ok: queued" not in said
    assert psql(migrated_database, "SELECT count(*) FROM email_messages") == [["0"]]


def test_database_down_answers_451(mailgate_factory, saving_upstream, tmp_path):
    upstream_port, _ = saving_upstream
    dead = free_ports(1)[0]
    server, ports = start(mailgate_factory, f"postgresql://postgres@127.0.0.1:{dead}/nothing?connect_timeout=2",
                          upstream_port)
    message = tmp_path / "m.eml"
    message.write_text("From: bob@example.org\r\nTo: app@example.test\r\nSubject: hi\r\n\r\nhi\r\n")
    result = swaks(ports[4], "--from", "bob@example.org", "--to", "app@example.test", "--data", str(message))
    assert "451 4.3.0" in result.stdout and result.returncode != 0


def test_starttls_delivery(mailgate_factory, migrated_database, saving_upstream, tmp_path):
    upstream_port, _ = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port)
    message = tmp_path / "m.eml"
    message.write_text("From: bob@example.org\r\nTo: app@example.test\r\nSubject: over TLS\r\n"
                       "Message-ID: <tls1@example.org>\r\n\r\nsecret\r\n")
    result = swaks(ports[4], "--tls", "--from", "bob@example.org", "--to", "app@example.test", "--data", str(message))
    assert result.returncode == 0, result.stdout
    raw = psql_bytes(migrated_database, "SELECT raw FROM email_messages WHERE message_id = 'tls1@example.org'").decode()
    assert "(using TLSv1.3" in raw and "with ESMTPS id" in raw
