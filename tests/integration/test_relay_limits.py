"""The relay's limits through the built binary, counted where the mail lands
(one smtp-sink per account) and in email_rate_counters: accounts with
different per-minute limits get exactly their share, a warm-up plan caps a
young account and the rest waits naming the warm-up, and two mailgate
processes on one database relay 2,000 messages with no duplicate and no
window overshoot. Configs use second-scale values; no timing assertions
(the tests only wait, bounded, and align to a window start when a window
boundary would otherwise fall inside the test)."""
import datetime
import smtplib
import threading
import time

from conftest import basic_config, free_ports, psql, sink_messages, wait_until

HASH = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."


def accounts_config(ports, accounts, node_extra=""):
    """basic_config plus trusted submission from 127.0.0.0/8 as user app, the given
    [[account]] tables as (name, sink_port, extra lines) and user app allowed all of them."""
    tables = "".join(f"""
[[account]]
name = "{name}"
address = "{name}@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:{port}"
{extra}
""" for name, port, extra in accounts)
    names = ", ".join(f'"{name}"' for name, _, _ in accounts)
    text = basic_config(ports, extra=f"""{tables}
[[user]]
name = "app"
password_hash = "{HASH}"
send_as = ["*@example.test"]
accounts = [{names}]
{node_extra}""")
    return text.replace("[submission]\n", '[submission]\ntrusted_networks = ["127.0.0.0/8"]\ntrusted_user = "app"\n'
                                           "max_connections_per_ip = 1000\n", 1)


def start_node(mailgate_factory, database, config_text):
    ports = free_ports(4)
    node = mailgate_factory(config_text(ports), env={"MAILGATE_DATABASE_URL": database})
    node.start(wait_ports=ports[:2])
    return node, ports


def submit_plain(port, messages):
    """Sends (message_id, recipient) pairs over one trusted plain session."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for message_id, recipient in messages:
            client.sendmail("app@example.test", [recipient],
                            f"From: app@example.test\r\nTo: {recipient}\r\nMessage-ID: <{message_id}>\r\n"
                            f"Subject: limits {message_id}\r\n\r\nbody {message_id}\r\n")


def wait_for_window_room(window_seconds, needed_seconds):
    """Sleeps into the next window when fewer than `needed_seconds` remain in the current one
    (windows are aligned to UTC), so that the test's sends share one window."""
    left = window_seconds - time.time() % window_seconds
    if left < needed_seconds:
        time.sleep(left + 0.5)


def sent_by_account(url):
    return dict((account, int(count)) for account, count in
                psql(url, "SELECT account, count(*) FROM email_sends WHERE status = 'sent' GROUP BY account"))


def counters(url, kind):
    """{account: [sent per window, ...]} for one window kind."""
    result = {}
    for account, sent in psql(url, f"SELECT account, sent FROM email_rate_counters WHERE window_kind = '{kind}' "
                                   "ORDER BY account, window_start"):
        result.setdefault(account, []).append(int(sent))
    return result


def message_ids(dumps):
    ids = []
    for path in sink_messages(dumps):
        for line in path.read_bytes().split(b"\n"):
            if line.lower().startswith(b"message-id:"):
                ids.append(line.split(b":", 1)[1].strip().decode())
                break
        else:
            ids.append(None)
    return ids


def test_three_accounts_get_exactly_their_per_minute_share(mailgate_factory, migrated_database, smtp_sink_factory):
    limits = {"a3": 3, "a5": 5, "a7": 7}
    sinks = {name: smtp_sink_factory() for name in limits}
    config = lambda ports: accounts_config(ports, [
        (name, sinks[name][0], f"max_connections = 2\nlimits = {{ per_minute = {limit} }}")
        for name, limit in limits.items()])
    node, ports = start_node(mailgate_factory, migrated_database, config)
    total, share = 25, sum(limits.values())
    wait_for_window_room(60, 40)
    submit_plain(ports[0], [(f"{n}.share@example.test", f"r{n}@example.org") for n in range(total)])

    wait_until(lambda: sum(sent_by_account(migrated_database).values()) == share, what=f"{share} sent")
    waiting = wait_until(lambda: (lambda rows: rows if len(rows) == total - share else None)(psql(
        migrated_database, "SELECT attempts, wait_reason FROM email_sends WHERE status IN ('queued', 'deferred') "
                           "AND wait_reason LIKE '%per_minute limit%reached until%'")),
        what="the rest held by the per-minute limits")
    for name, limit in limits.items():
        dumps = sinks[name][1]
        wait_until(lambda: len(sink_messages(dumps)) >= limit, timeout=10, what=f"{limit} at {name}'s sink")

    assert sent_by_account(migrated_database) == limits
    assert {name: len(sink_messages(dumps)) for name, (_, dumps) in sinks.items()} == limits
    assert counters(migrated_database, "minute") == {name: [limit] for name, limit in limits.items()}
    assert all(attempts == "0" for attempts, _ in waiting)  # waiting for a window costs no attempt
    # Every waiting message names the window that opens first: the next minute.
    assert psql(migrated_database, "SELECT count(*) FROM email_sends WHERE status IN ('queued', 'deferred') "
                                   "AND next_attempt_at > now() AND next_attempt_at <= date_trunc('minute', now()) "
                                   "+ interval '1 minute' + interval '1 second'") == [[str(total - share)]]


