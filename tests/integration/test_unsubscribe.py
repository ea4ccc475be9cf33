"""One-click unsubscribe (RFC 8058, RFC 2369) through the built binary: bulk
mail relayed to an aiosmtpd upstream carries List-Unsubscribe (mailto and
https) and List-Unsubscribe-Post with a token signed for that recipient and
sender, body untouched; mail with its own List-Unsubscribe and non-bulk mail
are left alone; curl GET shows a confirm form and changes nothing; curl POST
suppresses for that sender and records `unsubscribed`; forged, spliced and
malformed tokens are refused; a mailto unsubscribe sent to the inbound
listener suppresses too, and suppressed recipients are then not relayed."""
import re
import smtplib
import ssl
import subprocess


from conftest import free_ports, inbound_config, pki_dir, psql, swaks, wait_until, write_secret

PUBLIC = "https://mail.example.test/u"


def start(mailgate_factory, database, upstream_port, tmp_path, with_endpoint=True, inbound=True):
    ports = free_ports(6)
    extra = ""
    if with_endpoint:
        key = tmp_path / "unsubscribe.key"
        write_secret(key, "0123456789abcdef0123456789abcdef\n")
        extra = f"""
[unsubscribe]
listen = "127.0.0.1:{ports[5]}"
public_url = "{PUBLIC}"
secret_file = "{key}"
"""
    config = inbound_config(ports, upstream_port, extra)
    if not inbound:
        config = config.replace("[inbound]\nlisten", "[inbound]\n# listen")
    server = mailgate_factory(config, env={"MAILGATE_DATABASE_URL": database})
    server.start(wait_ports=[ports[1]] + ([ports[5]] if with_endpoint else []))
    return server, ports


def submit(port, recipients, message):
    context = ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))
    with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=60) as client:
        client.login("app", "secret")
        client.sendmail("app@example.test", recipients, message)


def bulk(subject, extra_headers=""):
    return (f"From: app@example.test\r\nTo: list@example.test\r\nSubject: {subject}\r\nX-Mailgate-Priority: bulk\r\n"
            f"{extra_headers}\r\nNews body.\r\n.. a dotted line\r\n")


def relayed(received, count):
    """The upstream's messages once `count` arrived: {recipient: bytes}."""
    def ready():
        files = sorted(received.glob("*.eml"))
        return files if len(files) >= count else None
    files = wait_until(ready, what=f"{count} messages upstream")
    return {(path.with_suffix(".rcpt")).read_text(): path.read_bytes() for path in files}


def header(message, name):
    head = message.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = re.sub(r"\r\n[ \t]+", " ", head)
    return [line.split(":", 1)[1].strip() for line in unfolded.split("\r\n") if line.lower().startswith(name.lower() + ":")]


def links(message):
    value = header(message, "List-Unsubscribe")[0]
    return re.findall(r"<([^>]+)>", value)


def curl(*args):
    result = subprocess.run(["curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", "--max-time", "20", *args],
                            capture_output=True, text=True, timeout=30)
    return int(result.stdout or 0), result.stderr


def suppressions(db):
    return psql(db, "SELECT address, scope, source FROM email_suppressions ORDER BY address")


