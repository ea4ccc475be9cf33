"""The admin's command line against a real PostgreSQL: `mailgate queue`,
`mailgate suppression` and `mailgate accounts status`. Queue rows are written
with psql the way submission writes them (email_queue, email_sends, events);
every test checks both what the command printed and what it left in the database."""
import json
import os
import random
import subprocess

import pytest

from conftest import PSQL, basic_config, free_port, free_ports, psql, run

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

ACCOUNTS = """
[[account]]
name = "sales"
address = "sales@example.test"
send_as = ["sales@example.test"]
smtp = "smtp+plain://127.0.0.1:2526"
max_connections = 3
limits = { per_minute = 5, per_hour = 4, per_day = 2000 }
warmup = { started = 2020-01-01, daily = [10, 20] }

[[account]]
name = "warming"
address = "warming@example.test"
smtp = "smtp+plain://127.0.0.1:2527"
limits = { per_day = 5000 }
warmup = { started = 2099-01-01, daily = [50, 100] }
"""


def make_id():
    return "".join(random.choice(ALPHABET) for _ in range(17))


class Admin:
    def __init__(self, config, url):
        self.config = config
        self.url = url
        self.env = dict(os.environ, MAILGATE_DATABASE_URL=url)

    def mg(self, *args, env=None):
        command, rest = args[0], args[1:]
        if command in ("queue", "suppression", "accounts"):
            full = [command, rest[0], "--config", str(self.config), *rest[1:]]
        else:
            full = [command, "--config", str(self.config), *rest]
        return run(*full, env=env or self.env)

    def sql(self, text):
        return psql(self.url, text)

    def enqueue(self, recipients, sender="alice@example.test", priority=2, age="10 minutes", held=False,
                not_before="now()"):
        """A message and its recipients. Each recipient is (address, status, attempts, extra SQL assignments)."""
        queue_id = make_id()
        self.sql(f"""
            INSERT INTO email_queue (id, submitted_by, client_address, mail_from, size, message, priority,
                                     held, created_at, not_before, message_id)
            VALUES ('{queue_id}', 'dev', '127.0.0.1', '{sender}', 1234, 'body'::bytea,
                    {priority}, {str(held).lower()}, now() - interval '{age}', {not_before}, '<m-{queue_id}@example.test>')""")
        for address, status, attempts, extra in recipients:
            assignments = f", {extra}" if extra else ""
            self.sql(f"""
                WITH send AS (
                    INSERT INTO email_sends (queue_id, recipient, priority, status, attempts)
                    VALUES ('{queue_id}', '{address}', {priority}, '{status}', {attempts}) RETURNING id)
                INSERT INTO email_events (queue_id, send_id, recipient, event, created_at)
                SELECT '{queue_id}', id, '{address}', 'queued', now() - interval '{age}' FROM send""")
            if extra:
                self.sql(f"UPDATE email_sends SET status = status{assignments} "
                         f"WHERE queue_id = '{queue_id}' AND recipient = '{address}'")
        return queue_id

    def sends(self, queue_id):
        return {row[0]: row[1:] for row in self.sql(
            f"SELECT recipient, status, attempts, wait_reason, next_attempt_at <= now() FROM email_sends "
            f"WHERE queue_id = '{queue_id}'")}


@pytest.fixture
def admin(database, tmp_path):
    ports = free_ports(4)
    config = tmp_path / "mailgate.toml"
    config.write_text(basic_config(ports, extra=ACCOUNTS))
    instance = Admin(config, database)
    migrated = instance.mg("migrate")
    assert migrated.returncode == 0, migrated.stderr
    return instance


def lines(result):
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


# MARK: queue list

def test_list_empty_queue(admin):
    assert lines(admin.mg("queue", "list")) == ["Mail queue is empty"]
    assert lines(admin.mg("queue", "list", "--json")) == []


