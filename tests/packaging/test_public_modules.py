"""The two modules adapter authors import: complete, importable, and free of test code.

``knowrithm_bots.adapter`` and ``knowrithm_bots.testing`` re-export what an adapter needs
from the core, which may be rearranged behind them; the guide's package and the example
adapter import from nothing else.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from knowrithm_bots import adapter as public_adapter
from knowrithm_bots import testing as public_testing
from knowrithm_bots.core import adapter as core_adapter
from knowrithm_bots.core import errors, testing
from knowrithm_bots.core.testing import conformance
from tests.packaging.conftest import ROOT
from tests.packaging.guide import guide_files

PUBLIC = ("knowrithm_bots.adapter", "knowrithm_bots.testing")


@pytest.mark.parametrize("name", PUBLIC)
def test_every_name_in_all_is_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported), "a name is listed twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    assert set(exported) <= set(namespace)


@pytest.mark.parametrize("name", PUBLIC)
def test_importing_a_public_module_loads_nothing_from_tests(name: str) -> None:
    # A fresh interpreter started in the clone, where tests/ would be importable.
    probe = (
        f"import sys, {name}; "
        "print('\\n'.join(m for m in sys.modules if m == 'tests' or m.startswith('tests.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _public_names(module_file: Path) -> set[str]:
    """Classes, functions, constants and type aliases a module defines at its top level."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_") and n != "log"}


def test_the_adapter_module_covers_the_contract() -> None:
    exported = set(public_adapter.__all__)
    needed = set(core_adapter.__all__)
    # Every class and Literal type the limits module declares (budgets, kinds, scopes).
    needed |= _public_names(Path(inspect.getfile(core_adapter)).with_name("limits.py"))
    needed |= {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.PlatformError)
    }
    needed |= {"ConfigError", "ThreadKeyCodec", "key_fields", "translating", "ThreadQueue"}
    needed |= {"AdapterConfig", "InvalidKey", "ConfigKeyDeprecated", "parse_retry_after"}
    needed |= {"Inbound", "Reaction", "Author", "Origin"}
    assert needed - exported == set()


def test_the_testing_module_covers_the_kit_and_the_fakes() -> None:
    needed = set(testing.__all__) | set(conformance.__all__) | {"Notice"}
    assert needed - set(public_testing.__all__) == set()


def _foreign_imports(sources: Iterable[tuple[str, str]]) -> list[str]:
    """``file: module`` for each import of knowrithm_bots other than the public modules."""
    found = []
    for where, source in sources:
        for node in ast.walk(ast.parse(source)):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            found += [
                f"{where}: {m}"
                for m in modules
                if (m == "knowrithm_bots" or m.startswith("knowrithm_bots.")) and m not in PUBLIC
            ]
    return found


def test_the_example_adapter_imports_only_the_public_modules() -> None:
    example = ROOT / "examples" / "webhook-adapter"
    files = sorted((example / "src").rglob("*.py")) + sorted((example / "tests").rglob("*.py"))
    assert files
    sources = [(str(f.relative_to(example)), f.read_text(encoding="utf-8")) for f in files]
    assert _foreign_imports(sources) == []


def test_the_guides_package_imports_only_the_public_modules() -> None:
    files = guide_files((ROOT / "docs" / "writing-an-adapter.md").read_text(encoding="utf-8"))
    assert {"pyproject.toml", "tests/test_conformance.py"} <= set(files)
    sources = [(name, body) for name, body in files.items() if name.endswith(".py")]
    assert len(sources) >= 3
    assert _foreign_imports(sources) == []
    imported = {line for _, body in sources for line in body.splitlines()}
    assert any("from knowrithm_bots.adapter import" in line for line in imported)
    assert any("from knowrithm_bots.testing import" in line for line in imported)
