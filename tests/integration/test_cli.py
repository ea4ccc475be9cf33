"""check-config, passwd and version through the built binary."""
import os
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

from conftest import REPO, run


def test_shipped_config_passes_check_config():
    result = run("check-config", "--config", "conf/mailgate.toml", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def write(tmp_path, text, name="bad.toml"):
    path = tmp_path / name
    path.write_text((REPO / "conf/mailgate.toml").read_text() + text)
    return path


def check(path):
    result = run("check-config", "--config", str(path), cwd=REPO)
    assert result.returncode != 0
    return result.stderr


def line_of(path, needle):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(needle):
            return number
    raise AssertionError(needle)


def edited(tmp_path, *replacements):
    text = (REPO / "conf/mailgate.toml").read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def test_mistyped_key_names_file_line_and_key(tmp_path):
    path = edited(tmp_path, ("max_recipients = 100", "max_recipents = 100"))
    errors = check(path)
    assert f"{path}:{line_of(path, 'max_recipents')}: submission.max_recipents" in errors
    assert "unknown key" in errors


def test_wrong_type_names_file_line_and_key(tmp_path):
    path = edited(tmp_path, ("max_recipients = 100", 'max_recipients = "many"'))
    errors = check(path)
    assert f"{path}:{line_of(path, 'max_recipients')}: submission.max_recipients" in errors


def test_missing_required_key(tmp_path):
    path = edited(tmp_path, ('hostname = "mail.example.test"', ""))
    errors = check(path)
    assert "server.hostname" in errors
    assert f"{path}:" in errors


def test_world_readable_secret_file_is_refused(tmp_path):
    secret = tmp_path / "sales.secret"
    secret.write_text("hunter2\n")
    os.chmod(secret, 0o644)
    path = write(tmp_path, f"""
[[account]]
name = "sales"
address = "sales@example.test"
send_as = ["sales@example.test"]
smtp = "smtps://smtp.example.test"
username = "sales@example.test"
password_file = "{secret}"
""")
    errors = check(path)
    assert f"{path}:{line_of(path, 'password_file')}: account[1].password_file" in errors
    assert "644" in errors
    os.chmod(secret, 0o600)
    assert run("check-config", "--config", str(path), cwd=REPO).returncode == 0


def test_every_error_is_listed(tmp_path):
    path = edited(tmp_path, ("max_recipients = 100", "max_recipents = 100"), ('idle_timeout = "5m"', 'idle_timeout = "soon"'))
    errors = check(path)
    assert "submission.max_recipents" in errors and "submission.idle_timeout" in errors


def test_passwd_prints_a_hash_that_verifies():
    for flags, prefix in (((), "$y$"), (("--sha512",), "$6$")):
        result = run("passwd", *flags, input="s3cret\n")
        assert result.returncode == 0, result.stderr
        hashed = result.stdout.strip()
        assert hashed.startswith(prefix)
        assert crypt.crypt("s3cret", hashed) == hashed


def test_version():
    result = run("version")
    assert result.returncode == 0 and result.stdout.startswith("mailgate ")
