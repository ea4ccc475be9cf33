"""`mailgate ingest` and `mailgate threads show` against a real PostgreSQL:
conversations threaded by ids, by a late parent and by subject; duplicates
stored once; attachments stored once; replies to mail we relayed joining its
thread; bounces, complaints and receipts matched to our sends, recorded as
events and suppressing (hard at once, soft after three, a delivery resets)."""
import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from conftest import REPO, psql, run

CORPUS = Path(os.environ.get("MAILGATE_CORPUS", REPO.parent / "shared" / "corpus"))
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ingest(db, tmp_path, *messages, account="sales", folder=None, direction=None, expect_rc=0):
    files = []
    for message in messages:
        path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.eml"
        path.write_bytes(message.encode() if isinstance(message, str) else message)
        files.append(str(path))
    args = ["ingest", "--account", account]
    if folder:
        args += ["--folder", folder]
    if direction:
        args += ["--direction", direction]
    result = run(*args, *files, env=dict(os.environ, MAILGATE_DATABASE_URL=db))
    assert result.returncode == expect_rc, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def mail(headers, body="Hello.\r\n"):
    return "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n" + body


def queue_id():
    return "01J" + "".join(random.choice(ALPHABET) for _ in range(14))


def relayed(db, recipient, message_id, sent_minutes_ago=10, account="sales", body="Our offer.\r\n", subject="Offer"):
    """A message we relayed: an email_queue row and a sent email_sends row. Returns (queue id, send id, raw)."""
    qid = queue_id()
    raw = (f"Received: from client (client [127.0.0.1])\r\n\tby mail.example.test (mailgate) with ESMTPSA id {qid};"
           f" Mon, 2 Mar 2026 09:00:00 +0000\r\nFrom: Sales <sales@example.test>\r\nTo: {recipient}\r\n"
           f"Subject: {subject}\r\nMessage-ID: {message_id}\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n{body}")
    psql(db, f"""INSERT INTO email_queue (id, submitted_by, client_address, mail_from, message_id, size, message, priority)
                 VALUES ('{qid}', 'crm', '127.0.0.1', 'sales@example.test', '{message_id}', {len(raw)},
                         decode('{raw.encode().hex()}', 'hex'), 2)""")
    send = psql(db, f"""INSERT INTO email_sends (queue_id, recipient, priority, status, attempts, account, sent_at)
                        VALUES ('{qid}', '{recipient}', 2, 'sent', 1, '{account}', now() - interval '{sent_minutes_ago} minutes')
                        RETURNING id""")[0][0]
    return qid, int(send), raw


def dsn(recipient, status, action="failed", diagnostic="550 5.1.1 user unknown", returned_headers="", returned_type="text/rfc822-headers"):
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: sales@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-" + os.urandom(4).hex() + "@mx.example.net>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.net.\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        f"--B\r\nContent-Type: {returned_type}\r\n\r\n{returned_headers}\r\n--B--\r\n")


def env_for(db):
    return dict(os.environ, MAILGATE_DATABASE_URL=db)


# MARK: Threads

def test_reply_by_id_and_by_subject_join_the_thread_and_a_copy_is_stored_once(migrated_database, tmp_path):
    db = migrated_database
    first = mail([("From", "Alice <alice@example.org>"), ("To", "sales@example.test"), ("Subject", "Lunch plans"),
                  ("Message-ID", "<m1@example.org>"), ("Date", "Mon, 2 Mar 2026 10:00:00 +0000")], "Noon?\r\n")
    reply = mail([("From", "sales@example.test"), ("To", "Alice <alice@example.org>"), ("Subject", "Re: Lunch plans"),
                  ("Message-ID", "<m2@example.test>"), ("In-Reply-To", "<m1@example.org>"),
                  ("Date", "Mon, 2 Mar 2026 11:00:00 +0000")], "Yes.\r\n> Noon?\r\n")
    subject_only = mail([("From", "alice@example.org"), ("To", "sales@example.test"), ("Subject", "AW: [team] RE: Lunch  plans"),
                         ("Message-ID", "<m3@example.org>"), ("Date", "Tue, 3 Mar 2026 09:00:00 +0000")], "Great.\r\n")
    rows = ingest(db, tmp_path, first, reply, subject_only, first)
    assert [r["thread"] for r in rows] == [rows[0]["thread"]] * 4
    assert [r["new_thread"] for r in rows] == [True, False, False, False]
    assert [r["duplicate"] for r in rows] == [False, False, False, True]
    assert rows[3]["message"] == rows[0]["message"]
    assert psql(db, "SELECT count(*), min(message_count) FROM email_messages, email_threads") == [["3", "3"]]
    assert psql(db, "SELECT subject_normalised FROM email_threads") == [["lunch plans"]]
    assert psql(db, "SELECT snippet FROM email_messages ORDER BY id") == [["Noon?"], ["Yes."], ["Great."]]


