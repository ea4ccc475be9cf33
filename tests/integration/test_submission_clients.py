"""Submission with curl (STARTTLS with --ssl-reqd, and implicit TLS) through the
built binary: the stored message is the uploaded file byte for byte apart from
the Received: (and, when missing, Message-ID:) header mailgate adds; and a
client that goes away in the middle of DATA or BDAT leaves nothing queued."""
import re
import smtplib
import socket
import ssl
import struct
import subprocess

import pytest

from conftest import basic_config, free_ports, pki_dir, psql, psql_bytes

PASSWORD = "secret"  # the [[user]] "dev" hash in basic_config

# Uploaded files, CRLF throughout. Lines that test transparency (RFC 5321
# §4.5.2: a leading dot, a lone dot, "From " at a line start), trailing blanks,
# a tab, a folded header, 8-bit UTF-8 text, a 998-octet line and a base64 part.
WITH_MESSAGE_ID = (
    b"From: Dev <dev@example.test>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: curl over STARTTLS\r\n"
    b"  folded onto a second line\r\n"
    b"Message-ID: <curl-1@client.example.test>\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b".leading dot\r\n"
    b".\r\n"
    b"..two dots\r\n"
    b"From the start of a line\r\n"
    b"trailing blanks   \r\n"
    b"\ttab first\r\n"
    + "gr\u00fc\u00dfe, \u65e5\u672c\u8a9e\r\n".encode()
    + b"L" * 998 + b"\r\n"
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\r\n"
    b"--b1--\r\n"
)

WITHOUT_MESSAGE_ID = (
    b"From: dev@example.test\r\n"
    b"To: carol@example.org, dave@example.org\r\n"
    b"Subject: curl without a Message-ID\r\n"
    b"\r\n"
    b"body line 1\r\n"
    b"\r\n"
    b". a dot and a space\r\n"
    b"last line\r\n"
)


def tls_context():
    return ssl.create_default_context(cafile=str(pki_dir() / "ca.crt"))


@pytest.fixture
def gateway(mailgate_factory, migrated_database):
    """A serving mailgate on a migrated database; yields (server, ports, url)."""
    ports = free_ports(4)
    server = mailgate_factory(basic_config(ports), env={"MAILGATE_DATABASE_URL": migrated_database})
    server.start(wait_ports=ports[:2])
    yield server, ports, migrated_database


def queued_id(text):
    match = re.search(r"queued as ([0-9A-Z]{17})", text)
    assert match, text
    return match.group(1)


def curl(url, upload, recipients, tmp_path, starttls):
    path = tmp_path / "upload.eml"
    path.write_bytes(upload)
    command = ["curl", "--silent", "--show-error", "--verbose", "--max-time", "60", url,
               "--cacert", str(pki_dir() / "ca.crt"), "--user", f"dev:{PASSWORD}",
               "--mail-from", "dev@example.test", "--upload-file", str(path)]
    if starttls:
        command.append("--ssl-reqd")
    for recipient in recipients:
        command += ["--mail-rcpt", recipient]
    return subprocess.run(command, capture_output=True, timeout=90)


def without_added_headers(stored, original):
    """`stored` minus the Received: field mailgate puts first and the Message-ID:
    line it adds after it when `original` has none; fails if either is absent."""
    assert stored.startswith(b"Received: "), stored[:200]
    end = stored.index(b"\r\n") + 2
    while stored[end:end + 1] in (b" ", b"\t"):  # the field's folded lines
        end = stored.index(b"\r\n", end) + 2
    rest = stored[end:]
    if not re.search(rb"(?im)^message-id:", original.split(b"\r\n\r\n", 1)[0]):
        added = re.match(rb"Message-ID: <[^>\r\n]+@mail\.example\.test>\r\n", rest)
        assert added, rest[:200]
        rest = rest[added.end():]
    return rest


CURL_CASES = [
    # (name, scheme, port index, upload, recipients)
    ("starttls-with-message-id", "smtp", 0, WITH_MESSAGE_ID, ["bob@example.org"]),
    ("starttls-without-message-id", "smtp", 0, WITHOUT_MESSAGE_ID, ["carol@example.org", "dave@example.org"]),
    ("implicit-tls-with-message-id", "smtps", 1, WITH_MESSAGE_ID, ["bob@example.org"]),
    ("implicit-tls-without-message-id", "smtps", 1, WITHOUT_MESSAGE_ID, ["carol@example.org", "dave@example.org"]),
]


@pytest.mark.parametrize("name,scheme,port_index,upload,recipients", CURL_CASES, ids=[c[0] for c in CURL_CASES])
def test_curl_upload_is_stored_byte_identical(gateway, tmp_path, name, scheme, port_index, upload, recipients):
    server, ports, url = gateway
    result = curl(f"{scheme}://127.0.0.1:{ports[port_index]}", upload, recipients, tmp_path,
                  starttls=(scheme == "smtp"))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    queue_id = queued_id(result.stderr.decode(errors="replace"))
    stored = psql_bytes(url, f"SELECT message FROM email_queue WHERE id = '{queue_id}'")
    assert without_added_headers(stored, upload) == upload


@pytest.mark.parametrize("scheme,port_index", [("smtp", 0), ("smtps", 1)], ids=["starttls", "implicit-tls"])
def test_curl_records_tls_and_auth_in_received(gateway, tmp_path, scheme, port_index):
    server, ports, url = gateway
    result = curl(f"{scheme}://127.0.0.1:{ports[port_index]}", WITHOUT_MESSAGE_ID, ["carol@example.org"], tmp_path,
                  starttls=(scheme == "smtp"))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    queue_id = queued_id(result.stderr.decode(errors="replace"))
    stored = psql_bytes(url, f"SELECT message FROM email_queue WHERE id = '{queue_id}'")
    received = stored.split(b"\r\nMessage-ID:", 1)[0]
    assert b"with ESMTPSA" in received and f"id {queue_id}".encode() in received


