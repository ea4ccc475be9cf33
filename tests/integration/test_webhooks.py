"""Event webhooks through the built binary: events recorded while the receiver
is down wait in the PostgreSQL outbox and arrive once it is up, each signed
(X-Mailgate-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>) and
each under its stable id exactly once; an HTTPS receiver is verified against
the test CA; inbound messages become "received" events; a receiver that never
answers well ends in the failed state after retry_for."""
import hashlib
import hmac
import json
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter

import pytest

from conftest import free_ports, pki_dir, psql, wait_for_port, wait_until, write_secret
from test_relay import relay_config, submit

SECRET = "whsec-test-key"

RECEIVER = r'''
import json, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = set()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                "body": body.decode()}) + "\n")
        event = self.headers["X-Mailgate-Event-Id"]
        # "flaky": the first request for each event gets 503 with a body, the next one 200.
        if mode == "flaky" and event not in seen:
            seen.add(event)
            payload = b"try later"
            self.send_response(503)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
if len(sys.argv) > 4:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
'''


class Receiver:
    """The Python receiver as a subprocess on a fixed port, started and stopped by the test."""

    def __init__(self, tmp_path, port, tls=False, mode="ok"):
        self.port = port
        self.mode = mode
        self.script = tmp_path / "receiver.py"
        self.script.write_text(RECEIVER)
        self.out = tmp_path / f"received-{port}.jsonl"
        self.tls = tls
        self.proc = None

    def start(self):
        args = ["/usr/bin/python3", str(self.script), str(self.port), str(self.out), self.mode]
        if self.tls:
            args += [str(pki_dir() / "server.crt"), str(pki_dir() / "server.key")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def requests(self):
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]


@pytest.fixture
def receivers(tmp_path):
    made = []

    def make(port, tls=False, mode="ok"):
        receiver = Receiver(tmp_path, port, tls, mode)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


def secret_file(tmp_path):
    path = tmp_path / "hook.key"
    write_secret(path, SECRET + "\n")
    return path


def webhook_section(url, events, secret=None, extra=""):
    lines = [f'\n[[webhook]]\nurl = "{url}"\nevents = {json.dumps(events)}\n',
             'timeout = "2s"\nretry_min = "1s"\nretry_max = "2s"\n']
    if secret:
        lines.append(f'secret_file = "{secret}"\n')
    return "".join(lines) + extra


def start_gateway(mailgate_factory, database, upstream_port, webhooks):
    ports = free_ports(4)
    config = relay_config(ports, upstream_port) + webhooks
    server = mailgate_factory(config, env={"MAILGATE_DATABASE_URL": database})
    server.start(wait_ports=ports[:2])
    # The outbox takes only subscribed event types (migration 0012); serve records them at its first pass.
    wanted = sorted({event for line in webhooks.splitlines() if line.startswith("events = ")
                     for event in json.loads(line.split("=", 1)[1])})
    wait_until(lambda: [row[0] for row in psql(database, "SELECT event FROM webhook_subscriptions ORDER BY event")]
               == wanted, timeout=20, what="webhook subscriptions recorded")
    return server, ports


def verify_signature(request):
    header = request["headers"]["X-Mailgate-Signature"]
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.{request['body']}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts["v1"], expected) and abs(time.time() - int(parts["t"])) < 300