def test_subject_fallback_needs_a_shared_participant_and_the_time_window(migrated_database, tmp_path):
    db = migrated_database
    psql(db, "INSERT INTO email_accounts (name, address) VALUES ('sales', 'sales@example.test')")
    first = mail([("From", "alice@example.org"), ("To", "sales@example.test"), ("Subject", "Invoice"),
                  ("Message-ID", "<i1@example.org>"), ("Date", "Mon, 2 Mar 2026 10:00:00 +0000")])
    # Someone else answers "Re: Invoice" to the same mailbox: only the account's own address is shared.
    stranger = mail([("From", "carol@example.com"), ("To", "sales@example.test"), ("Subject", "Re: Invoice"),
                     ("Message-ID", "<i2@example.com>"), ("Date", "Tue, 3 Mar 2026 10:00:00 +0000")])
    # Alice again, but three months later: another conversation.
    later = mail([("From", "alice@example.org"), ("To", "sales@example.test"), ("Subject", "Re: Invoice"),
                  ("Message-ID", "<i3@example.org>"), ("Date", "Tue, 2 Jun 2026 10:00:00 +0000")])
    # A new message (no Re:) with the same subject is not taken for a reply.
    fresh = mail([("From", "alice@example.org"), ("To", "sales@example.test"), ("Subject", "Invoice"),
                  ("Message-ID", "<i4@example.org>"), ("Date", "Wed, 4 Mar 2026 10:00:00 +0000")])
    rows = ingest(db, tmp_path, first, stranger, later, fresh)
    assert len({r["thread"] for r in rows}) == 4
    assert all(r["new_thread"] for r in rows)


def test_a_parent_arriving_after_its_reply_joins_the_reply_thread(migrated_database, tmp_path):
    db = migrated_database
    reply = mail([("From", "bob@example.net"), ("To", "sales@example.test"), ("Subject", "Re: Q"),
                  ("Message-ID", "<r@example.net>"), ("References", "<p@example.test>")])
    parent = mail([("From", "sales@example.test"), ("To", "bob@example.net"), ("Subject", "Q"),
                   ("Message-ID", "<p@example.test>")])
    rows = ingest(db, tmp_path, reply, parent, folder="Sent", direction="outbound")
    assert rows[0]["thread"] == rows[1]["thread"]
    assert psql(db, "SELECT direction, folder FROM email_messages ORDER BY id") == [["outbound", "Sent"], ["outbound", "Sent"]]


def test_a_message_joining_two_threads_merges_them(migrated_database, tmp_path):
    db = migrated_database
    a = mail([("From", "a@example.org"), ("To", "b@example.net"), ("Subject", "One"), ("Message-ID", "<a@x>")])
    b = mail([("From", "b@example.net"), ("To", "a@example.org"), ("Subject", "Two"), ("Message-ID", "<b@x>")])
    both = mail([("From", "a@example.org"), ("To", "b@example.net"), ("Subject", "Re: One"), ("Message-ID", "<c@x>"),
                 ("References", "<a@x> <b@x>")])
    rows = ingest(db, tmp_path, a, b, both)
    assert rows[0]["thread"] != rows[1]["thread"]
    assert psql(db, "SELECT count(*) FROM email_threads") == [["1"]]
    assert psql(db, "SELECT count(DISTINCT thread_id), max(t.message_count) FROM email_messages m "
                    "JOIN email_threads t ON t.id = m.thread_id") == [["1", "3"]]


