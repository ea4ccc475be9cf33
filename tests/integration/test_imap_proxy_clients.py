"""Real mail clients through the IMAP proxy, Dovecot behind it: curl's imap://
(STARTTLS) and imaps:// list the mailboxes and fetch a message byte-identical to
Dovecot's copy; mbsync (isync) mirrors the mailbox into a local Maildir.
mbsync 1.4 matches only DNS names in certificates: the test server certificate
carries DNS:127.0.0.1."""
import re
import subprocess

import pytest

from conftest import UPSTREAM_PASSWORD
from test_imap_proxy import GATEWAY_PASSWORD, Proxy

MESSAGES = [
    (f"From: Customer <customer@example.net>\r\nTo: sales@example.test\r\nSubject: client test {n}\r\n"
     f"Message-ID: <client-{n}@example.net>\r\nDate: Mon, 2 Mar 2026 09:0{n}:00 +0000\r\n\r\n"
     f"Body {n}\r\n" + "line\r\n" * (n * 100)).encode()
    for n in range(3)
]


@pytest.fixture
def seeded(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database):
    """The proxy, with the sales mailbox holding MESSAGES (appended straight to Dovecot)."""
    import imaplib
    import ssl
    context = ssl.create_default_context(cafile=str(imap_pki / "ca.crt"))
    client = imaplib.IMAP4_SSL("127.0.0.2", dovecot.imaps_port, ssl_context=context, timeout=30)
    client.login("sales@example.test", UPSTREAM_PASSWORD)
    client.select("INBOX")
    status, data = client.uid("SEARCH", None, "ALL")
    if not data[0]:
        for raw in MESSAGES:
            assert client.append("INBOX", None, None, raw)[0] == "OK"
    client.logout()
    return Proxy(mailgate_factory, tmp_path, imap_pki, dovecot, migrated_database)


def curl(url, pki, *extra):
    command = ["curl", "--silent", "--show-error", "--max-time", "60", "--cacert", str(pki / "ca.crt"),
               "--user", f"alice:{GATEWAY_PASSWORD}", *extra, url]
    return subprocess.run(command, capture_output=True, timeout=90)


def test_curl_lists_and_fetches_over_starttls_and_implicit_tls(seeded, imap_pki):
    listed = curl(f"imap://127.0.0.1:{seeded.imap_port}/", imap_pki, "--ssl-reqd")
    assert listed.returncode == 0, listed.stderr
    assert b'"INBOX"' in listed.stdout or b" INBOX" in listed.stdout, listed.stdout
    for uid, raw in enumerate(MESSAGES, start=1):
        fetched = curl(f"imaps://127.0.0.1:{seeded.imaps_port}/INBOX;UID={uid}", imap_pki)
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout == raw


def test_curl_with_a_wrong_gateway_password_is_refused(seeded, imap_pki):
    result = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "60", "--cacert", str(imap_pki / "ca.crt"),
                             "--user", "alice:wrong", f"imaps://127.0.0.1:{seeded.imaps_port}/"],
                            capture_output=True, timeout=90)
    assert result.returncode == 67, result  # CURLE_LOGIN_DENIED


def test_mbsync_mirrors_the_mailbox(seeded, imap_pki, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""
IMAPAccount gateway
Host 127.0.0.1
Port {seeded.imaps_port}
User alice
Pass {GATEWAY_PASSWORD}
SSLType IMAPS
CertificateFile {imap_pki / 'ca.crt'}

IMAPStore gateway-remote
Account gateway

MaildirStore local
Path {mirror}/
Inbox {mirror}/INBOX

Channel gateway
Far :gateway-remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""")
    result = subprocess.run(["mbsync", "-c", str(config), "gateway"], capture_output=True, timeout=120)
    assert result.returncode == 0, result
    files = sorted(p for sub in ("new", "cur") for p in (mirror / "INBOX" / sub).iterdir())
    assert len(files) == len(MESSAGES)
    # mbsync stores Maildir files with LF line ends and adds its X-TUID header: compare without both.
    mirrored = sorted(re.sub(rb"(?m)^X-TUID: \S+\n", b"", p.read_bytes()) for p in files)
    assert mirrored == sorted(raw.replace(b"\r\n", b"\n") for raw in MESSAGES)
    # A second run finds nothing new.
    again = subprocess.run(["mbsync", "-c", str(config), "gateway"], capture_output=True, timeout=120)
    assert again.returncode == 0, again
    assert len([p for sub in ("new", "cur") for p in (mirror / "INBOX" / sub).iterdir()]) == len(MESSAGES)
