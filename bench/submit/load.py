"""Load helpers for bench/submit/run, standard library only (run with /usr/bin/python3).

  load.py auth   PORT CAFILE USER PASSWORD SESSIONS COUNT SIZE   STARTTLS + AUTH submission load
  load.py idle   PORT PID SESSIONS                               memory per idle session
  load.py status PID                                             VmHWM and VmRSS in KiB

`auth`: SESSIONS threads, each one smtplib session that does STARTTLS and AUTH
once, then sends its share of COUNT messages of SIZE body bytes; prints
`sent SECONDS` (messages that got 250, wall-clock seconds) and exits 1 when a
message was refused. `idle`: opens SESSIONS plain TCP connections, reads each
greeting, holds them all, and prints `held KIB_PER_SESSION` from PID's VmRSS
before and after. Every socket operation has a timeout."""
import smtplib
import socket
import ssl
import sys
import threading
import time


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def message(size, index):
    line = "x" * 78 + "\r\n"
    body = (line * (size // len(line) + 1))[:size]
    return (f"From: bench@example.test\r\nTo: rcpt@example.org\r\nSubject: bench {index}\r\n\r\n{body}\r\n").encode()


def auth_load(port, cafile, user, password, sessions, count, size):
    context = ssl.create_default_context(cafile=cafile)
    shares = [count // sessions + (1 if n < count % sessions else 0) for n in range(sessions)]
    accepted = [0] * sessions
    errors = []
    ready = threading.Barrier(sessions + 1, timeout=120)

    def session(n):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                client.starttls(context=context)
                client.login(user, password)
                ready.wait()
                payload = message(size, n)
                for _ in range(shares[n]):
                    client.sendmail("bench@example.test", ["rcpt@example.org"], payload)
                    accepted[n] += 1
        except Exception as error:  # reported below; the run fails
            errors.append(f"session {n}: {error!r}")
            try:
                ready.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()  # every session logged in: time the messages only
    except threading.BrokenBarrierError:
        pass
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=1800)
    elapsed = time.monotonic() - started
    print(sum(accepted), f"{elapsed:.3f}")
    for error in errors[:5]:
        print(error, file=sys.stderr)
    return 1 if errors or sum(accepted) != count else 0


def idle(port, pid, sessions):
    before = status_kib(pid, "VmRSS")
    held = []
    for _ in range(sessions):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        held.append(connection)
    greeted = 0
    for connection in held:
        if connection.recv(512).startswith(b"220"):
            greeted += 1
    time.sleep(1.0)  # let the server finish whatever each accept set in motion
    after = status_kib(pid, "VmRSS")
    print(greeted, f"{(after - before) / sessions:.1f}")
    for connection in held:
        connection.close()
    return 0 if greeted == sessions else 1


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "auth" and len(argv) == 9:
        return auth_load(int(argv[2]), argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]), int(argv[8]))
    if command == "idle" and len(argv) == 5:
        return idle(int(argv[2]), int(argv[3]), int(argv[4]))
    if command == "status" and len(argv) == 3:
        print(status_kib(argv[2], "VmHWM"), status_kib(argv[2], "VmRSS"))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
