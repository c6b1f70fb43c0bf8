import fcntl
import os
import pty
import sqlite3
import subprocess
import sys
import termios
import time

import pytest
from argon2 import PasswordHasher

from tests.api_fixtures import query
from torrentdesk.db import open_database
from torrentdesk.services.errors import AlreadyExists, InvalidInput, NotFound
from torrentdesk.services.users import UserService


@pytest.fixture
def database(db_url):
    return open_database(db_url)  # on SQLite and on PostgreSQL


@pytest.fixture
def users(database):
    return UserService(database)


def run_cli(data_dir, *args, stdin=""):
    env = {**os.environ, "TORRENTDESK_DATA_DIR": str(data_dir)}
    env.pop("TORRENTDESK_DB_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "torrentdesk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def stored_hash(data_dir, username):
    with sqlite3.connect(data_dir / "torrentdesk.sqlite") as conn:
        row = conn.execute("SELECT password_hash FROM User WHERE username = ?", (username,))
        return row.fetchone()[0]


def test_passwords_are_stored_as_argon2id_hashes(users, database):
    users.create("alice", "correct horse", is_admin=True)
    [(stored,)] = query(database, 'SELECT password_hash FROM "user"')
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert PasswordHasher().verify(stored, "correct horse")


def test_authenticate(users):
    users.create("alice", "correct horse")
    assert users.authenticate("alice", "correct horse").username == "alice"
    assert users.authenticate("alice", "wrong horse") is None
    assert users.authenticate("nobody", "correct horse") is None


def test_user_lifecycle_errors_say_what_is_wrong(users):
    users.create("alice", "correct horse")
    with pytest.raises(AlreadyExists, match="user 'alice' already exists"):
        users.create("alice", "another one")
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        users.create("bob", "short")
    with pytest.raises(InvalidInput, match="a username is 1-64 characters"):
        users.create("bad name", "long enough")
    with pytest.raises(NotFound, match="no user named 'carol'"):
        users.delete("carol")
    with pytest.raises(NotFound, match="no user named 'carol'"):
        users.set_password("carol", "long enough")


def test_initial_admin_is_created_once_with_a_random_password(users):
    password = users.ensure_initial_admin()
    assert password and len(password) >= 16
    [admin] = users.list()
    assert (admin.username, admin.is_admin) == ("admin", True)
    assert users.authenticate("admin", password)
    assert users.ensure_initial_admin() is None
    assert len(users.list()) == 1


def test_initial_admin_passwords_differ_between_installs(tmp_path):
    first = UserService(open_database(f"sqlite:///{tmp_path / 'a.sqlite'}")).ensure_initial_admin()
    second = UserService(open_database(f"sqlite:///{tmp_path / 'b.sqlite'}")).ensure_initial_admin()
    assert first != second


def test_cli_user_add_list_passwd_delete(tmp_path):
    data_dir = tmp_path / "data"
    added = run_cli(
        data_dir, "user", "add", "alice", "--admin", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert (added.returncode, added.stdout.strip()) == (0, "created admin alice")
    assert (
        run_cli(
            data_dir, "user", "add", "bob", "--password-stdin", stdin="bobs-pass-1\n"
        ).returncode
        == 0
    )
    listing = run_cli(data_dir, "user", "list")
    rows = [line.split("\t")[:2] for line in listing.stdout.splitlines()]
    assert rows == [["alice", "admin"], ["bob", "user"]]

    before = stored_hash(data_dir, "bob")
    changed = run_cli(data_dir, "user", "passwd", "bob", "--password-stdin", stdin="new-bob-pass\n")
    assert changed.stdout.strip() == "password changed for bob"
    after = stored_hash(data_dir, "bob")
    assert before != after and PasswordHasher().verify(after, "new-bob-pass")

    deleted = run_cli(data_dir, "user", "delete", "bob")
    assert deleted.stdout.strip() == "deleted user bob"
    assert run_cli(data_dir, "user", "list").stdout.splitlines()[0].startswith("alice\tadmin")
    assert len(run_cli(data_dir, "user", "list").stdout.splitlines()) == 1


def test_cli_errors_exit_non_zero_with_a_message(tmp_path):
    data_dir = tmp_path / "data"
    run_cli(data_dir, "user", "add", "alice", "--password-stdin", stdin="s3cret-pass\n")
    dup = run_cli(data_dir, "user", "add", "alice", "--password-stdin", stdin="s3cret-pass\n")
    assert dup.returncode == 1 and "user 'alice' already exists" in dup.stderr
    missing = run_cli(data_dir, "user", "delete", "nobody")
    assert missing.returncode == 1 and "no user named 'nobody'" in missing.stderr
    short = run_cli(data_dir, "user", "passwd", "alice", "--password-stdin", stdin="x\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


def test_cli_options_work_after_the_subcommand_and_db_url_wins(tmp_path):
    db_file = tmp_path / "elsewhere" / "custom.sqlite"
    result = run_cli(
        tmp_path / "data", "user", "add", "alice", "--db-url", f"sqlite:///{db_file}",
        "--password-stdin", stdin="s3cret-pass\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert db_file.exists() and not (tmp_path / "data" / "torrentdesk.sqlite").exists()


def test_the_cli_works_on_a_postgres_url_from_the_option_or_the_environment(
    tmp_path, postgres_cluster
):
    with postgres_cluster.database() as url:
        data_dir = tmp_path / "data"
        added = run_cli(
            data_dir, "user", "add", "alice", "--db-url", url, "--password-stdin",
            stdin="s3cret-pass\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        env_url = url.replace("postgres://", "postgresql://")  # both spellings
        env = {**os.environ, "TORRENTDESK_DATA_DIR": str(data_dir), "TORRENTDESK_DB_URL": env_url}
        listing = subprocess.run(
            [sys.executable, "-m", "torrentdesk", "user", "list"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert listing.returncode == 0, listing.stderr
        assert [line.split("\t")[0] for line in listing.stdout.splitlines()] == ["alice"]
        assert not (data_dir / "torrentdesk.sqlite").exists()


def test_cli_help_lists_every_flag_of_the_spec(tmp_path):
    text = run_cli(tmp_path, "--help").stdout
    for flag in ("--browser", "--no-open", "--host", "--port", "--data-dir", "--db-url", "user"):
        assert flag in text
    user_add = run_cli(tmp_path, "user", "add", "--help").stdout
    assert "--admin" in user_add and "--password-stdin" in user_add


def _run_in_terminal(data_dir, args, answers):
    """Run the CLI with a real pseudo-terminal as its controlling tty; type `answers`."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TORRENTDESK_DATA_DIR": str(data_dir)}

    def take_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "torrentdesk", *args],
        stdin=follower, stdout=follower, stderr=follower,
        env=env, start_new_session=True, preexec_fn=take_terminal,
    )  # fmt: skip
    os.close(follower)
    output = b""
    for answer in answers:
        deadline = time.monotonic() + 30
        while b"assword: " not in output.rsplit(b"\n", 1)[-1] and time.monotonic() < deadline:
            output += os.read(leader, 1024)
        output += b"\n"
        os.write(leader, answer.encode() + b"\n")
    process.wait(timeout=30)
    try:
        while chunk := os.read(leader, 1024):
            output += chunk
    except OSError:
        pass
    os.close(leader)
    return process.returncode, output.decode()


def test_cli_prompts_for_the_password_twice_without_echo(tmp_path):
    code, screen = _run_in_terminal(
        tmp_path, ["user", "add", "alice"], ["typed-pass-1", "typed-pass-1"]
    )
    assert code == 0, screen
    assert "Password:" in screen and "Repeat password:" in screen
    assert "typed-pass-1" not in screen  # no echo
    assert PasswordHasher().verify(stored_hash(tmp_path, "alice"), "typed-pass-1")


def test_cli_prompt_mismatch_changes_nothing(tmp_path):
    code, screen = _run_in_terminal(
        tmp_path, ["user", "add", "alice"], ["typed-pass-1", "typed-pass-2"]
    )
    assert code == 1
    assert "the passwords do not match; nothing was changed" in screen
    assert "alice" not in run_cli(tmp_path, "user", "list").stdout