def test_list_one_line_per_message_newest_last(admin):
    older = admin.enqueue([("bob@example.org", "deferred", 2, "next_attempt_at = now() + interval '1 hour'"),
                           ("carol@example.org", "sent", 1, "sent_at = now()")], age="2 hours", priority=4)
    newer = admin.enqueue([("dan@example.org", "queued", 0, None)], sender="", age="3 minutes", priority=0)
    out = lines(admin.mg("queue", "list"))
    assert out[0].split() == ["QUEUE", "ID", "AGE", "SIZE", "PRIORITY", "RCPTS", "NEXT", "ATTEMPT", "HELD", "SENDER"]
    first, second = out[1].split(), out[2].split()
    assert first[0] == older and second[0] == newer
    assert first[1:5] == ["2h", "1234", "bulk", "1/2"]
    assert first[5].endswith("Z") and first[6:] == ["-", "alice@example.test"]
    assert second[1:] == ["3m", "1234", "critical", "1/1", "now", "-", "<>"]
    assert out[3] == "-- 2 messages, 2468 bytes, 2 recipients waiting"


def test_list_json_lines(admin):
    queue_id = admin.enqueue([("bob@example.org", "queued", 0, None), ("eve@example.org", "failed", 5, None)],
                             age="5 minutes")
    [line] = lines(admin.mg("queue", "list", "--json"))
    record = json.loads(line)
    assert list(record) == ["id", "created_at", "age_seconds", "size", "sender", "priority", "waiting",
                            "recipients", "next_attempt_at", "held"]
    assert (record["id"], record["size"], record["sender"], record["priority"]) == \
        (queue_id, 1234, "alice@example.test", "normal")
    assert (record["waiting"], record["recipients"], record["held"]) == (1, 2, False)
    assert 290 <= record["age_seconds"] <= 400
    assert record["created_at"].endswith("Z") and record["next_attempt_at"].endswith("Z")


def test_list_filters(admin):
    bulk = admin.enqueue([("a@example.org", "queued", 0, None)], priority=4, sender="News@Example.test")
    held = admin.enqueue([("b@example.org", "held", 0, None)], held=True)
    done = admin.enqueue([("c@example.org", "sent", 1, None)])
    ids = lambda *args: [json.loads(line)["id"] for line in lines(admin.mg("queue", "list", "--json", *args))]
    assert ids() == [bulk, held]
    assert ids("--held") == [held]
    assert ids("--sender", "news@example.TEST") == [bulk]
    assert ids("--priority", "bulk") == [bulk]
    assert ids("--priority", "normal") == [held]
    assert ids("--all") == [bulk, held, done]
    bad = admin.mg("queue", "list", "--priority", "urgent")
    assert bad.returncode == 2 and "unknown priority urgent" in bad.stderr


# MARK: queue show

def test_show_envelope_recipients_why_they_wait_and_events(admin):
    queue_id = admin.enqueue([
        ("bob@example.org", "deferred", 2,
         "next_attempt_at = now() + interval '8 minutes', account = 'sales', "
         "last_reply = '451 4.7.1 Try again later', wait_reason = 'retry 3 of 5 after 451 4.7.1'"),
        ("carol@example.org", "sending", 0,
         "lease_owner = 'node-a', lease_expires_at = now() + interval '5 minutes', account = 'sales'"),
        ("dan@example.org", "queued", 0,
         "next_attempt_at = now() + interval '1 hour', wait_reason = 'per_hour limit 300 of sales reached'"),
        ("eve@example.org", "sent", 1, "sent_at = now(), last_reply = '250 2.0.0 Ok', account = 'sales'"),
    ])
    admin.sql(f"INSERT INTO email_events (queue_id, recipient, event, account, reason, detail) "
              f"VALUES ('{queue_id}', 'bob@example.org', 'deferred', 'sales', 'temporary', '451 4.7.1 Try again later')")
    text = lines(admin.mg("queue", "show", queue_id.lower()))
    assert text[0] == f"Queue ID:    {queue_id}"
    assert "Sender:      alice@example.test" in text
    assert f"Message-ID:  <m-{queue_id}@example.test>" in text
    assert "Held:        no" in text and "Priority:    normal" in text
    bob = text.index("  bob@example.org")
    assert text[bob + 1].startswith("    status: deferred, attempts: 2, next attempt: ")
    assert "(in 7m)" in text[bob + 1] or "(in 8m)" in text[bob + 1]
    assert text[bob + 2] == "    account: sales"
    assert text[bob + 3] == "    last reply: 451 4.7.1 Try again later"
    assert text[bob + 4].startswith("    waits: retry 3 of 5 after 451 4.7.1; next attempt ")
    carol = text.index("  carol@example.org")
    assert any(line.startswith("    waits: being relayed by node-a (lease until ") for line in text[carol:carol + 5])
    dan = text.index("  dan@example.org")
    assert any(line.startswith("    waits: per_hour limit 300 of sales reached; next attempt ")
               for line in text[dan:dan + 4])
    eve = text.index("  eve@example.org")
    assert not any(line.startswith("    waits:") for line in text[eve:eve + 5])
    events = text[text.index("Events (5):") + 1:]
    assert [line.split()[1] for line in events] == ["queued", "queued", "queued", "queued", "deferred"]
    assert "account=sales" in events[-1] and "reason=temporary" in events[-1]


