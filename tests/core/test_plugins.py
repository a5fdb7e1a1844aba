"""Plugin discovery through real distributions (``.dist-info`` directories on ``sys.path``)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from knowrithm_bots.core.errors import PluginError
from knowrithm_bots.core.plugins import GROUP, discover, load_adapter
from tests.adapters.test_console import BIN
from tests.support import env_without_proxies

GOOD_ADAPTER = """
from typing import ClassVar
from knowrithm_bots.core.adapter import Adapter, Capabilities, Limits, Posted

class {cls}(Adapter):
    name: ClassVar[str] = "{name}"
    limits: ClassVar[Limits] = Limits(max_message_length=1234)
    capabilities: ClassVar[Capabilities] = Capabilities(reactions=True, typing=True)

    @classmethod
    def from_config(cls, *, config):
        return cls()

    async def start(self, *, sink): ...
    async def stop(self): ...
    async def post(self, *, thread, text, reply_to=None): return Posted(id="1")
    async def edit(self, *, thread, message_id, text): ...
"""


class Site:
    """A directory on ``sys.path`` holding throwaway distributions: a module plus a
    ``.dist-info`` with ``entry_points.txt``, which is all an installed package is to
    ``importlib.metadata``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.modules: list[str] = []

    def install(
        self, *, dist: str, entries: Mapping[str, str], source: str, version: str = "1.0"
    ) -> str:
        module = f"kb_plugin_{uuid.uuid4().hex[:10]}"
        (self.path / f"{module}.py").write_text(source, encoding="utf-8")
        info = self.path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = "".join(f"{name} = {module}:{attr}\n" for name, attr in entries.items())
        (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}", encoding="utf-8")
        self.modules.append(module)
        return module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    site = Site(path)
    yield site
    for module in site.modules:
        sys.modules.pop(module, None)


def good(cls: str, name: str) -> str:
    return GOOD_ADAPTER.format(cls=cls, name=name)


def _error(name: str) -> str:
    with pytest.raises(PluginError) as raised:
        load_adapter(name)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_discover_reads_metadata_without_importing(site: Site) -> None:
    module = site.install(
        dist="acme-chat", version="2.3", entries={"acme": "AcmeAdapter"}, source="1/0\n"
    )
    found = discover()
    (acme,) = found["acme"]
    assert (acme.distribution, acme.version, acme.value) == (
        "acme-chat",
        "2.3",
        f"{module}:AcmeAdapter",
    )
    assert [i.distribution for i in found["console"]] == ["knowrithm-bots"]
    assert module not in sys.modules


def test_loading_one_adapter_imports_only_its_module(site: Site) -> None:
    loaded = site.install(
        dist="good-bots", entries={"good": "GoodAdapter"}, source=good("GoodAdapter", "good")
    )
    bomb = site.install(
        dist="bomb-bots", entries={"bomb": "BombAdapter"}, source="raise SystemError('boom')\n"
    )
    cls = load_adapter("good")
    assert cls.__name__ == "GoodAdapter" and cls.limits.max_message_length == 1234
    assert loaded in sys.modules and bomb not in sys.modules


def test_unknown_name_lists_the_installed_adapters(site: Site) -> None:
    site.install(
        dist="good-bots", entries={"good": "GoodAdapter"}, source=good("GoodAdapter", "good")
    )
    message = _error("matrix")
    assert message.startswith("no adapter named 'matrix' is installed")
    assert "installed adapters: " in message and "console" in message and "good" in message


def test_a_missing_dependency_names_the_distribution_and_the_module(site: Site) -> None:
    site.install(
        dist="acme-chat",
        version="2.3",
        entries={"acme": "AcmeAdapter"},
        source="import acme_sdk_that_is_absent\n",
    )
    message = _error("acme")
    assert "adapter 'acme' from acme-chat 2.3 cannot be imported" in message
    assert "No module named 'acme_sdk_that_is_absent'" in message
    assert "reinstall acme-chat" in message


def test_an_import_that_crashes_names_the_distribution_and_the_cause(site: Site) -> None:
    site.install(
        dist="acme-chat",
        entries={"acme": "AcmeAdapter"},
        source="raise RuntimeError('bad config at import')\n",
    )
    message = _error("acme")
    assert "from acme-chat 1.0 failed while importing" in message
    assert "RuntimeError: bad config at import" in message


