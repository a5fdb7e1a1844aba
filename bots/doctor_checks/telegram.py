"""The doctor's Telegram check: the token (getMe), webhook against polling (getWebhookInfo),
and privacy mode against ``group_mode``."""

from __future__ import annotations

from telegram import Bot, User, WebhookInfo
from telegram.error import InvalidToken, NetworkError, TelegramError

from knowrithm_bots.adapters.telegram.config import TelegramConfig
from knowrithm_bots.bots.doctor_checks.findings import Findings

KEY = "adapters.telegram"


async def check_telegram(findings: Findings, *, config: TelegramConfig) -> None:
    """Ask the Bot API at ``api_base_url`` what the bot would meet at start-up."""
    bot = Bot(
        token=config.token.get_secret_value(),
        base_url=config.bot_api_url,
        base_file_url=config.bot_file_url,
    )
    try:
        # initialize() is getMe: it proves the token and gives the bot's privacy setting.
        await bot.initialize()
        me = bot.bot
        findings.ok(f"the token works (bot @{me.username})")
        _privacy(findings, me=me, config=config)
        _webhook(findings, info=await bot.get_webhook_info(), config=config)
    except InvalidToken:
        findings.error(
            f"Telegram refused {KEY}.token: copy the bot's token from BotFather (/mybots → "
            "API Token) again; a revoked token stops working at once"
        )
    except NetworkError:
        # The library's message can quote the request URL, which holds the token.
        findings.error(
            f"the Bot API at {config.bot_api_url} cannot be reached: check "
            f"{KEY}.api_base_url and the network"
        )
    except TelegramError as exc:
        findings.error(f"the Bot API refused the check ({type(exc).__name__}): try again later")
    finally:
        await bot.shutdown()


def _privacy(findings: Findings, *, me: User, config: TelegramConfig) -> None:
    if config.group_mode != "all":
        return
    if me.can_read_all_group_messages:
        findings.ok("privacy mode is off, so the bot sees every group message (group_mode: all)")
        return
    findings.warning(
        f"{KEY}.group_mode is 'all' but the bot's privacy mode is on: in groups where it is "
        "not an administrator it sees only messages that mention it or reply to it; turn "
        "privacy off in BotFather (/setprivacy → Disable, then remove and re-add the bot to "
        "each group) or set group_mode: mentions"
    )


def _webhook(findings: Findings, *, info: WebhookInfo, config: TelegramConfig) -> None:
    url = info.url
    if config.mode == "polling" and url:
        findings.error(
            f"a webhook is set ({url}) while {KEY}.mode is 'polling': Telegram answers "
            "getUpdates with 409 Conflict while it stays, and starting the bot deletes it, "
            "taking the updates away from whatever serves that URL; if nothing else uses it, "
            "delete it (deleteWebhook), otherwise set mode: webhook"
        )
    elif config.mode == "webhook" and url and url != config.webhook_url:
        findings.warning(
            f"the webhook points at {url}, not at {KEY}.webhook_url ({config.webhook_url}): "
            "starting the bot moves it, so another deployment serving the old URL would stop "
            "receiving updates; stop that one first or correct webhook_url"
        )
    elif config.mode == "webhook" and not url:
        findings.ok("no webhook is set yet; the bot sets it to webhook_url when it starts")
    else:
        findings.ok(f"the webhook matches mode: {config.mode}")
    if info.last_error_message:
        when = info.last_error_date.isoformat() if info.last_error_date else "recently"
        findings.warning(
            f"Telegram's last delivery to the webhook failed ({when}): "
            f"{info.last_error_message}; check that {KEY}.webhook_url reaches the bot from the "
            "internet with a valid certificate"
        )
    if info.pending_update_count and url:
        findings.warning(
            f"{info.pending_update_count} updates wait for delivery to the webhook: the bot is "
            "not receiving them; check that it runs and that webhook_url reaches it"
        )
    elif info.pending_update_count:
        findings.ok(
            f"{info.pending_update_count} updates wait; the bot fetches them when it starts"
        )
