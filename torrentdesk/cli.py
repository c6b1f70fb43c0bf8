"""The `torrentdesk` command: run the app, or manage users (SPEC §2)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from . import __version__
from .cli_add import add_parsers
from .cli_add import run as run_add
from .config import (
    ALLOWED_HOSTS_ENV,
    DATA_DIR_ENV,
    DB_URL_ENV,
    PRIVATE_UMASK,
    TRUSTED_PROXIES_ENV,
    ensure_data_dir,
    env_list,
    load_settings,
)
from .db import open_database
from .services.errors import ServiceError
from .services.users import UserService


def build_parser() -> argparse.ArgumentParser:
    # Storage options are accepted before or after the subcommand.
    storage = argparse.ArgumentParser(add_help=False)
    storage.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"where the database, secret keys and UI storage live (env {DATA_DIR_ENV}; "
        "default: the platform's user data dir)",
    )
    storage.add_argument(
        "--db-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"sqlite:///path or postgres://user:pass@host:port/db (env {DB_URL_ENV}; "
        "default: DATA_DIR/torrentdesk.sqlite)",
    )

    parser = argparse.ArgumentParser(
        prog="torrentdesk",
        description="Manage many rTorrent, Transmission and qBittorrent servers from one window "
        "or browser.",
        parents=[storage],
    )
    parser.add_argument("--version", action="version", version=f"torrentdesk {__version__}")
    parser.add_argument(
        "--browser", action="store_true", help="serve to a browser instead of a native window"
    )
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1; 0.0.0.0 serves the LAN)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port to serve on (default 8080; a free one behind the native window)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        dest="allowed_hosts",
        help="another host name browsers may use for this server, e.g. a reverse proxy's "
        f"(repeatable; env {ALLOWED_HOSTS_ENV}, comma-separated); any other Host is refused",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDR",
        dest="trusted_proxies",
        help="the address (or network, e.g. 10.0.0.0/24) of a reverse proxy whose "
        "X-Forwarded-For/-Proto headers are believed (repeatable; env "
        f"{TRUSTED_PROXIES_ENV}); without one they are ignored",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    user = commands.add_parser("user", help="manage user accounts", parents=[storage])
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = user_commands.add_parser("add", help="create a user", parents=[storage])
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="the user may administer others")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_commands.add_parser("list", help="list users", parents=[storage])
    delete = user_commands.add_parser(
        "delete", help="delete a user and their servers", parents=[storage]
    )
    delete.add_argument("name")
    passwd = user_commands.add_parser("passwd", help="set a user's password", parents=[storage])
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_parsers(commands, storage)  # add, install-desktop (cli_add.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Everything this process creates (database, keys, NiceGUI's storage, logs) is its user's
    # alone, whatever the shell's umask.
    os.umask(PRIVATE_UMASK)
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(getattr(args, "data_dir", None), getattr(args, "db_url", None))
    except ValueError as exc:
        print(f"torrentdesk: {exc}", file=sys.stderr)
        return 2
    ensure_data_dir(settings)
    if args.command == "user":
        return _user_command(args, UserService(open_database(settings.db_url)))
    if args.command in ("add", "install-desktop"):
        return run_add(args, settings)
    from . import native
    from .app import serve

    reason = None if args.browser else native.unavailable_reason()
    if reason is not None:
        print(f"torrentdesk: no native window: {reason}; serving to a browser instead", flush=True)
    serve(
        settings,
        host=args.host,
        port=args.port,
        open_browser=not args.no_open,
        native_window=not args.browser and reason is None,
        # The command line wins over the environment, as for the other options.
        allowed_hosts=args.allowed_hosts or env_list(ALLOWED_HOSTS_ENV),
        trusted_proxies=args.trusted_proxies or env_list(TRUSTED_PROXIES_ENV),
    )
    return 0


def _user_command(args: argparse.Namespace, users: UserService) -> int:
    try:
        if args.user_command == "add":
            user = users.create(args.name, _read_password(args.password_stdin), is_admin=args.admin)
            role = "admin" if user.is_admin else "user"
            print(f"created {role} {user.username}")
        elif args.user_command == "list":
            for user in users.list():
                role = "admin" if user.is_admin else "user"
                print(f"{user.username}\t{role}\t{user.created_at:%Y-%m-%d %H:%M} UTC")
        elif args.user_command == "delete":
            users.delete(args.name)
            print(f"deleted user {args.name}")
        elif args.user_command == "passwd":
            users.set_password(args.name, _read_password(args.password_stdin))
            print(f"password changed for {args.name}")
    except (ServiceError, PasswordMismatch) as exc:
        print(f"torrentdesk: {exc}", file=sys.stderr)
        return 1
    return 0


class PasswordMismatch(Exception):
    pass


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise PasswordMismatch("the passwords do not match; nothing was changed")
    return password
