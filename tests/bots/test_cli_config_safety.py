"""The command line never prints a secret from the config and turns hostile YAML into one line."""

from __future__ import annotations

from pathlib import Path

from knowrithm_bots.bots.runner import remote_endpoint
from knowrithm_bots.core.config import parse_settings
from tests.adapters.test_console import run_cli


def test_check_config_refuses_a_password_in_the_base_url_without_printing_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "knowrithm:\n  base_url: https://user:PASSWORD-9@127.0.0.1:1/api\n  api_key: k1\n"
        "  api_secret: s1\n  agent_id: a\nstore: {backend: memory}\n",
        encoding="utf-8",
    )
    for args in (("check-config",), ("run", "console")):
        result = run_cli(*args, "--config", str(config), stdin="hi\n")
        assert result.returncode == 2
        assert "knowrithm.base_url" in result.stderr
        assert "PASSWORD-9" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_check_config_turns_a_recursive_alias_into_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("a: &a [*a]\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "knowrithm-bots: config key a.0 contains itself through a YAML alias (*name); "
        "write the value out instead"
    ]


def test_the_remote_endpoint_repr_hides_key_and_secret() -> None:
    settings = parse_settings(
        {
            "knowrithm": {
                "base_url": "https://kn.example/api",
                "api_key": "sk-KEY-77",
                "api_secret": "sk-SECRET-77",
                "agent_id": "agent-1",
            }
        },
        env={},
    )
    endpoint = remote_endpoint(settings)
    assert endpoint.api_key == "sk-KEY-77" and endpoint.api_secret == "sk-SECRET-77"
    for text in (repr(endpoint), str(endpoint), f"{endpoint}"):
        assert "sk-KEY-77" not in text and "sk-SECRET-77" not in text
        assert "agent-1" in text
