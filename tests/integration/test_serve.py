"""`mailgate serve`: listeners open, SIGHUP reloads (refusing a bad config), SIGTERM drains."""
import signal
import socket

from conftest import basic_config, free_port, wait_for_port


def test_serve_listens_reloads_and_drains(mailgate_factory, database):
    ports = [free_port() for _ in range(5)]
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
