"""``knowrithm-bots doctor``: the real command against the platform emulators and the local
Knowrithm, one finding per platform, the clean case, and no secret in any line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.adapters.test_console import BIN
from tests.emulators.discord_api import DiscordEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.support import env_without_proxies

# Every scope docs/adapters/slack.md lists ("Scopes and events").
ALL_SLACK_SCOPES = (
    "app_mentions:read,chat:write,channels:history,groups:history,im:history,mpim:history,"
    "channels:read,groups:read,mpim:read,reactions:read,users:read,users:read.email,"
    "assistant:write,commands"
)


def scopes_without(*scopes: str) -> str:
    return ",".join(s for s in ALL_SLACK_SCOPES.split(",") if s not in scopes)


@dataclass
class Platforms:
    telegram: TelegramEmulator
    slack: SlackEmulator
    discord: DiscordEmulator
    knowrithm: LocalKnowrithm

    def config(self, **sections: dict[str, object]) -> dict[str, Any]:
        """A config every check passes against; ``sections`` overrides keys per adapter."""
        adapters: dict[str, dict[str, object]] = {
            "telegram": {"token": self.telegram.token, "api_base_url": self.telegram.base_url},
            "slack": {
                "bot_token": self.slack.identity.bot_token,
                "app_token": self.slack.identity.app_token,
                "api_base_url": self.slack.api_url,
            },
            "discord": {
                "token": self.discord.token,
                "api_base_url": self.discord.api_base,
                "message_content_intent": True,
            },
        }
        for name, extra in sections.items():
            adapters[name] = {**adapters[name], **extra}
        server = self.knowrithm
        return {
            "knowrithm": {
                "base_url": server.base_url,
                "api_key": server.api_key,
                "api_secret": server.api_secret,
                "agent_id": server.agent_id,
            },
            "store": {"backend": "memory"},
            "adapters": adapters,
        }


@pytest.fixture
async def platforms() -> AsyncIterator[Platforms]:
    async with (
        TelegramEmulator() as telegram,
        SlackEmulator() as slack,
        DiscordEmulator() as discord,
        LocalKnowrithm() as knowrithm,
    ):
        slack.granted_scopes = ALL_SLACK_SCOPES
        yield Platforms(telegram=telegram, slack=slack, discord=discord, knowrithm=knowrithm)


async def doctor(config: dict[str, Any], tmp_path: Path) -> tuple[int, list[str], str]:
    """Run ``knowrithm-bots doctor`` on ``config``: exit status, stdout lines, stderr."""
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        str(BIN / "knowrithm-bots"),
        "doctor",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_without_proxies(),
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), err.decode()


def severities(lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"ok": [], "warning": [], "error": []}
    for line in lines[:-1]:
        severity, _, rest = line.partition(": ")
        found[severity].append(rest)
    return found


async def test_a_bot_set_up_right_passes_every_check(platforms: Platforms, tmp_path: Path) -> None:
    status, lines, err = await doctor(platforms.config(), tmp_path)
    assert status == 0, [*lines, err]
    found = severities(lines)
    assert found["error"] == [] and found["warning"] == [], lines
    assert lines[-1] == "doctor: nothing blocks the bot"
    assert sorted({line.split(": ")[0] for line in found["ok"]}) == [
        "discord",
        "knowrithm",
        "slack",
        "telegram",
    ]
    assert "slack: the app-level token opens Socket Mode connections" in found["ok"]
    assert "slack: the bot token has every scope the configured features need" in found["ok"]
    assert err == ""


async def test_a_webhook_left_set_while_polling_blocks_the_bot(
    platforms: Platforms, tmp_path: Path
) -> None:
    telegram = platforms.telegram
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{telegram.base_url}{telegram.token}/setWebhook",
            json={"url": "https://old-deployment.example/telegram"},
        )
    assert answer.json()["ok"] is True
    status, lines, _ = await doctor(platforms.config(telegram={"group_mode": "all"}), tmp_path)
    assert status == 1
    found = severities(lines)
    assert found["error"] == [
        "telegram: a webhook is set (https://old-deployment.example/telegram) while "
        "adapters.telegram.mode is 'polling': Telegram answers getUpdates with 409 Conflict "
        "while it stays, and starting the bot deletes it, taking the updates away from "
        "whatever serves that URL; if nothing else uses it, delete it (deleteWebhook), "
        "otherwise set mode: webhook"
    ]
    # The emulated bot has privacy mode on, as BotFather sets it by default.
    assert [w for w in found["warning"] if "privacy mode is on" in w] == [
        "telegram: adapters.telegram.group_mode is 'all' but the bot's privacy mode is on: in "
        "groups where it is not an administrator it sees only messages that mention it or "
        "reply to it; turn privacy off in BotFather (/setprivacy → Disable, then remove and "
        "re-add the bot to each group) or set group_mode: mentions"
    ]
    assert lines[-1] == "doctor: 1 problem blocks the bot; 1 warning"


async def test_a_missing_slack_scope_is_named_with_what_it_breaks(
    platforms: Platforms, tmp_path: Path
) -> None:
    platforms.slack.granted_scopes = scopes_without("im:history", "reactions:read")
    status, lines, _ = await doctor(platforms.config(), tmp_path)
    assert status == 1
    found = severities(lines)
    fix = "add it under OAuth & Permissions → Bot Token Scopes and reinstall the app"
    assert found["error"] == [
        f"slack: the bot token lacks the im:history scope, so the bot does not see direct "
        f"messages: {fix}"
    ]
    assert found["warning"] == [
        f"slack: the bot token lacks the reactions:read scope, so reactions do not reach the "
        f"agent as ratings: {fix}"
    ]


async def test_a_slash_command_needs_the_commands_scope_unless_turned_off(
    platforms: Platforms, tmp_path: Path
) -> None:
    platforms.slack.granted_scopes = scopes_without("commands")
    status, lines, _ = await doctor(platforms.config(), tmp_path)
    assert status == 0, lines
    assert severities(lines)["warning"] == [
        "slack: the bot token lacks the commands scope, so the /knowrithm slash command does "
        "not reach the bot (or set slash_command: null): add it under OAuth & Permissions → "
        "Bot Token Scopes and reinstall the app"
    ]
    _, lines, _ = await doctor(platforms.config(slack={"slash_command": None}), tmp_path)
    assert severities(lines)["warning"] == []


async def test_direct_messages_off_do_not_need_their_scope(
    platforms: Platforms, tmp_path: Path
) -> None:
    platforms.slack.granted_scopes = scopes_without("im:history")
    config = platforms.config(slack={"direct_messages": "off"})
    status, lines, _ = await doctor(config, tmp_path)
    assert status == 0, lines


async def test_a_message_content_intent_the_application_lacks_blocks_the_bot(
    tmp_path: Path,
) -> None:
    async with (
        TelegramEmulator() as telegram,
        SlackEmulator() as slack,
        DiscordEmulator(application_flags=0) as discord,
        LocalKnowrithm() as knowrithm,
    ):
        config = Platforms(telegram, slack, discord, knowrithm).config()
        del config["adapters"]["telegram"], config["adapters"]["slack"]
        status, lines, _ = await doctor(config, tmp_path)
    assert status == 1
    assert severities(lines)["error"] == [
        "discord: adapters.discord.message_content_intent is true but the application may not "
        "use the message content intent, so the gateway refuses the bot (close code 4014): "
        "turn on Message Content Intent under Bot → Privileged Gateway Intents in the "
        "Developer Portal, or set message_content_intent: false"
    ]


async def test_refused_tokens_and_agent_are_one_sentence_each_and_never_shown(
    platforms: Platforms, tmp_path: Path
) -> None:
    secrets = {
        "telegram": "123456:WrongTelegramTokenXyz",
        "slack": "xoxb-wrong-slack-token-4242",
        "slack_app": "xapp-wrong-app-token-4242",
        "discord": "wrong-discord-token-4242",
    }
    config = platforms.config(
        telegram={"token": secrets["telegram"]},
        slack={"bot_token": secrets["slack"], "app_token": secrets["slack_app"]},
        discord={"token": secrets["discord"]},
    )
    config["knowrithm"]["agent_id"] = "someone-else"
    status, lines, err = await doctor(config, tmp_path)
    assert status == 1
    errors = severities(lines)["error"]
    assert sorted(e.split(":")[0] for e in errors) == ["discord", "knowrithm", "slack", "telegram"]
    assert (
        "slack: Slack refused adapters.slack.bot_token (invalid_auth): copy the Bot User OAuth "
        "Token (xoxb-) from OAuth & Permissions again, and reinstall the app if it was revoked"
    ) in errors
    assert (
        f"knowrithm: Knowrithm at {platforms.knowrithm.base_url} has no agent with the id "
        "'someone-else': check knowrithm.agent_id"
    ) in errors
    assert lines[-1] == "doctor: 4 problems block the bot"
    output = "\n".join(lines) + err
    for secret in secrets.values():
        assert secret not in output


async def test_an_unreachable_platform_is_named_by_its_key(tmp_path: Path) -> None:
    async with TelegramEmulator() as telegram:
        gone = telegram.base_url
        token = telegram.token
    config = {
        "knowrithm": {"base_url": "local"},
        "store": {"backend": "memory"},
        "adapters": {"telegram": {"token": token, "api_base_url": gone}},
    }
    status, lines, err = await doctor(config, tmp_path)
    assert status == 1, lines
    assert severities(lines)["error"] == [
        f"telegram: the Bot API at {gone} cannot be reached: check "
        "adapters.telegram.api_base_url and the network"
    ]
    assert token not in "\n".join(lines) + err


async def test_a_bad_config_is_exit_status_2_naming_the_key(tmp_path: Path) -> None:
    config = {
        "knowrithm": {"base_url": "local"},
        "adapters": {"slack": {"bot_token": "xoxp-user-token"}},
    }
    status, lines, err = await doctor(config, tmp_path)
    assert status == 2
    assert lines == []
    assert "adapters.slack.bot_token" in err and "xoxp-user-token" not in err
