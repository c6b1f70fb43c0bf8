"""Which names the app answers to and which pages may change things (SPEC §14), and how the
command line and the environment set them; the served behaviour is in test_hostile_requests."""

from __future__ import annotations

import os
import socket

import pytest

from torrentdesk import app as app_module
from torrentdesk import cli
from torrentdesk.middleware import HostPolicy, host_name, is_local_address


def own_lan_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_host_names_are_read_as_browsers_send_them():
    assert host_name("Example.ORG.:8080") == "example.org"
    assert host_name("[::1]:8080") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"
    for bad in ("", "a@b", "a b", "[::1", "a/b", "a:b:c", "::1"):
        assert host_name(bad) == "", bad


def test_loopback_serving_answers_to_loopback_names_and_the_allowed_ones_only():
    policy = HostPolicy.serving("127.0.0.1", ["td.example.org", " Proxy.Lan. "])
    for host in (
        "localhost:8080",
        "127.0.0.1",
        "[::1]:1",
        "[0::1]",
        "td.example.org",
        "proxy.lan:443",
    ):
        assert policy.host_allowed(host), host
    for host in (None, "", "evil.example", "127.0.0.2", "0.0.0.0", socket.gethostname() + "x"):
        assert not policy.host_allowed(host), host
    lan = own_lan_address()
    if lan is not None:
        assert not policy.host_allowed(lan)  # bound to loopback: the LAN address is no name


def test_serving_every_address_answers_to_the_machine_s_names_and_addresses():
    policy = HostPolicy.serving("0.0.0.0")
    assert policy.host_allowed(socket.gethostname())
    assert policy.host_allowed(f"{socket.gethostname().split('.')[0]}.local:8080")
    lan = own_lan_address()
    if lan is not None:
        assert policy.host_allowed(f"{lan}:8080")
    assert policy.host_allowed("127.0.0.1:8080")
    assert not policy.host_allowed("evil.example")
    assert not policy.host_allowed("203.0.113.7")  # an address, but not this machine's
    assert is_local_address("127.0.0.1") and not is_local_address("not-an-address")
    specific = HostPolicy.serving("192.0.2.10")
    assert specific.host_allowed("192.0.2.10:8080") and not specific.host_allowed("192.0.2.11")


def test_an_origin_is_ours_when_it_is_the_host_asked_or_a_proxy_name():
    policy = HostPolicy.serving("127.0.0.1", ["td.example.org"])
    assert policy.origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert policy.origin_allowed("http://127.0.0.1:8080/some/page?x=1", "127.0.0.1:8080")
    assert policy.origin_allowed("https://td.example.org", "127.0.0.1:8080")
    assert policy.origin_allowed("https://td.example.org:8443", "127.0.0.1:8080")
    for origin in (
        "http://evil.example",
        "null",
        "",
        None,
        "http://localhost:8080",  # same machine, another origin than the one asked
        "http://127.0.0.1:8081",
        "http://127.0.0.1:8080@evil.example",
        "file:///etc/passwd",
        "http://[::1",
    ):
        assert not policy.origin_allowed(origin, "127.0.0.1:8080"), origin


@pytest.fixture
def served_with(monkeypatch, tmp_path):
    """cli.main's call to serve(), captured instead of serving; the process umask restored."""
    calls = []
    monkeypatch.setattr(app_module, "serve", lambda *args, **kwargs: calls.append(kwargs))
    for name in ("TORRENTDESK_ALLOWED_HOSTS", "TORRENTDESK_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    previous = os.umask(0o022)
    yield lambda *argv: (
        cli.main(["--browser", "--no-open", "--data-dir", str(tmp_path / "d"), *argv]),
        calls.pop(),
    )[1]
    os.umask(previous)


def test_allowed_hosts_and_trusted_proxies_come_from_the_command_line_or_the_environment(
    served_with, monkeypatch
):
    plain = served_with()
    assert (plain["allowed_hosts"], plain["trusted_proxies"]) == ([], [])
    flags = served_with(
        "--allowed-host", "a.example", "--allowed-host", "b.example",
        "--trusted-proxy", "10.0.0.1", "--trusted-proxy", "10.1.0.0/16",
    )  # fmt: skip
    assert flags["allowed_hosts"] == ["a.example", "b.example"]
    assert flags["trusted_proxies"] == ["10.0.0.1", "10.1.0.0/16"]
    monkeypatch.setenv("TORRENTDESK_ALLOWED_HOSTS", "c.example, d.example")
    monkeypatch.setenv("TORRENTDESK_TRUSTED_PROXIES", "10.0.0.2")
    from_env = served_with()
    assert from_env["allowed_hosts"] == ["c.example", "d.example"]
    assert from_env["trusted_proxies"] == ["10.0.0.2"]
    assert served_with("--trusted-proxy", "10.0.0.3")["trusted_proxies"] == ["10.0.0.3"]
    assert os.umask(0o022) == 0o077  # main made the process's files private
