"""A wheel built from the repository installs a working app (SPEC §14): `pip install .` as a user
runs it, then `torrentdesk` started from that install alone serves the login page and our assets.

The wheel is built with pip exactly as `pip install .` builds it (PEP 517, setuptools in an
isolated build environment), but from a copy of the sources: setuptools writes `build/` and
`*.egg-info` into the tree it builds, and neither the checkout nor concurrent runs should share
them. It is installed with `--no-deps` into a new venv of its own (no system site-packages) whose
only link to the outside is a `.pth` naming this test venv's site-packages for the dependencies:
installing NiceGUI's ~40 dependencies again would take a minute or more on a small machine and
need the package index, while what a wheel can get wrong is its own contents (modules, assets,
entry point), which this checks. The app then runs with a working directory outside the checkout
and no PYTHONPATH, so nothing but the installed wheel can answer.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.app_process import clean_env, start_app
from tests.daemons.common import free_port
from tests.test_packaging import _check_page_resources

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "torrentdesk", "assets")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
    built = subprocess.run(
        [*pip_wheel, "-w", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (work / "dist").glob("torrentdesk-*.whl")
    return wheel


def _sources() -> set[str]:
    """What the wheel must hold: every module, and every asset under torrentdesk/assets."""
    modules = {
        f"torrentdesk/{p.relative_to(ROOT / 'torrentdesk').as_posix()}"
        for p in (ROOT / "torrentdesk").rglob("*.py")
    }
    assets = {
        f"torrentdesk/assets/{p.relative_to(ROOT / 'assets').as_posix()}"
        for p in (ROOT / "assets").rglob("*")
        if p.is_file()
    }
    assert assets, "no assets in the checkout"
    return modules | assets


def test_the_wheel_holds_every_module_and_asset(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_sources() - names)
    assert not missing, f"the wheel lacks {missing} (pyproject.toml [tool.setuptools] packages)"
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "torrentdesk = torrentdesk.cli:main" in scripts


def _venv_with(wheel: Path, where: Path) -> Path:
    """A new venv with the wheel installed and this venv's packages for its dependencies."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = (venv / "lib").glob("python3*/site-packages")
    dependencies = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "dependencies.pth").write_text("".join(f"{path}\n" for path in dependencies))
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def test_an_installed_wheel_serves_the_login_page_and_its_assets(wheel, tmp_path):
    venv = _venv_with(wheel, tmp_path)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import torrentdesk; print(torrentdesk.__file__)"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=clean_env(),
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout

    command = [venv / "bin" / "torrentdesk", "--browser"]
    app = start_app(tmp_path / "data", port=free_port(), command=command, cwd=workdir)
    try:
        with httpx.Client(base_url=app.base, timeout=30) as http:
            login = http.get("/login")
            assert login.status_code == 200, login.text
            assert "/assets/torrentdesk.css" in login.text
            assert _check_page_resources(http, login.text) > 0
            for url, name in [
                ("/assets/torrentdesk.css", "torrentdesk.css"),
                ("/assets/torrentdesk.js", "torrentdesk.js"),
                ("/favicon.ico", "favicon.svg"),
            ]:
                response = http.get(url)
                assert response.status_code == 200, url
                assert response.content == (ROOT / "assets" / name).read_bytes(), url
    finally:
        code = app.stop()
    assert code == 0, app.output()
    assert "does not exist" not in app.output()
    assert list(workdir.iterdir()) == []