def test_bulk_mail_carries_signed_links_and_one_click_suppresses(mailgate_factory, migrated_database, saving_upstream,
                                                                 tmp_path):
    upstream_port, received = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port, tmp_path)
    submit(ports[1], ["r1@example.org", "r2@example.org"], bulk("Offers"))
    messages = relayed(received, 2)
    assert set(messages) == {"r1@example.org", "r2@example.org"}  # one transaction per recipient
    urls = {}
    for recipient, message in messages.items():
        mailto, https = links(message)
        token = https.rsplit("/", 1)[1]
        assert https == f"{PUBLIC}/{token}"
        assert mailto == f"mailto:unsubscribe@example.test?subject=unsubscribe%20{token}"
        assert header(message, "List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
        assert message.endswith(b"\r\n\r\nNews body.\r\n.. a dotted line\r\n")  # body as submitted
        urls[recipient] = f"http://127.0.0.1:{ports[5]}/u/{token}"
    assert urls["r1@example.org"] != urls["r2@example.org"]

    # GET shows the confirm form and suppresses nothing (link scanners follow links).
    status, body = curl(urls["r1@example.org"])
    assert status == 200 and 'method="post"' in body and "r1@example.org" in body
    assert suppressions(migrated_database) == []

    # Forged, spliced and malformed tokens.
    token1 = urls["r1@example.org"].rsplit("/", 1)[1]
    token2 = urls["r2@example.org"].rsplit("/", 1)[1]
    flipped = token1[:-2] + ("A" if token1[-2] != "A" else "B") + token1[-1]
    spliced = token1[:-43] + token2[-43:]  # r1 named, r2's MAC: a replay for another address
    base = f"http://127.0.0.1:{ports[5]}/u/"
    for bad, expected in [(flipped, 404), (spliced, 404), (token1[:-5], 404), ("not!base64", 400)]:
        status, _ = curl("-X", "POST", "-d", "List-Unsubscribe=One-Click", base + bad)
        assert status == expected, bad
    assert suppressions(migrated_database) == []

    # POST without the one-click field is refused; with it, r1 is suppressed for this sender only.
    assert curl("-X", "POST", "-d", "something=else", urls["r1@example.org"])[0] == 400
    status, body = curl("-X", "POST", "-d", "List-Unsubscribe=One-Click", urls["r1@example.org"])
    assert status == 200, body
    assert suppressions(migrated_database) == [["r1@example.org", "app@example.test", "unsubscribe"]]
    assert psql(migrated_database, "SELECT recipient, event, queue_id IS NOT NULL FROM email_events "
                                   "WHERE event = 'unsubscribed'") == [["r1@example.org", "unsubscribed", "t"]]
    # A replayed POST changes nothing.
    assert curl("-X", "POST", "-d", "List-Unsubscribe=One-Click", urls["r1@example.org"])[0] == 200
    assert psql(migrated_database, "SELECT count(*) FROM email_events WHERE event = 'unsubscribed'") == [["1"]]

    # The next bulk message is not relayed to r1.
    submit(ports[1], ["r1@example.org"], bulk("More offers"))
    wait_until(lambda: psql(migrated_database, "SELECT 1 FROM email_sends WHERE recipient = 'r1@example.org' "
                                               "AND status = 'suppressed'"), what="r1 suppressed")

    # A mailto unsubscribe to the inbound listener suppresses r2.
    mailto_message = tmp_path / "unsubscribe.eml"
    mailto_message.write_text(f"From: r2@example.org\r\nTo: unsubscribe@example.test\r\n"
                              f"Subject: unsubscribe {token2}\r\n\r\n\r\n")
    result = swaks(ports[4], "--from", "r2@example.org", "--to", "unsubscribe@example.test", "--data", str(mailto_message))
    assert result.returncode == 0, result.stdout
    assert suppressions(migrated_database) == [["r1@example.org", "app@example.test", "unsubscribe"],
                                               ["r2@example.org", "app@example.test", "unsubscribe"]]
    log = server.log.read_text()
    assert "msg=unsubscribed" in log and "events=unsubscribed:r2@example.org" in log


def test_mailto_with_a_forged_token_suppresses_nothing(mailgate_factory, migrated_database, saving_upstream, tmp_path):
    upstream_port, _ = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port, tmp_path)
    forged = tmp_path / "forged.eml"
    forged.write_text("From: x@example.org\r\nTo: unsubscribe@example.test\r\n"
                      "Subject: unsubscribe AXIxQGV4YW1wbGUub3Jnc29tZW9uZUBleGFtcGxlLm9yZ0FBQUFBQUFBQUFBQUFBQUFBQUFB\r\n\r\n")
    result = swaks(ports[4], "--from", "x@example.org", "--to", "unsubscribe@example.test", "--data", str(forged))
    assert result.returncode == 0, result.stdout
    assert suppressions(migrated_database) == []


def test_own_list_unsubscribe_and_non_bulk_mail_are_left_alone(mailgate_factory, migrated_database, saving_upstream,
                                                               tmp_path):
    upstream_port, received = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port, tmp_path)
    submit(ports[1], ["own@example.org"], bulk("Own", "List-Unsubscribe: <mailto:leave@example.test>\r\n"))
    submit(ports[1], ["normal@example.org"], bulk("Normal").replace("X-Mailgate-Priority: bulk\r\n", ""))
    messages = relayed(received, 2)
    assert header(messages["own@example.org"], "List-Unsubscribe") == ["<mailto:leave@example.test>"]
    assert header(messages["own@example.org"], "List-Unsubscribe-Post") == []
    assert header(messages["normal@example.org"], "List-Unsubscribe") == []


def test_without_the_endpoint_links_are_mailto_only(mailgate_factory, migrated_database, saving_upstream, tmp_path):
    upstream_port, received = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port, tmp_path, with_endpoint=False,
                          inbound=False)
    submit(ports[1], ["solo@example.org"], bulk("Mailto only"))
    message = relayed(received, 1)["solo@example.org"]
    [mailto] = links(message)
    assert mailto.startswith("mailto:relay+unsubscribe@example.test?subject=unsubscribe%20")
    assert header(message, "List-Unsubscribe-Post") == []


def test_stored_key_outlives_a_restart(mailgate_factory, migrated_database, saving_upstream, tmp_path):
    """Without [unsubscribe] the key lives in email_secrets: a mailto link made before a restart
    still unsubscribes after it."""
    upstream_port, received = saving_upstream
    server, ports = start(mailgate_factory, migrated_database, upstream_port, tmp_path, with_endpoint=False)
    submit(ports[1], ["later@example.org"], bulk("Before the restart"))
    [mailto] = links(relayed(received, 1)["later@example.org"])
    token = mailto.rsplit("%20", 1)[1]
    assert mailto == f"mailto:unsubscribe@example.test?subject=unsubscribe%20{token}"
    assert server.stop() == 0
    server, ports = start(mailgate_factory, migrated_database, upstream_port, tmp_path, with_endpoint=False)
    message = tmp_path / "unsubscribe.eml"
    message.write_text(f"From: later@example.org\r\nTo: unsubscribe@example.test\r\nSubject: unsubscribe {token}\r\n\r\n")
    result = swaks(ports[4], "--from", "later@example.org", "--to", "unsubscribe@example.test", "--data", str(message))
    assert result.returncode == 0, result.stdout
    assert suppressions(migrated_database) == [["later@example.org", "app@example.test", "unsubscribe"]]
    assert psql(migrated_database, "SELECT count(*) FROM email_secrets") == [["1"]]