def test_events_recorded_while_the_receiver_is_down_all_arrive_signed_once(
        mailgate_factory, migrated_database, picky_upstream, receivers, tmp_path):
    hook_port, metrics_port = free_ports(2)
    receiver = receivers(hook_port)
    server, ports = start_gateway(mailgate_factory, migrated_database, picky_upstream,
                                  f'\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
                                  + webhook_section(f"http://127.0.0.1:{hook_port}/hooks/mail?src=test",
                                                    ["queued", "sent"], secret_file(tmp_path)))
    submit(ports[1], ["burst@example.org"], count=20)
    wait_until(lambda: psql(migrated_database, "SELECT count(*) FROM email_events WHERE event = 'sent'") == [["20"]],
               timeout=60, what="20 sent")
    # Every delivery has been tried against the dead port at least once before the receiver starts.
    wait_until(lambda: psql(migrated_database,
                            "SELECT count(*) FROM webhook_deliveries WHERE attempts >= 1 AND last_error IS NOT NULL")
               == [["40"]], timeout=60, what="40 failed first attempts")
    assert psql(migrated_database, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == [["0"]]

    receiver.start()
    wait_until(lambda: len({r["headers"]["X-Mailgate-Event-Id"] for r in receiver.requests()}) >= 40,
               timeout=60, what="40 events at the receiver")
    wait_until(lambda: psql(migrated_database,
                            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == [["40"]],
               timeout=20, what="40 deliveries recorded")
    requests = receiver.requests()
    ids = Counter(r["headers"]["X-Mailgate-Event-Id"] for r in requests)
    assert max(ids.values()) == 1, ids.most_common(3)
    expected_ids = {row[0] for row in psql(migrated_database, "SELECT id FROM webhook_events WHERE type IN ('queued', 'sent')")}
    assert set(ids) == expected_ids
    assert all(verify_signature(r) for r in requests)
    bodies = [json.loads(r["body"]) for r in requests]
    assert all(r["path"] == "/hooks/mail?src=test" for r in requests)
    assert all(b["id"] == r["headers"]["X-Mailgate-Event-Id"] for b, r in zip(bodies, requests))
    assert Counter(b["type"] for b in bodies) == {"queued": 20, "sent": 20}
    assert all(b["recipient"] == "burst@example.org" and b["queue_id"] and b["created_at"].endswith("Z")
               for b in bodies)
    assert all(b["account"] == "relay" for b in bodies if b["type"] == "sent")
    assert all(r["headers"]["Content-Type"] == "application/json" for r in requests)
    log = server.log.read_text()
    assert 'msg="webhook delivery"' in log and "outcome=retried" in log and "outcome=delivered" in log
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    assert 'mailgate_webhook_deliveries_total{outcome="delivered"} 40' in metrics
    retried = [line for line in metrics.splitlines()
               if line.startswith('mailgate_webhook_deliveries_total{outcome="retried"}')]
    assert retried and int(float(retried[0].split()[-1])) >= 40


def test_https_receiver_verified_with_the_test_ca_and_received_messages(
        mailgate_factory, migrated_database, picky_upstream, receivers, tmp_path):
    (hook_port,) = free_ports(1)
    receiver = receivers(hook_port, tls=True)
    receiver.start()
    server, ports = start_gateway(
        mailgate_factory, migrated_database, picky_upstream,
        webhook_section(f"https://127.0.0.1:{hook_port}/tls", ["sent", "received"], secret_file(tmp_path),
                        extra=f'ca_file = "{pki_dir() / "ca.crt"}"\nname = "crm"\n'))
    submit(ports[1], ["tls@example.org"])
    # An inbound message as ingestion stores it: the trigger makes it a "received" event.
    psql(migrated_database,
         "WITH t AS (INSERT INTO email_threads (subject_normalised, first_message_at, last_message_at) "
         "VALUES ('hello', now(), now()) RETURNING id) "
         "INSERT INTO email_messages (thread_id, account, folder, uid, direction, message_id, raw, headers, "
         "body_sha256, size, subject) SELECT id, 'relay', 'INBOX', 7, 'inbound', 'in-1@example.org', "
         "'\\x00'::bytea, '[{\"name\": \"From\", \"value\": \"Ann <ann@example.org>\"}]', 'x', 1, 'hello' FROM t")
    requests = wait_until(lambda: (lambda r: r if len(r) >= 2 else None)(receiver.requests()),
                          timeout=60, what="two events over HTTPS")
    bodies = {json.loads(r["body"])["type"]: json.loads(r["body"]) for r in requests}
    assert set(bodies) == {"sent", "received"}
    assert bodies["sent"]["recipient"] == "tls@example.org"
    assert bodies["received"]["from"] == "Ann <ann@example.org>" and bodies["received"]["subject"] == "hello"
    assert all(verify_signature(r) for r in requests)
    wait_until(lambda: psql(migrated_database, "SELECT webhook, status, count(*) FROM webhook_deliveries "
                                               "GROUP BY 1, 2") == [["crm", "delivered", "2"]],
               timeout=20, what="both deliveries recorded for crm")


def test_untrusted_certificate_is_refused_and_the_delivery_fails_after_retry_for(
        mailgate_factory, migrated_database, picky_upstream, receivers, tmp_path):
    (hook_port,) = free_ports(1)
    receiver = receivers(hook_port, tls=True)
    receiver.start()
    # No ca_file: the system CAs do not know the test CA, so every handshake fails.
    server, ports = start_gateway(mailgate_factory, migrated_database, picky_upstream,
                                  webhook_section(f"https://127.0.0.1:{hook_port}/", ["sent"],
                                                  extra='retry_for = "3s"\n'))
    submit(ports[1], ["doomed@example.org"])
    row = wait_until(lambda: psql(migrated_database, "SELECT status, attempts, last_error FROM webhook_deliveries "
                                                     "WHERE status = 'failed'"), timeout=60, what="delivery failed")
    assert int(row[0][1]) >= 1 and "TLS" in row[0][2]
    assert receiver.requests() == []
    assert "outcome=failed" in server.log.read_text()


def test_sighup_adds_and_removes_webhooks(mailgate_factory, migrated_database, picky_upstream, receivers, tmp_path):
    old_port, new_port = free_ports(2)
    old, new = receivers(old_port), receivers(new_port)
    old.start()
    new.start()
    server, ports = start_gateway(mailgate_factory, migrated_database, picky_upstream,
                                  webhook_section(f"http://127.0.0.1:{old_port}/", ["sent"], extra='name = "old"\n'))
    submit(ports[1], ["before@example.org"])
    wait_until(lambda: len(old.requests()) == 1, timeout=60, what="first event at the old receiver")
    server.config.write_text(server.config.read_text().replace(
        f'url = "http://127.0.0.1:{old_port}/"', f'url = "http://127.0.0.1:{new_port}/"').replace(
        'name = "old"', 'name = "new"'))
    server.signal(signal.SIGHUP)
    server.wait_log('msg=reloaded')
    submit(ports[1], ["after@example.org"])
    wait_until(lambda: len(new.requests()) == 1, timeout=60, what="second event at the new receiver")
    assert json.loads(new.requests()[0]["body"])["recipient"] == "after@example.org"
    assert [json.loads(r["body"])["recipient"] for r in old.requests()] == ["before@example.org"]
    assert psql(migrated_database, "SELECT webhook, status FROM webhook_deliveries ORDER BY id") \
        == [["old", "delivered"], ["new", "delivered"]]


def test_error_answers_are_retried_and_then_delivered(
        mailgate_factory, migrated_database, picky_upstream, receivers, tmp_path):
    (hook_port,) = free_ports(1)
    receiver = receivers(hook_port, mode="flaky")
    receiver.start()
    server, ports = start_gateway(mailgate_factory, migrated_database, picky_upstream,
                                  webhook_section(f"http://127.0.0.1:{hook_port}/", ["queued", "sent"]))
    submit(ports[1], ["flaky@example.org"], count=3)
    rows = wait_until(lambda: (lambda r: r if len(r) == 6 and all(s == "delivered" for s, *_ in r) else None)(
        psql(migrated_database, "SELECT status, attempts, last_status FROM webhook_deliveries")),
        timeout=60, what="6 deliveries after one 503 each")
    assert all(attempts == "2" and last == "204" for _, attempts, last in rows)
    requests = receiver.requests()
    assert Counter(r["headers"]["X-Mailgate-Delivery-Attempt"] for r in requests) == {"1": 6, "2": 6}
    assert "error=\"HTTP 503\"" in server.log.read_text()
    # Unsigned without a secret_file.
    assert all("X-Mailgate-Signature" not in r["headers"] for r in requests)


@pytest.fixture
def silent_receiver():
    """Accepts connections and reads, but never answers; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def test_receiver_that_never_answers_times_out_and_is_retried(
        mailgate_factory, migrated_database, picky_upstream, silent_receiver):
    server, ports = start_gateway(mailgate_factory, migrated_database, picky_upstream,
                                  webhook_section(f"http://127.0.0.1:{silent_receiver}/", ["sent"])
                                  .replace('timeout = "2s"', 'timeout = "1s"'))
    submit(ports[1], ["silent@example.org"])
    row = wait_until(lambda: psql(migrated_database, "SELECT status, attempts, last_error FROM webhook_deliveries "
                                                     "WHERE attempts >= 2 AND status = 'pending'"),
                     timeout=60, what="two timed-out attempts")
    assert "timed out waiting for the response" in row[0][2]
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 10


def test_two_nodes_share_the_outbox_without_duplicates(
        mailgate_factory, migrated_database, picky_upstream, receivers, tmp_path):
    (hook_port,) = free_ports(1)
    receiver = receivers(hook_port)
    hooks = webhook_section(f"http://127.0.0.1:{hook_port}/", ["queued", "sent"], secret_file(tmp_path))
    first, first_ports = start_gateway(mailgate_factory, migrated_database, picky_upstream, hooks)
    second, second_ports = start_gateway(mailgate_factory, migrated_database, picky_upstream, hooks)
    submit(first_ports[1], ["one@example.org"], count=10)
    submit(second_ports[1], ["two@example.org"], count=10)
    wait_until(lambda: psql(migrated_database, "SELECT count(*) FROM webhook_deliveries WHERE attempts >= 1 "
                                               "AND last_error IS NOT NULL") == [["40"]],
               timeout=60, what="40 failed first attempts")
    receiver.start()
    wait_until(lambda: psql(migrated_database,
                            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == [["40"]],
               timeout=60, what="40 deliveries recorded")
    ids = Counter(r["headers"]["X-Mailgate-Event-Id"] for r in receiver.requests())
    assert len(ids) == 40 and max(ids.values()) == 1
    # Both nodes took part.
    logs = [node.log.read_text() for node in (first, second)]
    assert all("outcome=delivered" in log or "outcome=retried" in log for log in logs)