def test_warmup_caps_a_young_account_and_the_rest_waits_for_it(mailgate_factory, migrated_database,
                                                               smtp_sink_factory):
    sink_port, dumps = smtp_sink_factory()
    wait_for_window_room(86400, 120)  # today's warm-up day must last the test
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    config = lambda ports: accounts_config(ports, [
        ("young", sink_port, f"limits = {{ per_minute = 100 }}\nwarmup = {{ started = {today}, daily = [4, 1000] }}")])
    node, ports = start_node(mailgate_factory, migrated_database, config)
    submit_plain(ports[0], [(f"{n}.warm@example.test", f"w{n}@example.org") for n in range(7)])

    wait_until(lambda: sent_by_account(migrated_database) == {"young": 4}, what="4 sent")
    waiting = wait_until(lambda: (lambda rows: rows if len(rows) == 3 else None)(psql(
        migrated_database, "SELECT attempts, wait_reason, next_attempt_at >= date_trunc('day', now() AT TIME ZONE "
                           "'UTC') AT TIME ZONE 'UTC' + interval '1 day' FROM email_sends "
                           "WHERE status IN ('queued', 'deferred') AND wait_reason LIKE '%warm-up%'")),
        what="3 held by the warm-up")
    wait_until(lambda: len(sink_messages(dumps)) >= 4, timeout=10, what="4 at the sink")

    assert all("account young warm-up week 1 cap 4 reached until" in reason for _, reason, _ in waiting)
    assert all(attempts == "0" and tomorrow == "t" for attempts, _, tomorrow in waiting)
    assert len(sink_messages(dumps)) == 4
    assert counters(migrated_database, "day") == {"young": [4]}
    assert psql(migrated_database, "SELECT warmup_started::text FROM email_accounts WHERE name = 'young'") \
        == [[today]]


def test_two_nodes_relay_2000_messages_without_duplicates_or_overshoot(mailgate_factory, migrated_database,
                                                                       smtp_sink_factory):
    capped_limit, total = 600, 2000
    capped_port, capped_dumps = smtp_sink_factory()
    open_port, open_dumps = smtp_sink_factory()
    # The capped account has ten times the weight, so it is preferred until its hour is full;
    # then everything goes through the other. Both nodes race for the same window.
    config = lambda ports: accounts_config(ports, [
        ("capped", capped_port, f"weight = 10\nmax_connections = 4\nlimits = {{ per_hour = {capped_limit} }}"),
        ("open", open_port, "weight = 1\nmax_connections = 4")])
    first, first_ports = start_node(mailgate_factory, migrated_database, config)
    second, second_ports = start_node(mailgate_factory, migrated_database, config)
    wait_for_window_room(3600, 240)

    batches = [[(f"{n}.two@example.test", f"t{n}@example.org") for n in range(total) if n % 4 == b] for b in range(4)]
    errors = []

    def send(port, batch):
        try:
            submit_plain(port, batch)
        except Exception as error:  # reported by the assertion below
            errors.append(repr(error))

    threads = [threading.Thread(target=send, args=((first_ports, second_ports)[b % 2][0], batch))
               for b, batch in enumerate(batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and not any(thread.is_alive() for thread in threads)

    wait_until(lambda: sum(sent_by_account(migrated_database).values()) == total, timeout=300,
               what=f"{total} sent")
    wait_until(lambda: len(sink_messages(capped_dumps)) + len(sink_messages(open_dumps)) >= total, timeout=20,
               what=f"{total} at the sinks")
    assert first.stop() == 0 and second.stop() == 0

    capped_ids, open_ids = message_ids(capped_dumps), message_ids(open_dumps)
    assert sorted(capped_ids + open_ids) == sorted(f"<{n}.two@example.test>" for n in range(total))
    assert counters(migrated_database, "hour") == {"capped": [capped_limit]}  # the open account counts nothing
    assert len(capped_ids) == capped_limit
    assert sent_by_account(migrated_database) == {"capped": capped_limit, "open": total - capped_limit}
    # Both nodes relayed (each logs its sends).
    assert first.log.read_text().count("msg=sent") > 0 and second.log.read_text().count("msg=sent") > 0
