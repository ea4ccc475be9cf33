"""IMAP helpers for bench/imap/run, standard library only (run with /usr/bin/python3).

  client.py populate MAILDIR COUNT BIG_BYTES       2,000-message INBOX and a one-message .Big folder
  client.py compare CAFILE DIRECT PROXY [options]  the figures, direct and proxied interleaved
  client.py idle CAFILE PROXY PID SESSIONS         RSS growth of PID per held proxied session

An endpoint is HOST:PORT:USER:PASSWORD; both sides are reached by the same code
(imaplib over implicit TLS, certificate and name verified against CAFILE).
`compare` alternates direct and proxied rounds (and the reference relay's,
with --relay) so drift on the shared machine falls on all of them, and prints
one line per figure: `NAME DIRECT PROXIED [RELAY]`. `idle`
opens SESSIONS proxied logins (50 per 127.0.x.y source address: the proxy caps
connections per client address at 64), holds them, and prints
`held KIB_PER_SESSION RSS_BEFORE RSS_AFTER`. Every socket has a timeout."""
import argparse
import imaplib
import os
import socket
import ssl
import statistics
import sys
import time

TIMEOUT = 60


class Client(imaplib.IMAP4_SSL):
    """IMAP4_SSL that may dial from a chosen source address."""

    def __init__(self, endpoint, context, source=None):
        self.source = source
        super().__init__(endpoint.host, endpoint.port, ssl_context=context, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        source = (self.source, 0) if self.source else None
        sock = socket.create_connection((self.host, self.port), timeout, source_address=source)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Endpoint:
    def __init__(self, text):
        self.host, port, self.user, self.password = text.split(":", 3)
        self.port = int(port)

    def login(self, context, source=None):
        client = Client(self, context, source)
        client.login(self.user, self.password)
        return client


def check(result, what):
    kind, data = result
    if kind != "OK":
        raise RuntimeError(f"{what}: {kind} {data!r}")
    return data


def close(client):
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


# ---------------------------------------------------------------- populate

def message(index, size):
    header = (f"From: Sender {index % 97} <sender{index % 97}@example.org>\r\n"
              f"To: Sales <sales@example.test>\r\n"
              f"Cc: copy{index % 13}@example.net\r\n"
              f"Subject: Bench message {index} about order {index * 7919 % 100000}\r\n"
              f"Date: Mon, 02 Mar 2026 10:{index // 60 % 60:02d}:{index % 60:02d} +0000\r\n"
              f"Message-ID: <bench.{index}@example.org>\r\n"
              f"In-Reply-To: <bench.{max(index - 1, 0)}@example.org>\r\n"
              f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n").encode()
    line = (b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 2)[:76] + b"\r\n"
    body_size = max(size - len(header), len(line))
    return header + (line * (body_size // len(line) + 1))[:body_size - 2] + b"\r\n"


def populate(maildir, count, big_bytes):
    """Maildir files written directly (Dovecot indexes them at the first SELECT).
    Sizes cycle 2-40 KB (mean about 10 KB), a mail client's usual mix."""
    sizes = [2_000, 4_000, 6_000, 8_000, 3_000, 12_000, 5_000, 40_000, 7_000, 13_000]
    for folder in ("", ".Big"):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, folder, sub), exist_ok=True)
    total = 0
    for index in range(count):
        data = message(index, sizes[index % len(sizes)])
        total += len(data)
        with open(os.path.join(maildir, "cur", f"{1_700_000_000 + index}.M{index}P1.bench:2,"), "wb") as f:
            f.write(data)
    with open(os.path.join(maildir, ".Big", "cur", "1700000000.M0P2.bench:2,"), "wb") as f:
        f.write(message(0, big_bytes))
    print(count, total)


# ---------------------------------------------------------------- compare

def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def login_once(endpoint, context):
    """Seconds for TCP + TLS + greeting, and for the LOGIN command."""
    start = time.perf_counter()
    client = Client(endpoint, context)
    greeted = time.perf_counter()
    client.login(endpoint.user, endpoint.password)
    done = time.perf_counter()
    close(client)
    return greeted - start, done - greeted


def select_fetch(client, count):
    check(client.select("INBOX", readonly=True), "SELECT INBOX")
    data = check(client.uid("FETCH", "1:*", "(FLAGS ENVELOPE)"), "UID FETCH 1:* (FLAGS ENVELOPE)")
    fetched = sum(1 for item in data if item and b"ENVELOPE" in (item[0] if isinstance(item, tuple) else item))
    if fetched != count:
        raise RuntimeError(f"UID FETCH 1:* returned {fetched} envelopes, wanted {count}")


def fetch_body(client, uid):
    data = check(client.uid("FETCH", str(uid), "(BODY[])"), f"UID FETCH {uid} BODY[]")
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    raise RuntimeError(f"UID FETCH {uid} BODY[] returned no literal")


def fetch_bodies(client, uids):
    return sum(len(fetch_body(client, uid)) for uid in uids)


def uids_of(client):
    check(client.select("INBOX"), "SELECT INBOX")
    return [int(uid) for uid in check(client.uid("SEARCH", None, "ALL"), "UID SEARCH")[0].split()]


def big_uid(client):
    check(client.select("Big"), "SELECT Big")
    uids = check(client.uid("SEARCH", None, "ALL"), "UID SEARCH")[0].split()
    if len(uids) != 1:
        raise RuntimeError(f"Big holds {len(uids)} messages, wanted 1")
    return int(uids[0])


def compare(args):
    context = ssl.create_default_context(cafile=args.cafile)
    sides = {"direct": Endpoint(args.direct), "proxy": Endpoint(args.proxy)}
    if args.relay:
        sides["relay"] = Endpoint(args.relay)
    figures = {}

    def record(name, side, value):
        figures.setdefault(name, {side: [] for side in sides})[side].append(value)

    # Warm-up on both: Dovecot's index and cache (envelopes, \Seen from BODY[]),
    # the page cache, mailgate's credential cache and upstream TLS context.
    first = {}
    for side, endpoint in sides.items():
        client = endpoint.login(context)
        uids = uids_of(client)
        if len(uids) != args.messages:
            raise RuntimeError(f"{side}: INBOX holds {len(uids)} messages, wanted {args.messages}")
        step = max(1, len(uids) // args.bodies)
        chosen = uids[::step][:args.bodies]
        select_fetch(client, args.messages)
        check(client.select("INBOX"), "SELECT INBOX")
        fetch_bodies(client, chosen)
        first[side] = fetch_body(client, chosen[-1])
        uid = big_uid(client)
        big = fetch_body(client, uid)
        if len(big) < args.big_bytes:
            raise RuntimeError(f"{side}: the big message has {len(big)} bytes, wanted {args.big_bytes}")
        close(client)
    for side, body in first.items():
        if body != first["direct"]:
            raise RuntimeError(f"a body fetched through the {side} differs from the direct one")
    for _ in range(3):
        for endpoint in sides.values():
            login_once(endpoint, context)

    print(f"# logins: {args.logins} each, alternating", file=sys.stderr)
    for _ in range(args.logins):
        for side, endpoint in sides.items():
            connect, command = login_once(endpoint, context)
            record("login_ms", side, (connect + command) * 1000)
            record("login_connect_ms", side, connect * 1000)
            record("login_command_ms", side, command * 1000)

    print(f"# NOOP round trips: {args.rounds} rounds of 100 each", file=sys.stderr)
    for _ in range(args.rounds):
        for side, endpoint in sides.items():
            client = endpoint.login(context)
            trips = [timed(lambda: check(client.noop(), "NOOP"))[0] for _ in range(100)]
            record("noop_us", side, statistics.median(trips) * 1e6)
            close(client)

    print(f"# SELECT + UID FETCH 1:* (FLAGS ENVELOPE): {args.rounds} rounds each", file=sys.stderr)
    for _ in range(args.rounds):
        for side, endpoint in sides.items():
            client = endpoint.login(context)
            elapsed, _ = timed(lambda: select_fetch(client, args.messages))
            record("select_fetch_ms", side, elapsed * 1000)
            close(client)

    print(f"# {len(chosen)} full bodies: {args.rounds} rounds each", file=sys.stderr)
    body_bytes = 0
    for _ in range(args.rounds):
        for side, endpoint in sides.items():
            client = endpoint.login(context)
            check(client.select("INBOX"), "SELECT INBOX")
            elapsed, body_bytes = timed(lambda: fetch_bodies(client, chosen))
            record("bodies_ms", side, elapsed * 1000)
            close(client)

    print(f"# large FETCH: {args.big_rounds} rounds each", file=sys.stderr)
    big_bytes = 0
    mailgate_cpu = []
    for _ in range(args.big_rounds):
        for side, endpoint in sides.items():
            client = endpoint.login(context)
            uid = big_uid(client)
            cpu = cpu_seconds(args.proxy_pid) if args.proxy_pid else 0
            elapsed, big = timed(lambda: fetch_body(client, uid))
            big_bytes = len(big)
            record("big_mb_per_s", side, big_bytes / elapsed / 1e6)
            if side == "proxy" and args.proxy_pid:
                mailgate_cpu.append((cpu_seconds(args.proxy_pid) - cpu) * 1000 / (big_bytes / 1e6))
            close(client)

    for name, values in figures.items():
        print(name, *(f"{statistics.median(values[side]):.2f}" for side in sides))
    login = figures["login_ms"]
    print("login_p90_ms", *(f"{statistics.quantiles(login[side], n=10)[-1]:.2f}" for side in sides))
    if mailgate_cpu:
        print("mailgate_cpu_ms_per_mb", "-", f"{statistics.median(mailgate_cpu):.2f}")
    print("bodies_count", len(chosen))
    print("bodies_bytes", body_bytes)
    print("big_bytes", big_bytes)


# ---------------------------------------------------------------- idle

def cpu_seconds(pid):
    """User plus system CPU time of PID (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS")


def source_address(index, per_address=50):
    block = index // per_address
    return f"127.0.{1 + block // 250}.{1 + block % 250}"


def idle(args):
    context = ssl.create_default_context(cafile=args.cafile)
    endpoint = Endpoint(args.proxy)
    time.sleep(1)
    before = rss_kib(args.pid)
    held = []
    try:
        for index in range(args.sessions):
            try:
                held.append(endpoint.login(context, source_address(index)))
            except (OSError, imaplib.IMAP4.error) as error:
                print(f"# session {index + 1} failed: {error!r}", file=sys.stderr)
                break
            if (index + 1) % 500 == 0:
                print(f"# {index + 1} sessions logged in", file=sys.stderr)
        time.sleep(2)
        after = rss_kib(args.pid)
        print(len(held), f"{(after - before) / max(len(held), 1):.1f}", before, after)
    finally:
        for client in held:
            try:
                client.shutdown()
            except OSError:
                pass


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("populate")
    p.add_argument("maildir")
    p.add_argument("count", type=int)
    p.add_argument("big_bytes", type=int)
    c = commands.add_parser("compare")
    c.add_argument("cafile")
    c.add_argument("direct")
    c.add_argument("proxy")
    c.add_argument("--messages", type=int, default=2000)
    c.add_argument("--logins", type=int, default=200)
    c.add_argument("--bodies", type=int, default=200)
    c.add_argument("--big-bytes", type=int, default=50 * 1024 * 1024)
    c.add_argument("--rounds", type=int, default=15)
    c.add_argument("--big-rounds", type=int, default=3)
    c.add_argument("--relay", help="a reference relay's endpoint (HOST:PORT:USER:PASSWORD), measured like the others")
    c.add_argument("--proxy-pid", type=int, help="mailgate's pid, for its CPU time per MB of the large FETCH")
    i = commands.add_parser("idle")
    i.add_argument("cafile")
    i.add_argument("proxy")
    i.add_argument("pid", type=int)
    i.add_argument("sessions", type=int)
    args = parser.parse_args()
    {"populate": lambda: populate(args.maildir, args.count, args.big_bytes),
     "compare": lambda: compare(args), "idle": lambda: idle(args)}[args.command]()


if __name__ == "__main__":
    main()
