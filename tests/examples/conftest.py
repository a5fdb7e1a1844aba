"""Installs the example adapter for its tests, offline, and removes it afterwards.

Installing a distribution means, to ``importlib.metadata``, a ``<name>-<version>.dist-info``
directory (METADATA and entry_points.txt) next to the package on ``sys.path``. The session
fixture builds exactly that from the example's own pyproject.toml in a temporary site
directory (no network, no build backend, the shared virtualenv untouched); the ``installed``
fixture puts it on ``sys.path`` for one test and takes it off again, and subprocesses get it
through PYTHONPATH.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import env_without_proxies

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webhook-adapter"
PACKAGE = "knowrithm_webhook"


@dataclass(frozen=True)
class Site:
    """A built installation: ``path`` goes on sys.path / PYTHONPATH to install it."""

    path: Path
    distribution: str
    version: str

    def env(self) -> dict[str, str]:
        env = env_without_proxies()
        env["PYTHONPATH"] = str(self.path)
        return env


def build_site(target: Path) -> Site:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"], project["version"]
    shutil.copytree(
        EXAMPLE / "src" / PACKAGE, target / PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    requires = "".join(f"Requires-Dist: {r}\n" for r in project.get("dependencies", []))
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        f"Summary: {project['description']}\n{requires}",
        encoding="utf-8",
    )
    groups = "".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())
        for group, entries in project["entry-points"].items()
    )
    (info / "entry_points.txt").write_text(groups, encoding="utf-8")
    (info / "top_level.txt").write_text(f"{PACKAGE}\n", encoding="utf-8")
    (info / "INSTALLER").write_text("knowrithm-bots tests\n", encoding="utf-8")
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files), encoding="utf-8")
    return Site(path=target, distribution=name, version=version)


def _forget_package() -> None:
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[module]


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example, built for installation (not yet on sys.path)."""
    site = build_site(tmp_path_factory.mktemp("example-site"))
    yield site
    shutil.rmtree(site.path, ignore_errors=True)


@pytest.fixture
def installed(example_site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The example installed for this test only."""
    monkeypatch.syspath_prepend(str(example_site.path))
    yield example_site
    _forget_package()
