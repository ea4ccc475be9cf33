"""`mailgate serve`: listeners open, SIGHUP reloads (refusing a bad config), SIGTERM drains."""
import re
import shutil
import signal
import socket
import subprocess

from conftest import basic_config, free_ports, pki_dir, wait_for_port


def test_serve_listens_reloads_and_drains(mailgate_factory, database):
    ports = free_ports(5)
    server = mailgate_factory(basic_config(ports[:4]), env={"MAILGATE_DATABASE_URL": database})
    server.start(wait_ports=ports[:4])
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=5) as client:
        greeting = client.recv(512)
        assert greeting[:3] in (b"220", b"421") and b"mail.example.test" in greeting

    # A bad config is refused, the old one stays in force.
    good = server.config.read_text()
    server.config.write_text(good + "\n[relay]\nretry_aftr = 1\n")
    server.signal(signal.SIGHUP)
    log = server.wait_log("reload refused")
    assert "relay.retry_aftr" in log
    wait_for_port(ports[0])

    # A good one with a new listener opens it.
    server.config.write_text(good.replace(f'listen = ["127.0.0.1:{ports[0]}"]',
                                          f'listen = ["127.0.0.1:{ports[0]}", "127.0.0.1:{ports[4]}"]'))
    server.signal(signal.SIGHUP)
    server.wait_log("msg=reloaded")
    wait_for_port(ports[4])

    assert server.stop() == 0
    assert "msg=draining" in server.log.read_text()


def served_issuer(port):
    result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"],
                            input="", capture_output=True, text=True, timeout=30)
    match = re.search(r"issuer=(.*)", result.stdout)
    return match.group(1) if match else result.stdout + result.stderr


def test_sighup_reloads_the_certificate_without_dropping_sessions(mailgate_factory, database, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("server.crt", "server.key"):
        shutil.copy(pki_dir() / name, certs / name)
    ports = free_ports(4)
    server = mailgate_factory(basic_config(ports, tls_dir=certs), env={"MAILGATE_DATABASE_URL": database})
    server.start(wait_ports=ports[:2])
    assert "mailgate test CA" in served_issuer(ports[1])
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=10) as session:
        stream = session.makefile("rb")
        assert stream.readline().startswith(b"220")

        # A broken pair is refused and the old certificate stays in force.
        (certs / "server.key").write_text("not a key\n")
        server.signal(signal.SIGHUP)
        server.wait_log("certificate refused")
        assert "mailgate test CA" in served_issuer(ports[1])

        # A new pair is served to new connections; the open session carries on.
        shutil.copy(pki_dir() / "other-server.crt", certs / "server.crt")
        shutil.copy(pki_dir() / "other-server.key", certs / "server.key")
        server.signal(signal.SIGHUP)
        server.wait_log("msg=\"certificate loaded\"")
        assert "unrelated CA" in served_issuer(ports[1])
        session.sendall(b"NOOP\r\n")
        assert stream.readline().startswith(b"250")
    assert server.stop() == 0
