"""Installed from the clone into a fresh environment: one top-level name, typed, and usable.

The adapter guide's package (written out from the code blocks of
docs/writing-an-adapter.md) and the example adapter install next to it and pass the
conformance kit with that environment's pytest. Slow (a virtual environment, a wheel build,
downloads): deselect with ``-m "not packaging"``.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path, PurePosixPath

import pytest

from knowrithm_bots.testing import AdapterConformance
from tests.packaging.conftest import PACKAGE, ROOT, FreshInstall, Venv, top_level_names
from tests.packaging.guide import write_guide_package

pytestmark = [
    pytest.mark.packaging,
    # One worker builds the one environment for every test here.
    pytest.mark.xdist_group("packaging"),
    # The first test also waits for the environment to be built.
    pytest.mark.timeout(600),
]

GUIDE = ROOT / "docs" / "writing-an-adapter.md"
EXAMPLE = ROOT / "examples" / "webhook-adapter"
KIT_CHECKS = sorted(name for name in dir(AdapterConformance) if name.startswith("test_"))


def _dist_info(site_packages: Path) -> Path:
    found = sorted(site_packages.glob(f"{PACKAGE}-*.dist-info"))
    assert len(found) == 1, f"expected one {PACKAGE} dist-info, found {found}"
    return found[0]


def _recorded_top_levels(record: Path) -> set[str]:
    """The top-level site-packages names a distribution's RECORD lists (scripts live in bin/)."""
    rows = csv.reader(record.read_text(encoding="utf-8").splitlines())
    return {PurePosixPath(row[0]).parts[0] for row in rows if row and not row[0].startswith("..")}


def _run_conformance(venv: Venv, *, package: Path) -> None:
    """Run ``package``'s own tests with the environment's pytest; every kit check must run."""
    result = venv.run([venv.command("pytest"), "-q", "-p", "no:cacheprovider"], cwd=package)
    summary = result.stdout.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed)", summary)}
    assert counts.get("failed", 0) == 0, result.stdout[-4000:]
    ran = counts.get("passed", 0) + counts.get("skipped", 0)
    assert ran == len(KIT_CHECKS), f"expected the kit's {len(KIT_CHECKS)} checks: {summary}"
    # The guide's adapter has no typing; the example declares everything the kit checks.
    assert counts.get("skipped", 0) <= 1, f"the kit skipped checks it should run: {summary}"


def test_only_knowrithm_bots_is_added_at_the_top_of_site_packages(
    fresh_install: FreshInstall,
) -> None:
    site = fresh_install.site_packages
    ours = _dist_info(site)
    theirs: set[str] = set()  # what the dependencies installed
    for record in site.glob("*.dist-info/RECORD"):
        if record.parent != ours:
            theirs |= _recorded_top_levels(record)
    added = top_level_names(site) - fresh_install.before_install - theirs
    assert added == {PACKAGE, ours.name}
    assert _recorded_top_levels(ours / "RECORD") == {PACKAGE, ours.name}


def test_the_package_ships_py_typed_and_real_subpackages(fresh_install: FreshInstall) -> None:
    package = fresh_install.site_packages / PACKAGE
    assert (package / "py.typed").is_file()
    for module in ("adapter.py", "testing.py", "core/adapter.py", "adapters/console.py"):
        assert (package / module).is_file(), f"{module} is not installed"
    assert (package / "bots" / "cli.py").is_file()
    # The clone's links (knowrithm_bots/core -> ../core) must arrive as folders.
    assert not [p for p in package.rglob("*") if p.is_symlink()]
    assert not (package / "tests").exists()


def test_the_public_modules_import_from_the_installed_copy(fresh_install: FreshInstall) -> None:
    probe = fresh_install.import_probe
    adapter_module = Path(probe.stdout.splitlines()[0])
    assert adapter_module.is_relative_to(fresh_install.site_packages / PACKAGE)
    # pytest was not installed yet: the testing module says what to install, in one sentence.
    assert probe.returncode == 1
    assert probe.stderr.strip().splitlines()[-1] == (
        "ModuleNotFoundError: knowrithm_bots.testing needs pytest; "
        "install it with pip install 'knowrithm-bots[testing]'"
    )


def test_the_guides_package_installs_and_passes_the_kit(
    fresh_install: FreshInstall, tmp_path: Path
) -> None:
    package = write_guide_package(GUIDE, target=tmp_path / "mychat-adapter")
    venv = fresh_install.venv
    venv.pip_install(f"{package}[test]")
    listed = venv.run([venv.command("knowrithm-bots"), "adapters"], check=False)
    assert re.search(r"^mychat\s+mychat-adapter\s+0\.1\.0", listed.stdout, re.MULTILINE), (
        listed.stdout + listed.stderr
    )
    _run_conformance(venv, package=package)


def test_the_example_adapter_installs_and_passes_the_kit(
    fresh_install: FreshInstall, tmp_path: Path
) -> None:
    # A copy: building in place would write build/ and egg-info into the clone.
    package = tmp_path / "webhook-adapter"
    shutil.copytree(EXAMPLE, package, ignore=shutil.ignore_patterns("__pycache__", "build"))
    venv = fresh_install.venv
    venv.pip_install(f"{package}[test]")
    _run_conformance(venv, package=package)