def test_show_explains_waits_without_a_stored_reason(admin):
    queue_id = admin.enqueue([
        ("due@example.org", "queued", 0, None),
        ("retry@example.org", "deferred", 3, "next_attempt_at = now() + interval '16 minutes'"),
        ("stale@example.org", "sending", 1,
         "lease_owner = 'node-b', lease_expires_at = now() - interval '1 minute'"),
    ])
    text = "\n".join(lines(admin.mg("queue", "show", queue_id)))
    assert "waits: due now: waiting for a relay to claim it" in text
    assert "waits: retry after attempt 3 at " in text
    assert "waits: lease by node-b expired at " in text and "another node will pick it up" in text
    future = admin.enqueue([("later@example.org", "queued", 0, "next_attempt_at = now() + interval '2 days'")],
                           not_before="now() + interval '2 days'")
    assert "waits: future release (FUTURERELEASE) until " in admin.mg("queue", "show", future).stdout


def test_show_json(admin):
    queue_id = admin.enqueue([("bob@example.org", "deferred", 1, "wait_reason = 'retry'")])
    document = json.loads(admin.mg("queue", "show", queue_id, "--json").stdout)
    assert document["id"] == queue_id and document["sender"] == "alice@example.test"
    assert [(r["recipient"], r["status"], r["attempts"], r["wait_reason"]) for r in document["recipients"]] == \
        [("bob@example.org", "deferred", 1, "retry")]
    assert [e["event"] for e in document["events"]] == ["queued"]


def test_show_unknown_and_malformed_ids(admin):
    missing = admin.mg("queue", "show", make_id())
    assert missing.returncode == 1 and "no message" in missing.stderr and missing.stdout == ""
    for bad in ["short", "01ABCDEFGHJKMNPQI", "01ABCDEFGHJKMNPQRS", "'; DROP TABLE email_queue; --"]:
        result = admin.mg("queue", "show", bad)
        assert result.returncode == 2, bad
        assert "not a queue id" in result.stderr
    assert admin.sql("SELECT count(*) FROM email_queue") == [["0"]]
    for usage in (["queue", "retry"], ["queue", "list", "--bogus"], ["suppression", "add"]):
        result = admin.mg(*usage)
        assert result.returncode == 2, usage
        assert "Usage: mailgate " + " ".join(usage[:2]) in result.stderr


# MARK: queue retry, hold, release, delete