def test_participants_and_attachments_are_stored_once_per_digest(migrated_database, tmp_path):
    db = migrated_database

    def with_file(message_id, to):
        return ("From: \"Alice A.\" <Alice@Example.ORG>\r\n" f"To: {to}\r\nCc: Team: carol@example.net;\r\n"
                f"Subject: Report\r\nMessage-ID: <{message_id}>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
                "--b\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                "JVBERi0xLjQK\r\n--b--\r\n")

    ingest(db, tmp_path, with_file("f1@x", "Bob <BOB@example.net>"), with_file("f2@x", "dave@example.net"))
    assert psql(db, "SELECT role, address, coalesce(display_name, '') FROM email_message_participants "
                    "WHERE message_id = (SELECT min(id) FROM email_messages) ORDER BY position") == [
        ["from", "alice@example.org", "Alice A."], ["to", "bob@example.net", "Bob"], ["cc", "carol@example.net", ""]]
    content = b"%PDF-1.4\n"
    assert psql(db, "SELECT sha256, size, content_type, encode(content, 'hex') FROM email_attachments") == [
        [hashlib.sha256(content).hexdigest(), "9", "application/pdf", content.hex()]]
    assert psql(db, "SELECT count(*), min(filename) FROM email_message_attachments") == [["2", "r.pdf"]]


def test_the_same_uid_is_a_duplicate_and_headers_are_json(migrated_database, tmp_path):
    db = migrated_database
    message = mail([("From", "a@example.org"), ("Subject", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=")], "Hi\r\n")
    rows = ingest(db, tmp_path, message, message)
    assert [r["duplicate"] for r in rows] == [False, True]
    assert psql(db, "SELECT headers->1->>'value', subject FROM email_messages") == [["Grüße", "Grüße"]]


# MARK: Mail we relayed

def test_a_reply_to_a_relayed_message_joins_its_thread(migrated_database, tmp_path):
    db = migrated_database
    qid, _, raw = relayed(db, "bob@example.net", "<offer-1@mail.example.test>")
    reply = mail([("From", "bob@example.net"), ("To", "sales@example.test"), ("Subject", "Re: Offer"),
                  ("Message-ID", "<bob-1@example.net>"), ("In-Reply-To", "<offer-1@mail.example.test>")], "Deal.\r\n")
    rows = ingest(db, tmp_path, reply)
    assert rows[0]["relayed_stored"] == 1
    assert psql(db, "SELECT direction, coalesce(queue_id, ''), message_id, thread_id = "
                    f"{rows[0]['thread']} FROM email_messages ORDER BY id") == [
        ["outbound", qid, "offer-1@mail.example.test", "t"], ["inbound", "", "bob-1@example.net", "t"]]
    # The client's Sent-folder copy (without our Received line) is the same message.
    sent_copy = raw.split("\r\n", 2)[2]
    assert sent_copy.startswith("From: ")
    again = ingest(db, tmp_path, sent_copy, folder="Sent", direction="outbound")
    assert again[0]["duplicate"] is True


def test_threads_show_by_message_id_and_thread_id(migrated_database, tmp_path):
    db = migrated_database
    rows = ingest(db, tmp_path,
                  mail([("From", "a@example.org"), ("To", "b@example.net"), ("Subject", "Plans"), ("Message-ID", "<s1@x>")], "First.\r\n"),
                  mail([("From", "b@example.net"), ("To", "a@example.org"), ("Subject", "Re: Plans"), ("Message-ID", "<s2@x>"),
                        ("In-Reply-To", "<s1@x>")], "Second.\r\n"))
    by_id = run("threads", "show", "<s2@x>", "--json", env=env_for(db))
    assert by_id.returncode == 0, by_id.stderr
    lines = [json.loads(line) for line in by_id.stdout.splitlines()]
    assert [(l["message_id"], l["snippet"], l["thread"]) for l in lines] == [("s1@x", "First.", rows[0]["thread"]),
                                                                             ("s2@x", "Second.", rows[0]["thread"])]
    text = run("threads", "show", str(rows[0]["thread"]), env=env_for(db))
    assert text.returncode == 0 and text.stdout.startswith(f"Thread {rows[0]['thread']}: \"plans\", 2 messages"), text.stdout
    missing = run("threads", "show", "nope@x", env=env_for(db))
    assert missing.returncode == 1 and "no thread or message" in missing.stderr


def test_bad_options_exit_2(migrated_database, tmp_path):
    path = tmp_path / "x.eml"
    path.write_text("Subject: x\r\n\r\nx\r\n")
    result = run("ingest", "--account", "sales", "--direction", "sideways", str(path), env=env_for(migrated_database))
    assert result.returncode == 2 and "--direction" in result.stderr
    unreadable = run("ingest", "--account", "sales", str(tmp_path / "missing.eml"), env=env_for(migrated_database))
    assert unreadable.returncode == 1 and "cannot read" in unreadable.stderr


# MARK: Bounces, complaints, receipts

def events(db):
    return psql(db, "SELECT event, recipient, coalesce(queue_id, ''), reason FROM email_events ORDER BY id")


def suppressions(db):
    return psql(db, "SELECT address, scope, source FROM email_suppressions ORDER BY address")


def test_a_hard_bounce_naming_our_queue_id_is_recorded_and_suppresses(migrated_database, tmp_path):
    db = migrated_database
    qid, send, raw = relayed(db, "Gone@Example.net", "<offer-2@mail.example.test>")
    headers = raw.split("\r\n\r\n", 1)[0].replace("<offer-2@mail.example.test>", "<rewritten@provider>")
    rows = ingest(db, tmp_path, dsn("gone@example.net", "5.1.1", returned_headers=headers))
    assert rows[0]["report"] == "bounce"
    assert [(e["event"], e["queue_id"], e["send_id"], e["suppressed"]) for e in rows[0]["events"]] == [
        ("bounced_hard", qid, send, True)]
    assert events(db) == [["bounced_hard", "gone@example.net", qid, "userunknown"]]
    assert suppressions(db) == [["gone@example.net", "", "bounce"]]
    assert psql(db, f"SELECT status FROM email_sends WHERE id = {send}") == [["failed"]]


def test_a_bounce_matched_by_message_id_lands_in_the_sender_thread(migrated_database, tmp_path):
    db = migrated_database
    qid, send, _ = relayed(db, "gone@example.net", "<offer-3@mail.example.test>")
    stored = ingest(db, tmp_path, relayed_copy(db, qid), folder="Sent", direction="outbound")
    rows = ingest(db, tmp_path, dsn("gone@example.net", "5.1.1",
                                    returned_headers="From: sales@example.test\r\nMessage-ID: <offer-3@mail.example.test>\r\n"))
    assert rows[0]["events"][0]["send_id"] == send
    assert rows[0]["thread"] == stored[0]["thread"]


def relayed_copy(db, qid):
    return bytes.fromhex(psql(db, f"SELECT encode(message, 'hex') FROM email_queue WHERE id = '{qid}'")[0][0])


def test_three_soft_bounces_suppress(migrated_database, tmp_path):
    db = migrated_database
    for minutes in (30, 20, 10):
        qid, _, _ = relayed(db, "full@example.net", f"<soft-{minutes}@mail.example.test>", sent_minutes_ago=minutes)
        rows = ingest(db, tmp_path, dsn("full@example.net", "4.2.2", diagnostic="452 4.2.2 mailbox full",
                                        returned_headers=f"Message-ID: <soft-{minutes}@mail.example.test>\r\n"))
        assert [(e["event"], e["queue_id"]) for e in rows[0]["events"]] == [("bounced_soft", qid)]
        assert rows[0]["events"][0]["suppressed"] is (minutes == 10)
    assert suppressions(db) == [["full@example.net", "", "bounce"]]
    assert "3 consecutive soft bounces" in psql(db, "SELECT reason FROM email_suppressions")[0][0]


def test_a_delivery_in_between_resets_the_soft_count(migrated_database, tmp_path):
    db = migrated_database
    plan = [(50, "soft"), (40, "soft"), (30, "delivered"), (20, "soft"), (10, "soft")]
    for minutes, outcome in plan:
        relayed(db, "flaky@example.net", f"<f-{minutes}@mail.example.test>", sent_minutes_ago=minutes)
        returned = f"Message-ID: <f-{minutes}@mail.example.test>\r\n"
        if outcome == "soft":
            report = dsn("flaky@example.net", "4.2.2", diagnostic="452 4.2.2 mailbox full", returned_headers=returned)
        else:
            report = dsn("flaky@example.net", "2.0.0", action="delivered", diagnostic="250 2.0.0 ok", returned_headers=returned)
        ingest(db, tmp_path, report)
    assert [e[0] for e in events(db)] == ["bounced_soft", "bounced_soft", "delivered", "bounced_soft", "bounced_soft"]
    assert suppressions(db) == []
    relayed(db, "flaky@example.net", "<f-5@mail.example.test>", sent_minutes_ago=5)
    ingest(db, tmp_path, dsn("flaky@example.net", "4.2.2", diagnostic="452 4.2.2 mailbox full",
                             returned_headers="Message-ID: <f-5@mail.example.test>\r\n"))
    assert suppressions(db) == [["flaky@example.net", "", "bounce"]]


def test_a_complaint_suppresses_and_an_auto_reply_is_not_a_bounce(migrated_database, tmp_path):
    db = migrated_database
    qid, _, _ = relayed(db, "angry@example.net", "<news-1@mail.example.test>")
    relayed(db, "away@example.net", "<news-2@mail.example.test>")
    complaint = (
        "From: abuse@provider.example\r\nTo: sales@example.test\r\nSubject: complaint\r\nMessage-ID: <arf-1@provider.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nA user complained.\r\n"
        "--B\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: x/1.0\r\nVersion: 1\r\n"
        "Original-Rcpt-To: angry@example.net\r\n\r\n"
        "--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: sales@example.test\r\nTo: angry@example.net\r\n"
        "Message-ID: <news-1@mail.example.test>\r\nSubject: News\r\n\r\nnews\r\n--B--\r\n")
    vacation = mail([("From", "away@example.net"), ("To", "sales@example.test"), ("Subject", "Out of office: News"),
                     ("Auto-Submitted", "auto-replied"), ("Message-ID", "<ooo@example.net>"),
                     ("In-Reply-To", "<news-2@mail.example.test>")], "I am away until Monday.\r\n")
    rows = ingest(db, tmp_path, complaint, vacation)
    assert [(e["event"], e["queue_id"], e["suppressed"]) for e in rows[0]["events"]] == [("complained", qid, True)]
    assert rows[1]["report"] == "auto_reply" and rows[1]["events"] == []
    assert suppressions(db) == [["angry@example.net", "", "complaint"]]
    assert psql(db, "SELECT status FROM email_sends WHERE recipient = 'away@example.net'") == [["sent"]]


def test_a_bounce_for_mail_we_never_sent_suppresses_nothing(migrated_database, tmp_path):
    db = migrated_database
    rows = ingest(db, tmp_path, dsn("stranger@example.net", "5.1.1",
                                    returned_headers="Message-ID: <not-ours@elsewhere>\r\n"))
    assert [(e["event"], e["queue_id"], e["suppressed"]) for e in rows[0]["events"]] == [("bounced_hard", None, False)]
    assert suppressions(db) == []
    # The same report ingested again is a duplicate: no second event.
    assert ingest(db, tmp_path, (tmp_path / "m0.eml").read_bytes())[0]["duplicate"] is True
    assert len(events(db)) == 1


# MARK: Corpus

@pytest.mark.skipif(not (CORPUS / "bounces").is_dir(), reason=f"no bounce corpus at {CORPUS} (set MAILGATE_CORPUS)")
def test_every_corpus_message_is_stored_once(migrated_database):
    db = migrated_database
    files = sorted(str(p) for p in (CORPUS / "bounces").glob("*.eml"))
    first = run("ingest", "--account", "sales", *files, env=env_for(db), timeout=600)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(rows) == len(files)
    stored = psql(db, "SELECT count(*) FROM email_messages")[0][0]
    assert int(stored) == sum(not r["duplicate"] for r in rows)
    assert sum(r["report"] == "bounce" for r in rows) >= 0.9 * len(files)
    assert suppressions(db) == []          # none of these bounces is about a send of ours
    second = run("ingest", "--account", "sales", *files, env=env_for(db), timeout=600)
    assert all(json.loads(line)["duplicate"] for line in second.stdout.splitlines())
    assert psql(db, "SELECT count(*) FROM email_messages")[0][0] == stored
