"""The real torrentdesk process for end-to-end tests: `python -m torrentdesk` or the packaged
executable, with a clean environment, its output collected, and a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.daemons.common import wait_for_port, wait_until

PYTHON_APP = (sys.executable, "-m", "torrentdesk")


def clean_env(display: str | None = None) -> dict[str, str]:
    """The environment without pytest's (NiceGUI would switch to its test port), NiceGUI's and
    our own settings, nor Python's paths; with `display` as the only X display, or none."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    for name in (
        "TORRENTDESK_DB_URL",
        "TORRENTDESK_DATA_DIR",
        "TORRENTDESK_ALLOWED_HOSTS",
        "TORRENTDESK_TRUSTED_PROXIES",
        "FORWARDED_ALLOW_IPS",
        "PYTHONPATH",
        "PYTHONHOME",
        "DISPLAY",
        "WAYLAND_DISPLAY",
    ):
        env.pop(name, None)
    if display:
        env["DISPLAY"] = display
    return env


@dataclass
class RunningApp:
    process: subprocess.Popen
    base: str | None  # http://127.0.0.1:PORT when the port was given
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 60) -> re.Match:
        def found():
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.output()}")
            return None

        return wait_until(found, timeout=timeout, interval=0.05, message=f"a line {pattern!r}")

    def admin_password(self) -> str:
        return self.wait_for_line(r"created the first user 'admin' with password: (\S+)")[1]

    def stop(self, how: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Stop it as a service manager (SIGTERM) or Ctrl+C (SIGINT) would; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def add_user(data_dir: Path, name: str, password: str, admin: bool = False) -> None:
    """`torrentdesk user add NAME` with the password on standard input, as a script would."""
    subprocess.run(
        [*PYTHON_APP, "user", "add", name, "--password-stdin", "--data-dir", str(data_dir)]
        + (["--admin"] if admin else []),
        input=password + "\n",
        text=True,
        env=clean_env(),
        check=True,
        capture_output=True,
    )


def start_app(
    data_dir: Path,
    *args: str,
    port: int | None = None,
    command=PYTHON_APP,
    cwd: Path | None = None,
    display: str | None = None,
) -> RunningApp:
    """Start the app; with `port`, serving there (no browser opened) and waited for."""
    argv = [*map(str, command), "--data-dir", str(data_dir), *args]
    if port is not None:
        argv += ["--no-open", "--port", str(port)]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(display),
        cwd=cwd,
    )
    app = RunningApp(process, f"http://127.0.0.1:{port}" if port is not None else None)

    def collect() -> None:
        for line in process.stdout:
            app.lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    if port is not None:
        try:
            wait_for_port(port, process, timeout=60)
        except RuntimeError as exc:
            app.stop()
            raise AssertionError(f"{exc}\n{app.output()}") from None
    return app