def listen_then(admin, action):
    """Runs `action` while a psql session LISTENs on mailgate_queue; returns (action's result, what psql
    printed after it: psql reports notifications when its next query completes)."""
    listener = subprocess.Popen([PSQL, admin.url, "-XAtq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        listener.stdin.write("LISTEN mailgate_queue;\nSELECT 'listening';\n")
        listener.stdin.flush()
        assert listener.stdout.readline().strip() == "listening"
        result = action()
        output, _ = listener.communicate("SELECT 'done';\n", timeout=30)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    return result, output


def test_retry_makes_waiting_recipients_due_and_notifies(admin):
    queue_id = admin.enqueue([
        ("bob@example.org", "deferred", 2, "next_attempt_at = now() + interval '30 minutes', wait_reason = 'retry'"),
        ("carol@example.org", "queued", 0, "next_attempt_at = now() + interval '1 day', wait_reason = 'per_day'"),
        ("dan@example.org", "sent", 1, "next_attempt_at = now() + interval '1 day'"),
    ], not_before="now() + interval '1 day'")
    result, notices = listen_then(admin, lambda: admin.mg("queue", "retry", queue_id))
    assert lines(result) == [f"retry: 2 recipients of {queue_id} due now"]
    assert 'notification "mailgate_queue"' in notices
    sends = admin.sends(queue_id)
    assert sends["bob@example.org"] == ["deferred", "2", "", "t"]
    assert sends["carol@example.org"] == ["queued", "0", "", "t"]
    assert sends["dan@example.org"][0] == "sent" and sends["dan@example.org"][3] == "f"
    assert admin.sql(f"SELECT not_before <= now() FROM email_queue WHERE id = '{queue_id}'") == [["t"]]


def test_retry_leaves_held_recipients_held(admin):
    queue_id = admin.enqueue([("bob@example.org", "held", 1, None)], held=True)
    out = lines(admin.mg("queue", "retry", queue_id))
    assert out == [f"retry: 0 recipients of {queue_id} due now (the message is held: mailgate queue release {queue_id})"]
    assert admin.sends(queue_id)["bob@example.org"][0] == "held"


def test_hold_then_release_restores_statuses(admin):
    queue_id = admin.enqueue([
        ("new@example.org", "queued", 0, None),
        ("tried@example.org", "deferred", 2, "next_attempt_at = now() + interval '4 minutes'"),
        ("busy@example.org", "sending", 0, "lease_owner = 'n1', lease_expires_at = now() + interval '5 minutes'"),
        ("done@example.org", "sent", 1, None),
    ])
    assert lines(admin.mg("queue", "hold", queue_id)) == \
        [f"held 2 recipients of {queue_id}; 1 being relayed now, not held"]
    assert admin.sql(f"SELECT held FROM email_queue WHERE id = '{queue_id}'") == [["t"]]
    sends = admin.sends(queue_id)
    assert {name: row[0] for name, row in sends.items()} == {
        "new@example.org": "held", "tried@example.org": "held", "busy@example.org": "sending",
        "done@example.org": "sent"}
    assert [json.loads(line)["id"] for line in lines(admin.mg("queue", "list", "--held", "--json"))] == [queue_id]
    assert "waits: held by the admin" in admin.mg("queue", "show", queue_id).stdout

    result, notices = listen_then(admin, lambda: admin.mg("queue", "release", queue_id))
    assert lines(result) == [f"released 2 recipients of {queue_id}"]
    assert 'notification "mailgate_queue"' in notices
    sends = admin.sends(queue_id)
    assert sends["new@example.org"][:3] == ["queued", "0", ""]
    assert sends["tried@example.org"][:3] == ["deferred", "2", ""]
    assert sends["tried@example.org"][3] == "f"  # its retry time is kept
    assert admin.sql(f"SELECT held FROM email_queue WHERE id = '{queue_id}'") == [["f"]]


def test_changes_run_every_id_and_fail_for_unknown_ones(admin):
    first = admin.enqueue([("a@example.org", "queued", 0, None)])
    second = admin.enqueue([("b@example.org", "queued", 0, None), ("c@example.org", "queued", 0, None)])
    unknown = make_id()
    result = admin.mg("queue", "hold", first, unknown, second)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"held 1 recipient of {first}", f"held 2 recipients of {second}"]
    assert f"no message {unknown} in the queue" in result.stderr
    bad = admin.mg("queue", "release", first, "nonsense")
    assert bad.returncode == 2 and "not a queue id: nonsense" in bad.stderr
    assert admin.sends(first)["a@example.org"][0] == "held"  # nothing ran


def test_delete_refuses_live_leases_unless_forced(admin):
    busy = admin.enqueue([("a@example.org", "sending", 0,
                           "lease_owner = 'node-a', lease_expires_at = now() + interval '5 minutes'"),
                          ("b@example.org", "queued", 0, None)])
    stale = admin.enqueue([("c@example.org", "sending", 1,
                            "lease_owner = 'node-b', lease_expires_at = now() - interval '1 minute'")])
    refused = admin.mg("queue", "delete", busy)
    assert refused.returncode == 1
    assert f"{busy}: 1 recipient being relayed now by node-a" in refused.stderr and "--force" in refused.stderr
    assert admin.sql(f"SELECT count(*) FROM email_sends WHERE queue_id = '{busy}'") == [["2"]]

    assert lines(admin.mg("queue", "delete", stale)) == [f"deleted {stale} (1 recipient)"]
    assert lines(admin.mg("queue", "delete", "--force", busy)) == [f"deleted {busy} (2 recipients)"]
    assert admin.sql("SELECT count(*) FROM email_queue") == [["0"]]
    assert admin.sql("SELECT count(*) FROM email_sends") == [["0"]]
    # Events survive, detached from the deleted message.
    assert admin.sql("SELECT count(*), count(queue_id) FROM email_events") == [["3", "0"]]
    again = admin.mg("queue", "delete", stale)
    assert again.returncode == 1 and f"no message {stale} in the queue" in again.stderr


# MARK: suppression

def test_suppression_add_list_remove(admin):
    assert lines(admin.mg("suppression", "add", "Bob@Example.ORG")) == ["suppressed bob@example.org for every sender"]
    assert lines(admin.mg("suppression", "add", "carol@example.org", "--scope", "News@Example.test",
                          "--reason", "asked by phone")) == \
        ["suppressed carol@example.org for news@example.test"]
    again = lines(admin.mg("suppression", "add", "bob@example.org", "--reason", "other"))
    assert again[0].startswith("already suppressed: bob@example.org for every sender (source admin, since ")
    assert admin.sql("SELECT address, scope, reason, source FROM email_suppressions ORDER BY address") == [
        ["bob@example.org", "", "added by the admin", "admin"],
        ["carol@example.org", "news@example.test", "asked by phone", "admin"]]

    table = lines(admin.mg("suppression", "list"))
    assert table[0].split() == ["ADDRESS", "SCOPE", "SOURCE", "SINCE", "REASON"]
    assert table[1].split()[:3] == ["bob@example.org", "*", "admin"]
    assert table[2].split()[:3] == ["carol@example.org", "news@example.test", "admin"]
    assert table[2].endswith("asked by phone") and table[3] == "-- 2 entries"
    records = [json.loads(line) for line in lines(admin.mg("suppression", "list", "--json"))]
    assert [(r["address"], r["scope"], r["source"], r["reason"]) for r in records] == [
        ("bob@example.org", "", "admin", "added by the admin"),
        ("carol@example.org", "news@example.test", "admin", "asked by phone")]
    assert [json.loads(line)["address"] for line in
            lines(admin.mg("suppression", "list", "--json", "--scope", "news@example.test"))] == ["carol@example.org"]

    missing = admin.mg("suppression", "remove", "carol@example.org")  # only suppressed for one sender
    assert missing.returncode == 1 and "carol@example.org is not suppressed for every sender" in missing.stderr
    assert lines(admin.mg("suppression", "remove", "CAROL@example.org", "--scope", "news@example.test")) == \
        ["removed carol@example.org for news@example.test from the suppression list"]
    assert lines(admin.mg("suppression", "remove", "bob@example.org")) == \
        ["removed bob@example.org for every sender from the suppression list"]
    assert lines(admin.mg("suppression", "list")) == ["No suppressed addresses"]


def test_suppression_refuses_bad_input(admin):
    for args in [("add", "not-an-address"), ("add", "a@b@c"), ("add", "x@example.org", "--scope", "nobody"),
                 ("add", "x@example.org", "--reason", " "), ("remove", "x@"), ("list", "--scope", "@example.org")]:
        result = admin.mg("suppression", *args)
        assert result.returncode == 2, args
        assert "mailgate suppression" in result.stderr
    assert admin.sql("SELECT count(*) FROM email_suppressions") == [["0"]]


# MARK: accounts status

def test_accounts_status_without_rows_shows_config_and_zero(admin):
    out = lines(admin.mg("accounts", "status"))
    assert out[0].split() == ["ACCOUNT", "STATUS", "HEALTH", "MINUTE", "HOUR", "DAY", "WARM-UP", "TODAY",
                              "CONNECTIONS", "ROOM"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["sink"][1:] == ["active", "unknown", "0", "0", "0", "-", "0/2", "2"]
    # sales: plan over (started 2020), so per_day applies; the hour limit (4) binds the room.
    assert rows["sales"][1:] == ["active", "unknown", "0/5", "0/4", "0/2000", "-", "0/3", "3"]
    # warming: starts in 2099, so week 1's cap (50) applies today.
    assert rows["warming"][1:] == ["active", "unknown", "0", "0", "0/50", "50", "(week", "1)", "0/2", "2"]


def test_accounts_status_counts_pauses_and_holds(admin):
    admin.sql("""
        INSERT INTO email_accounts (name, address, status, pause_reason, paused_until, health)
        VALUES ('sales', 'sales@example.test', 'paused', '535 5.7.8 login failed', now() + interval '1 hour', 'unhealthy'),
               ('retired', 'old@example.test', 'disabled', NULL, NULL, 'unknown');
        INSERT INTO email_rate_counters (account, window_kind, window_start, sent) VALUES
            ('sales', 'minute', date_trunc('minute', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 2),
            ('sales', 'hour', date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 4),
            ('sales', 'day', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 40),
            ('sales', 'hour', date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 hour', 99),
            ('warming', 'day', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 7);
    """)
    queue_id = admin.enqueue([("x@example.org", "sending", 0,
                               "account = 'sales', lease_owner = 'n', lease_expires_at = now() + interval '1 minute'")])
    out = lines(admin.mg("accounts", "status"))
    rows = {line.split()[0]: line.split() for line in out[1:] if not line.split()[0].endswith(":")}
    assert rows["sales"][1:] == ["paused", "unhealthy", "2/5", "4/4", "40/2000", "-", "1/3", "0"]
    assert rows["warming"][5:7] == ["7/50", "50"]
    assert rows["retired"][1:3] == ["disabled", "unknown"]
    assert any(line.startswith("sales: paused: 535 5.7.8 login failed until ") for line in out)
    assert any(line.startswith("sales: per_hour limit 4 reached until ") for line in out)
    assert "retired: in the database but not in the config" in out

    records = {r["account"]: r for r in map(json.loads, lines(admin.mg("accounts", "status", "--json")))}
    sales = records["sales"]
    assert (sales["status"], sales["health"], sales["pause_reason"]) == ("paused", "unhealthy", "535 5.7.8 login failed")
    assert (sales["sent_minute"], sales["limit_minute"], sales["sent_hour"], sales["limit_hour"]) == (2, 5, 4, 4)
    assert (sales["sent_day"], sales["limit_day"], sales["day_ceiling"]) == (40, 2000, 2000)
    assert (sales["in_flight"], sales["max_connections"], sales["room"]) == (1, 3, 0)
    assert sales["held_by"].startswith("per_hour limit 4 reached until ")
    assert (records["warming"]["warmup_week"], records["warming"]["warmup_cap"]) == (1, 50)
    assert records["warming"]["room"] == 2 and records["retired"]["configured"] is False
    assert queue_id


# MARK: config and database

def test_url_from_config_when_no_environment(admin, tmp_path):
    config = tmp_path / "with-url.toml"
    config.write_text(admin.config.read_text() + f'\n[database]\nurl = "{admin.url}"\n')
    env = {k: v for k, v in os.environ.items() if k != "MAILGATE_DATABASE_URL"}
    queue_id = admin.enqueue([("a@example.org", "queued", 0, None)])
    result = run("queue", "list", "--json", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == queue_id
    no_url = run("queue", "list", "--config", str(admin.config), env=env)
    assert no_url.returncode == 2 and "no database" in no_url.stderr


def test_bad_config_and_unreachable_database(admin, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[server]\nhostname = 5\n")
    result = run("accounts", "status", "--config", str(broken), env=admin.env)
    assert result.returncode == 2 and str(broken) in result.stderr
    port = free_port()
    env = dict(os.environ, MAILGATE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/none")
    for args in (["queue", "list"], ["suppression", "list"], ["accounts", "status"]):
        down = admin.mg(*args, env=env)
        assert down.returncode == 1, args
        assert "cannot connect to PostgreSQL" in down.stderr
