"""A fresh virtual environment with the project installed from this clone, once per session.

The environment is made with ``python -m venv`` (no system site packages) in a temporary
directory, and the project is installed the way a user would: ``pip install <clone>``, not
editable. The clone is copied first, because building in place would write ``build/`` and
egg-info into the working tree other test processes are reading. pip may download the
project's dependencies from the package index; nothing else leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import env_without_proxies

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "knowrithm_bots"

# Taken when the suite starts: pip may need the machine's proxy settings to reach the
# package index, which the suite's autouse fixture removes from each test's environment.
_STARTING_ENVIRONMENT = dict(os.environ)
# Variables that would make the new environment see this clone or this virtualenv.
_LEAKS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PIP_USER")

_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.sqlite",
)

# Building a wheel, resolving dependencies and installing them: generous on a busy machine.
_PIP_TIMEOUT = 300


@dataclass(frozen=True)
class Venv:
    """A virtual environment outside the clone; ``run`` fails the test on a non-zero exit."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def command(self, name: str) -> Path:
        return self.path / "bin" / name

    def pip_install(self, *requirements: str | Path) -> None:
        self.run(
            [self.python, "-m", "pip", "install", "--quiet", *requirements],
            env=pip_environment(),
            timeout=_PIP_TIMEOUT,
        )

    def run(
        self,
        command: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            text=True,
            env=dict(env if env is not None else loopback_environment()),
            cwd=cwd or self.path,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            shown = " ".join(str(part) for part in command)
            pytest.fail(
                f"{shown} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}",
                pytrace=False,
            )
        return result


@dataclass(frozen=True)
class FreshInstall:
    """The project installed into a new ``venv`` from a copy of the clone."""

    venv: Venv
    site_packages: Path
    before_install: frozenset[str]
    """The names at the top of site-packages before the project was installed."""
    import_probe: subprocess.CompletedProcess[str]
    """``import knowrithm_bots.adapter`` then ``knowrithm_bots.testing``, run before pytest
    was installed in the environment."""


def pip_environment() -> dict[str, str]:
    env = {k: v for k, v in _STARTING_ENVIRONMENT.items() if k not in _LEAKS}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def new_venv(path: Path) -> Venv:
    """A new virtual environment at ``path`` that shares no package with this one."""
    # The interpreter behind this virtualenv, not the virtualenv's own.
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run(
        [python, "-m", "venv", str(path)],
        check=True,
        capture_output=True,
        env=pip_environment(),
        timeout=_PIP_TIMEOUT,
    )
    return Venv(path=path)


def loopback_environment() -> dict[str, str]:
    """For the programs run in the environment: loopback only, nothing from the clone, and
    none of this pytest's settings (PYTEST_ADDOPTS, xdist's worker variables)."""
    return {
        k: v
        for k, v in env_without_proxies().items()
        if k not in _LEAKS and not k.startswith("PYTEST")
    }


def copy_source(source: Path, target: Path) -> Path:
    """``source`` without caches, builds and virtualenvs; symbolic links stay links."""
    shutil.copytree(source, target, symlinks=True, ignore=_NOT_SOURCE)
    return target


def top_level_names(site_packages: Path) -> frozenset[str]:
    return frozenset(entry.name for entry in site_packages.iterdir())


@pytest.fixture(scope="session")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshInstall]:
    """The project installed from a copy of the clone into a new virtual environment."""
    base = tmp_path_factory.mktemp("fresh-install")
    venv = new_venv(base / "venv")
    purelib = venv.run(
        [venv.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    )
    site_packages = Path(purelib.stdout.strip())
    before = top_level_names(site_packages)
    venv.pip_install(copy_source(ROOT, base / "clone"))
    probe = venv.run(
        [
            venv.python,
            "-c",
            "import knowrithm_bots.adapter as a; print(a.__file__); import knowrithm_bots.testing",
        ],
        check=False,
    )
    yield FreshInstall(
        venv=venv, site_packages=site_packages, before_install=before, import_probe=probe
    )
    shutil.rmtree(base, ignore_errors=True)