def test_an_entry_point_naming_a_missing_class_is_explained(site: Site) -> None:
    site.install(dist="acme-chat", entries={"acme": "Typo"}, source="class AcmeAdapter: ...\n")
    message = _error("acme")
    assert "failed while importing" in message and "has no attribute 'Typo'" in message


def test_the_same_name_from_two_distributions_is_refused(site: Site) -> None:
    source = good("TwinAdapter", "twin")
    site.install(dist="alpha-bots", entries={"twin": "TwinAdapter"}, source=source)
    site.install(dist="beta-bots", version="3.0", entries={"twin": "TwinAdapter"}, source=source)
    assert sorted(i.distribution for i in discover()["twin"]) == ["alpha-bots", "beta-bots"]
    message = _error("twin")
    assert "adapter name 'twin' is registered by more than one distribution" in message
    assert "alpha-bots 1.0 and beta-bots 3.0" in message and "uninstall one" in message


@pytest.mark.parametrize(
    ("source", "attr", "lacks"),
    [
        (
            "class Chat:\n    name = 'acme'\n    async def start(self, *, sink): ...\n",
            "Chat",
            [
                "knowrithm_bots.core.adapter.Adapter as a base class",
                "a class attribute 'limits'",
                "method from_config()",
                "method post()",
            ],
        ),
        (
            GOOD_ADAPTER.format(cls="Base", name="acme") + "\nclass Half(Base):\n    edit = None\n",
            "Half",
            ["method edit()"],
        ),
        (
            "from knowrithm_bots.core.adapter import Adapter\n"
            "class Abstract(Adapter):\n    name = 'acme'\n",
            "Abstract",
            ["a class attribute 'limits'", "an implementation of post()", "edit()"],
        ),
        (
            GOOD_ADAPTER.format(cls="Renamed", name="acme-chat"),
            "Renamed",
            ["a name matching its entry point ('acme'; the class declares 'acme-chat')"],
        ),
        ("def make_adapter(): ...\n", "make_adapter", ["to be a class"]),
    ],
    ids=["duck-typed", "method-removed", "abstract", "name-mismatch", "function"],
)
def test_a_class_that_breaks_the_protocol_names_what_is_missing(
    site: Site, source: str, attr: str, lacks: list[str]
) -> None:
    site.install(dist="acme-chat", entries={"acme": attr}, source=source)
    message = _error("acme")
    assert "from acme-chat 1.0" in message and "does not satisfy the adapter protocol" in message
    for part in lacks:
        assert part in message


def _cli(*args: str, site: Path, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = env_without_proxies()
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [str(BIN / "knowrithm-bots"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_the_command_line_imports_plugins_only_when_named(site: Site, tmp_path: Path) -> None:
    marker = tmp_path / "bomb-imported"
    site.install(
        dist="bomb-bots",
        version="0.9",
        entries={"bomb": "BombAdapter"},
        source=f"open({str(marker)!r}, 'w').close()\nraise RuntimeError('bomb went off')\n",
    )
    source = good("TwinAdapter", "twin")
    site.install(dist="alpha-bots", entries={"twin": "TwinAdapter"}, source=source)
    site.install(dist="beta-bots", entries={"twin": "TwinAdapter"}, source=source)
    site.install(
        dist="good-bots",
        version="4.2",
        entries={"good": "GoodAdapter"},
        source=good("GoodAdapter", "good"),
    )
    cwd = tmp_path
    config = tmp_path / "c.yaml"
    config.write_text(
        "knowrithm:\n  base_url: local\nstore:\n  backend: memory\n", encoding="utf-8"
    )

    ran = _cli("run", "console", "--config", str(config), site=site.path, cwd=cwd)
    assert ran.returncode == 0, ran.stderr
    assert not marker.exists()  # the broken plugin was never imported

    failed = _cli("run", "bomb", "--config", str(config), site=site.path, cwd=cwd)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "adapter 'bomb' from bomb-bots 0.9 failed while importing" in failed.stderr
    assert "RuntimeError: bomb went off" in failed.stderr

    listed = _cli("adapters", site=site.path, cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    rows = {tuple(line.split()[:3]): line for line in listed.stdout.splitlines()}
    assert "reactions, typing; max 1,234 chars" in rows[("good", "good-bots", "4.2")]
    assert "unavailable" in rows[("bomb", "bomb-bots", "0.9")]
    assert ("twin", "alpha-bots", "1.0") in rows and ("twin", "beta-bots", "1.0") in rows
    assert ("console", "knowrithm-bots", "0.1.0") in rows
