"""`mailgate migrate` against a fresh database made for each test: applies every
file once, reports "schema is up to date" the second time, two processes
started together apply each file exactly once (advisory lock), and the
failures an admin meets (database down, bad directory) exit non-zero with a
message that says what is wrong."""
import os
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import BIN, REPO, basic_config, free_port, free_ports, run

PSQL = "/usr/lib/postgresql/15/bin/psql"
MIGRATIONS = sorted(p.stem for p in (REPO / "migrations").glob("*.sql"))


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def psql(url, sql):
    result = subprocess.run([PSQL, url, "-Atqc", sql], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def fresh_database():
    base = os.environ.get("MAILGATE_TEST_DATABASE_URL")
    assert base, "MAILGATE_TEST_DATABASE_URL is not set (scripts/test.sh sets it)"
    name = "mgmigrate_" + uuid.uuid4().hex[:12]
    admin = with_database(base, "postgres")
    psql(admin, f"CREATE DATABASE {name}")
    yield with_database(base, name)
    psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrate_env(url):
    return dict(os.environ, MAILGATE_DATABASE_URL=url)


def test_first_run_applies_every_file_second_run_nothing(fresh_database):
    first = run("migrate", env=migrate_env(fresh_database), cwd=REPO)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"applied {name}" for name in MIGRATIONS]

    second = run("migrate", env=migrate_env(fresh_database), cwd=REPO)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("schema is up to date")
    assert psql(fresh_database, "SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations") == ",".join(MIGRATIONS)


def test_two_processes_at_once_apply_each_file_exactly_once(fresh_database):
    procs = [subprocess.Popen([BIN, "migrate"], cwd=REPO, env=migrate_env(fresh_database),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    applied = [line for out, _ in outputs for line in out.splitlines() if line.startswith("applied ")]
    assert sorted(applied) == [f"applied {name}" for name in MIGRATIONS]
    assert psql(fresh_database, "SELECT count(*) FROM schema_migrations") == str(len(MIGRATIONS))


def test_unreachable_database_exits_non_zero_and_says_so():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/mailgate"
    result = run("migrate", env=migrate_env(url), cwd=REPO)
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL" in result.stderr


def test_duplicate_numbers_are_refused_naming_the_file(tmp_path, fresh_database):
    (tmp_path / "0001_first.sql").write_text("SELECT 1;\n")
    (tmp_path / "0001_again.sql").write_text("SELECT 2;\n")
    result = run("migrate", "--directory", str(tmp_path), env=migrate_env(fresh_database), cwd=REPO)
    assert result.returncode == 2
    assert f"{tmp_path}/0001_first.sql: number 1 is also used by {tmp_path}/0001_again.sql" in result.stderr


def test_config_database_url_is_used_when_the_environment_has_none(tmp_path, fresh_database):
    config = tmp_path / "mailgate.toml"
    ports = free_ports(4)
    config.write_text(basic_config(ports, extra=f'\n[database]\nurl = "{fresh_database}"\n'))
    env = {k: v for k, v in os.environ.items() if k != "MAILGATE_DATABASE_URL"}
    result = run("migrate", "--config", str(config), env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"applied {MIGRATIONS[-1]}"
