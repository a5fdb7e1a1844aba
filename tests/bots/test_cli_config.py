"""How the command line reads a config file: where the store lands, what is refused, what
``check-config`` validates, and what ``run`` loads."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowrithm_bots.bots.cli import main
from knowrithm_bots.core.config import load_settings
from knowrithm_bots.core.errors import ConfigError
from tests.adapters.test_console import BIN
from tests.core.test_plugins import Site
from tests.support import env_without_proxies

LOCAL = "knowrithm: {base_url: local}\n"


def test_the_store_lands_next_to_the_config_file_whatever_the_working_directory(
    tmp_path: Path,
) -> None:
    folder, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    config = folder / "bot.yaml"
    config.write_text(f"{LOCAL}store: {{path: state/bot.sqlite}}\n", encoding="utf-8")
    (folder / "state").mkdir()
    result = subprocess.run(
        [str(BIN / "knowrithm-bots"), "run", "console", "--config", "../conf/bot.yaml"],
        input="hello\n",
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env_without_proxies(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('agent › You asked: "hello".')
    assert (folder / "state" / "bot.sqlite").is_file()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("bot.sqlite", "{folder}/bot.sqlite"),
        ("../shared/bot.sqlite", "{folder}/../shared/bot.sqlite"),
        ("{absolute}/bot.sqlite", "{absolute}/bot.sqlite"),
        ("~/bot.sqlite", "{home}/bot.sqlite"),
    ],
)
def test_store_path_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    places = {
        "folder": str(tmp_path / "conf"),
        "absolute": str(tmp_path / "abs"),
        "home": str(tmp_path / "home"),
    }
    monkeypatch.setenv("HOME", places["home"])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "bot.yaml"
    config.write_text(f"{LOCAL}store: {{path: {written.format(**places)}}}\n", "utf-8")
    settings = load_settings(Path("conf/bot.yaml"), env={})
    assert settings.store.path == expected.format(**places)


def test_base_url_local_stays_valid_and_a_section_without_it_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text(LOCAL, encoding="utf-8")
    assert load_settings(config, env={}).knowrithm.is_local
    # Credentials without a base_url would otherwise silently go to the local fake agent.
    config.write_text("knowrithm: {api_key: k, api_secret: s, agent_id: a}\n", "utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, env={})
    assert refused.value.key_path == "knowrithm.base_url"
    assert "knowrithm-bots demo" in str(refused.value)


def test_the_runner_does_not_load_the_local_knowrithm_server() -> None:
    probe = (
        "import sys\n"
        "import knowrithm_bots.bots.cli, knowrithm_bots.bots.runner\n"
        "print(sorted(m for m in sys.modules if m.startswith('knowrithm_bots.bots.local')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


CONFIGURED_ADAPTER = """
import warnings
from typing import ClassVar
from knowrithm_bots.adapter import Adapter, AdapterConfig, Limits, Posted

class AcmeConfig(AdapterConfig):
    renamed: ClassVar[dict[str, str]] = {{"room": "channel"}}
    channel: str
    token: str

class AcmeAdapter(Adapter):
    name: ClassVar[str] = "acme"
    limits: ClassVar[Limits] = Limits(max_message_length=100)
    config_model: ClassVar[type[AdapterConfig] | None] = {model}

    def __init__(self, **kwargs):
        raise RuntimeError("check-config built the adapter")

    @classmethod
    def from_config(cls, *, config):
        {from_config}

    async def start(self, *, sink): ...
    async def stop(self): ...
    async def post(self, *, thread, text, reply_to=None): return Posted(id="1")
    async def edit(self, *, thread, message_id, text): ...
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A folder on sys.path where a test installs throwaway adapter distributions."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    installed = Site(path)
    yield installed
    for module in installed.modules:
        sys.modules.pop(module, None)


def _check(site: Site, tmp_path: Path, *, section: str, model: str, from_config: str) -> int:
    site.install(
        dist="acme-bots",
        entries={"acme": "AcmeAdapter"},
        source=CONFIGURED_ADAPTER.format(model=model, from_config=from_config),
    )
    config = tmp_path / "bot.yaml"
    config.write_text(f"{LOCAL}adapters:\n  acme: {section}\n", encoding="utf-8")
    return main(["check-config", "--config", str(config)])


def test_check_config_validates_with_the_config_model_and_shows_renamed_keys(
    site: Site,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _check(
        site,
        tmp_path,
        section="{room: general, token: t0k3n}",
        model="AcmeConfig",
        from_config="return cls()",
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "is valid" in out and "adapters: acme" in out
    assert err.splitlines() == [
        "warning: config key adapters.acme.room is now called adapters.acme.channel; "
        "the old name still works but will be removed"
    ]


def test_check_config_names_the_key_the_config_model_refuses(
    site: Site,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _check(
        site, tmp_path, section="{channel: general}", model="AcmeConfig", from_config="1/0"
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "knowrithm-bots: config key adapters.acme.token is required"
    )


def test_check_config_builds_an_adapter_without_a_config_model(
    site: Site,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _check(
        site,
        tmp_path,
        section="{}",
        model="None",
        from_config=(
            "from knowrithm_bots.core.errors import ConfigError; "
            "raise ConfigError('config key adapters.acme.url is required')"
        ),
    )
    assert code == 2
    assert "adapters.acme.url is required" in capsys.readouterr().err
