"""The command line: clear one-sentence errors and the adapters listing."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.adapters.test_console import BIN, run_cli
from tests.bots.local_process import local_knowrithm_process
from tests.support import env_without_proxies


def test_adapters_lists_the_console_adapter() -> None:
    result = run_cli("adapters")
    assert result.returncode == 0, result.stderr
    assert any(
        line.split()[:3] == ["console", "knowrithm-bots", "0.1.0"]
        for line in result.stdout.splitlines()
    )


def test_check_config_names_the_failing_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("conversations:\n  idle_minutes: -5\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "conversations.idle_minutes" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_requires_credentials_for_a_remote_agent(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "knowrithm:\n  base_url: https://kn.invalid/api\n  api_key: sk-secret-1\n", encoding="utf-8"
    )
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "knowrithm.api_secret" in result.stderr
    assert "sk-secret-1" not in result.stderr


def test_check_config_accepts_a_valid_file(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "knowrithm: {base_url: local}\nadapters:\n  console:\n    prompt: '> '\n", encoding="utf-8"
    )
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def test_check_config_validates_adapter_sections(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "knowrithm: {base_url: local}\nadapters:\n  console:\n    colour: red\n", encoding="utf-8"
    )
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "adapters.console.colour" in result.stderr


def test_run_unknown_adapter_lists_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("knowrithm: {base_url: local}\n", encoding="utf-8")
    result = run_cli("run", "matrix", "--config", str(config))
    assert result.returncode == 2
    assert "no adapter named 'matrix'" in result.stderr and "console" in result.stderr


def test_run_with_unreachable_knowrithm_is_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "knowrithm:\n  base_url: http://127.0.0.1:9/api\n  api_key: k\n  api_secret: s\n"
        "  agent_id: a\n  timeout: 2\nstore:\n  backend: memory\n",
        encoding="utf-8",
    )
    result = run_cli("run", "console", "--config", str(config), stdin="hi\n")
    assert result.returncode == 2
    assert "cannot be reached" in result.stderr and "knowrithm.base_url" in result.stderr
    assert "Traceback" not in result.stderr


async def test_run_with_refused_credentials_is_one_sentence(tmp_path: Path) -> None:
    from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm

    async with LocalKnowrithm() as server:
        config = tmp_path / "c.yaml"
        config.write_text(
            f"knowrithm:\n  base_url: {server.base_url}\n  api_key: wrong-key\n"
            "  api_secret: wrong-secret\n  agent_id: a\nstore:\n  backend: memory\n",
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            str(BIN / "knowrithm-bots"),
            "run",
            "console",
            "--config",
            str(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(b"hi\n"), 60)
    stderr = err.decode()
    assert process.returncode == 2
    assert "refused the credentials" in stderr
    assert "wrong-secret" not in stderr
    assert "wrong-key" not in stderr


def test_example_config_passes_check_config_with_every_adapter() -> None:
    import subprocess

    root = Path(__file__).parents[2]
    env = env_without_proxies()
    env |= {
        "TELEGRAM_BOT_TOKEN": "123456:ABCdef",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_SIGNING_SECRET": "signing",
        "DISCORD_BOT_TOKEN": "discord-token",
        # Its LEAD rule may apply to Discord, which gives no e-mail addresses.
        "LEAD_EMAIL_DOMAIN": "leads.example-company.com",
    }
    result = subprocess.run(
        [
            str(BIN / "knowrithm-bots"),
            "check-config",
            "--config",
            str(root / "config.example.yaml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "adapters: console, telegram, slack, discord" in result.stdout


async def test_local_knowrithm_command_serves_the_api() -> None:
    import httpx

    async with local_knowrithm_process() as (process, base_url):
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0/api")
        async with httpx.AsyncClient(base_url=f"{base_url}/v1") as http:
            health = await http.get("/health")
            assert health.json() == {"status": "ok"}
            refused = await http.get("/conversation")
            assert refused.status_code == 401
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 20)
    assert "local-secret" not in err.decode()
    assert process.returncode == 0  # SIGTERM asks for a stop: a clean one is success


async def test_ctrl_c_stops_the_local_knowrithm_command_with_status_130() -> None:
    async with local_knowrithm_process() as (process, _):
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 130
    assert err.decode() == ""