def test_curl_without_tls_is_refused_when_tls_is_required(gateway, tmp_path):
    server, ports, url = gateway
    # Plain smtp:// without --ssl-reqd: curl tries AUTH on a plaintext session and
    # mailgate offers none, so the login cannot happen and nothing is queued.
    result = curl(f"smtp://127.0.0.1:{ports[0]}", WITHOUT_MESSAGE_ID, ["carol@example.org"], tmp_path,
                  starttls=False)
    assert result.returncode != 0
    assert psql(url, "SELECT count(*) FROM email_queue") == [["0"]]


# ---------------------------------------------------------------- disconnects


def open_in_data(port, implicit_tls, command, expected):
    """A logged-in TLS session that has sent MAIL, RCPT and then `command`,
    whose reply must start with `expected` (None: the server is still reading
    it); returns the TLS socket, which owns the connection (wrapping detaches
    the plain one)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    stream = tls_context().wrap_socket(raw, server_hostname="localhost") if implicit_tls else raw
    reader = stream.makefile("rb")

    def reply():
        lines = []
        while True:
            line = reader.readline()
            assert line, "connection closed"
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    assert reply()[0].startswith(b"220")
    stream.sendall(b"EHLO client.example.test\r\n")
    reply()
    if not implicit_tls:
        stream.sendall(b"STARTTLS\r\n")
        assert reply()[0].startswith(b"220")
        stream = tls_context().wrap_socket(raw, server_hostname="localhost")
        reader = stream.makefile("rb")
    stream.sendall(b"EHLO client.example.test\r\n")
    assert b"250-CHUNKING\r\n" in b"".join(reply())
    stream.sendall(b"AUTH PLAIN AGRldgBzZWNyZXQ=\r\n")  # dev / secret
    assert reply()[0].startswith(b"235")
    stream.sendall(b"MAIL FROM:<dev@example.test>\r\n")
    assert reply()[0].startswith(b"250")
    stream.sendall(b"RCPT TO:<gone@example.org>\r\n")
    assert reply()[0].startswith(b"250")
    stream.sendall(command)
    if expected is not None:
        assert reply()[0].startswith(expected)
    return stream


MESSAGE_HEAD = b"From: dev@example.test\r\nSubject: cut short\r\n\r\n" + b"x" * 70 + b"\r\n"
FIRST_CHUNK = b"BDAT %d\r\n" % len(MESSAGE_HEAD) + MESSAGE_HEAD

DISCONNECT_CASES = [
    # (name, implicit TLS, command, its reply, bytes sent before the client vanishes, how it goes)
    ("data-mid-line", True, b"DATA\r\n", b"354", MESSAGE_HEAD + b"half a li", "close"),
    ("data-after-full-lines", True, b"DATA\r\n", b"354", MESSAGE_HEAD * 50, "close"),
    ("data-dot-without-final-crlf", True, b"DATA\r\n", b"354", MESSAGE_HEAD + b".", "close"),
    ("data-dot-cr-without-lf", True, b"DATA\r\n", b"354", MESSAGE_HEAD + b".\r", "close"),
    ("data-reset", True, b"DATA\r\n", b"354", MESSAGE_HEAD * 20, "reset"),
    ("data-over-starttls", False, b"DATA\r\n", b"354", MESSAGE_HEAD * 20, "close"),
    ("data-tls-close-notify", True, b"DATA\r\n", b"354", MESSAGE_HEAD * 20, "close-notify"),
    ("bdat-last-chunk-short", True, b"BDAT 1000 LAST\r\n", None, MESSAGE_HEAD, "close"),
    ("bdat-last-chunk-missing", True, FIRST_CHUNK, b"250", b"BDAT 500 LAST\r\n" + b"y" * 100, "close"),
    ("bdat-no-last-chunk", True, FIRST_CHUNK, b"250", b"", "close"),
]


@pytest.mark.parametrize("name,implicit_tls,command,expected,partial,closing", DISCONNECT_CASES,
                         ids=[c[0] for c in DISCONNECT_CASES])
def test_disconnect_in_the_middle_of_data_queues_nothing(gateway, name, implicit_tls, command, expected, partial,
                                                         closing):
    server, ports, url = gateway
    stream = open_in_data(ports[1] if implicit_tls else ports[0], implicit_tls, command, expected)
    stream.sendall(partial)
    if closing == "reset":
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.close()  # RST instead of FIN
    elif closing == "close-notify":
        stream.settimeout(5)
        try:
            stream.unwrap().close()  # a clean TLS shutdown in the middle of the message
        except (OSError, ssl.SSLError):
            stream.close()
    else:
        stream.close()  # the TCP stream just ends (Python sends no close_notify here)
    # A complete message from the same client afterwards: once it is committed,
    # the session that vanished has long been dealt with.
    with smtplib.SMTP_SSL("127.0.0.1", ports[1], context=tls_context(), timeout=30) as client:
        client.login("dev", PASSWORD)
        client.sendmail("dev@example.test", ["after@example.org"], b"From: dev@example.test\r\n\r\nwhole\r\n")
    rows = psql(url, "SELECT s.recipient FROM email_queue q JOIN email_sends s ON s.queue_id = q.id")
    assert rows == [["after@example.org"]]
    assert psql(url, "SELECT count(*) FROM email_queue") == [["1"]]
